/**
 * audit.db of schema 2 (session 29's layout: a unique index on leaves' position, a node row for
 * every completed subtree of level >= 1) opened by this build: rewritten once to schema 3
 * (no position index, no node below STORED_LEVEL), with the same tree, proofs and heads, and
 * the follower goes on from it. Also: what a lookup by position and a folded node give on
 * both layouts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { eventLeafHash } from '../src/audit/leaf.js';
import { CompactTree, fromHex, rootAt, toHex, verifyConsistency, verifyInclusion } from '../src/audit/merkle.js';
import { AuditStorage, STORED_LEVEL } from '../src/audit/storage.js';
import { openAuditLog } from '../src/audit/tree-head.js';
import { loadKeys, keyPaths } from '../src/audit/keys.js';
import { HEAD_FORMAT } from '../src/audit/signing.js';
import { LEAF_FORMAT } from '../src/audit/leaf.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { EventStore } from '../src/store/port.js';

const root = mkdtempSync(join(tmpdir(), 'annals-audit-v3-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const log = pino({ level: 'silent' });

async function record(store: EventStore, n: number, from = 0): Promise<string> {
  let last = '';
  for (let i = from; i < from + n; i++) {
    const r = await store.append(`thing-${i % 5}`, [{ id: randomUUID(), type: 'ThingHappened', data: { name: `thing ${i}`, i }, metadata: { factId: `f${i}` } }], 'any');
    last = r.events[0]!.position;
  }
  return last;
}

/** Schema 2 exactly as session 29's storage.ts created it. */
const DDL_V2 = `
CREATE TABLE leaves (idx INTEGER PRIMARY KEY, position TEXT NOT NULL UNIQUE, hash BLOB NOT NULL);
CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE heads (seq INTEGER PRIMARY KEY AUTOINCREMENT, tree_size INTEGER NOT NULL, root_hash TEXT NOT NULL, last_position TEXT, timestamp TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX heads_by_size ON heads (tree_size, seq);
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE parked (position TEXT PRIMARY KEY, event_id TEXT, type TEXT, reason TEXT NOT NULL, detail TEXT NOT NULL, seen_at TEXT NOT NULL);
PRAGMA user_version = 2;
`;

/** A schema-2 audit.db over the whole log, as the old follower wrote it (every level stored), with a head at the end signed by the data dir's key. */
async function oldAuditDb(dataDir: string, store: EventStore): Promise<{ root: string; size: number }> {
  const keys = loadKeys(keyPaths(dataDir, undefined), log, { create: true });
  const db = new Database(join(dataDir, 'audit.db'));
  db.pragma('journal_mode = WAL');
  db.exec(DDL_V2);
  const tree = new CompactTree();
  const leaf = db.prepare('INSERT INTO leaves (idx, position, hash) VALUES (?, ?, ?)');
  const node = db.prepare('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)');
  const events = await store.readAll();
  let lastPosition: string | null = null;
  for (const e of events) {
    for (const n of tree.append(eventLeafHash(e))) {
      if (n.level === 0) leaf.run(n.index, e.position, n.hash);
      else node.run(n.level, n.index, n.hash);
    }
    lastPosition = e.position;
  }
  const head = keys.signing.signHead({ format: HEAD_FORMAT, leafFormat: LEAF_FORMAT, treeSize: tree.size, rootHash: toHex(tree.root()), lastPosition, timestamp: '2026-12-01T00:00:00.000Z', keyId: keys.signing.keyId });
  db.prepare('INSERT INTO heads (tree_size, root_hash, last_position, timestamp, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)').run(head.treeSize, head.rootHash, head.lastPosition, head.timestamp, head.keyId, head.signature);
  db.close();
  return { root: head.rootHash, size: tree.size };
}

t.test('a schema-2 audit.db is rewritten to schema 3 and the tree goes on from it', async (t) => {
  const dataDir = mkdtempSync(join(root, 'data-'));
  const store = openSqliteStore(join(dataDir, 'events.db'));
  t.teardown(() => store.close());
  await record(store, 45);
  const old = await oldAuditDb(dataDir, store);
  t.equal(old.size, 45);

  const audit = await openAuditLog({ store, dataDir, log, checkpointEvents: 1000, checkpointIntervalMs: 0 });
  let closed = false;
  t.teardown(async () => {
    if (!closed) await audit.close();
  });
  const db = new Database(join(dataDir, 'audit.db'), { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('user_version', { simple: true }), 3, 'schema 3');
  t.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leaves'").pluck().get(), 0, 'no index on leaves');
  t.equal(db.prepare('SELECT count(*) FROM leaves').pluck().get(), 45, 'every leaf kept');
  t.equal(db.prepare(`SELECT count(*) FROM nodes WHERE level < ${STORED_LEVEL}`).pluck().get(), 0, 'the nodes below the stored level dropped');
  t.same(
    db.prepare('SELECT level, idx FROM nodes ORDER BY level, idx').raw().all(),
    [
      [4, 0],
      [4, 1],
      [5, 0],
    ],
    'the nodes from level 4 kept',
  );

  // The old head, its proofs, and the tree going on.
  const head = await audit.head();
  t.equal(head?.rootHash, old.root, 'the head signed on the old layout is the latest');
  const events = await store.readAll();
  for (const i of [0, 1, 7, 16, 31, 44]) {
    const e = events[i]!;
    const p = await audit.inclusionProof(e.position, 45);
    t.equal(p.leafIndex, i, `leaf ${i} found by its position`);
    t.ok(verifyInclusion(i, 45, eventLeafHash(e), p.auditPath.map(fromHex), fromHex(old.root)), `leaf ${i}'s proof holds against the old head`);
  }
  await t.rejects(audit.inclusionProof('00000000000000000999', 45), { name: 'AuditError', kind: 'not_found' });
  const last = await record(store, 30, 45);
  t.ok(await audit.waitFor(last, 5000), 'the follower takes in what came after');
  const next = await audit.signHead();
  t.equal(next.treeSize, 75);
  const c = await audit.consistencyProof(45, 75);
  t.ok(verifyConsistency(45, 75, c.proof.map(fromHex), fromHex(old.root), fromHex(next.rootHash)), 'the new head extends the old one');
  const r = await audit.verify();
  t.equal(r.ok, true, 'verify holds over the migrated file');
  t.equal(r.headsChecked, 2);
  await audit.close();
  closed = true;
});

t.test('lookups by position and folded nodes on the new layout', async (t) => {
  const dir = mkdtempSync(join(root, 'storage-'));
  const storage = AuditStorage.open(join(dir, 'audit.db'));
  t.teardown(() => storage.close());
  const tree = storage.loadTree();
  const full = new Map<string, Buffer>();
  const positions: string[] = [];
  for (let batch = 0; batch < 7; batch++) {
    const before = tree.size;
    const leaves = [];
    for (let k = 0; k < 13; k++) {
      // Positions with gaps, as an EventStoreDB log's are.
      const position = String(3 * tree.size + 5).padStart(20, '0');
      const nodes = tree.append(Buffer.alloc(32, tree.size + 1));
      for (const n of nodes) full.set(`${n.level}/${n.index}`, n.hash);
      positions.push(position);
      leaves.push({ position, nodes });
    }
    storage.appendBatch(before, leaves);
  }
  t.equal(storage.size().treeSize, 91);
  for (const [i, p] of positions.entries()) if (storage.indexOf(p) !== i) t.fail(`${p} is leaf ${i}`);
  t.equal(storage.indexOf(String(3 * 10 + 6).padStart(20, '0')), null, 'between two positions');
  t.equal(storage.indexOf('00000000000000000001'), null, 'before the first');
  t.equal(storage.indexOf('99999999999999999999'), null, 'after the last');
  let differ = 0;
  for (const [k, h] of full) {
    const [level, index] = k.split('/').map(Number) as [number, number];
    if (!storage.node(level, index).equals(h)) differ++;
  }
  t.equal(differ, 0, `every completed node (${full.size}) read back, stored or folded`);
  t.equal(toHex(rootAt(storage, 91)), toHex(tree.root()), 'the root');
  t.throws(() => storage.node(2, 23), /missing/, 'a node past the tree');
});
