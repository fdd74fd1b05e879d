/**
 * The audit log over real stores: it follows every event, signs heads, serves proofs that
 * verify against those heads, survives a restart, and verify finds tampering done straight
 * in the SQLite files (altered, deleted, reordered events; forged heads; altered nodes).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { eventLeafHash } from '../src/audit/leaf.js';
import { fromHex, verifyConsistency, verifyInclusion } from '../src/audit/merkle.js';
import { verifyHeadWith } from '../src/audit/signing.js';
import { openAuditLog, type AuditLog } from '../src/audit/tree-head.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { EventStore } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { when } from './fixtures/when.js';

/** One temporary directory for every data dir of this file, removed when the file ends. */
const root = mkdtempSync(join(tmpdir(), 'annals-audit-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const log = pino({ level: 'silent' });

async function record(store: EventStore, n: number, from = 0): Promise<string> {
  let last = '';
  for (let i = from; i < from + n; i++) {
    const r = await store.append(
      `thing-${i % 3}`,
      [{ id: randomUUID(), type: i % 4 === 0 ? 'KeyReserved' : 'ThingHappened', data: { i, name: `thing ${i}`, nested: { z: 1, a: [i] } }, metadata: { factId: `f${i}` } }],
      'any',
    );
    last = r.events[0]!.position;
  }
  return last;
}

async function open(store: EventStore, dataDir: string, extra: { follow?: boolean } = {}): Promise<AuditLog> {
  return openAuditLog({ store, dataDir, log, checkpointEvents: 4, checkpointIntervalMs: 0, ...extra });
}

t.test('follows the store, signs heads, proofs verify against them', async (t) => {
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const store = createMemoryStore();
  t.teardown(() => store.close());
  await record(store, 3);
  const audit = await open(store, dataDir);
  t.teardown(() => audit.close());
  const last = await record(store, 7, 3);
  t.ok(await audit.waitFor(last, 2000), 'caught up with the store');
  t.equal((await audit.state()).treeSize, 10);
  t.equal((await audit.head())?.treeSize, 8, 'a head every 4 leaves');
  const head = await audit.signHead();
  t.equal(head.treeSize, 10);
  t.equal(head.lastPosition, last);
  t.ok(verifyHeadWith(audit.publicKeyPem, head), 'signature checks with the published key');
  t.notOk(verifyHeadWith(audit.publicKeyPem, { ...head, treeSize: 9 }), 'a changed head does not');
  t.equal(((await stat(join(dataDir, 'audit-key.pem'))).mode & 0o777).toString(8), '600');

  const events = await store.readAll();
  for (const [i, e] of events.entries()) {
    const p = await audit.inclusionProof(e.position);
    t.equal(p.leafIndex, i);
    t.equal(p.leafHash, eventLeafHash(e).toString('hex'), 'leaf hash recomputable from the event');
    t.ok(verifyInclusion(i, head.treeSize, eventLeafHash(e), p.auditPath.map(fromHex), fromHex(head.rootHash)), `inclusion of ${e.position}`);
    t.same(p.head, head);
  }
  const heads = await audit.heads();
  t.same(heads.map((h) => h.treeSize), [4, 8, 10]);
  for (const a of heads) {
    for (const b of heads) {
      if (a.treeSize > b.treeSize) continue;
      const c = await audit.consistencyProof(a.treeSize, b.treeSize);
      t.ok(verifyConsistency(a.treeSize, b.treeSize, c.proof.map(fromHex), fromHex(a.rootHash), fromHex(b.rootHash)), `consistency ${a.treeSize} -> ${b.treeSize}`);
    }
  }
  await t.rejects(audit.inclusionProof('99999999999999999999'), { name: 'AuditError', kind: 'not_found' });
  await t.rejects(audit.inclusionProof(events[9]!.position, 8), { name: 'AuditError', kind: 'invalid' });
  await t.rejects(audit.consistencyProof(2, 11), { name: 'AuditError', kind: 'invalid' });
  t.equal(await audit.waitFor('99999999999999999999', 20), false, 'times out on a position not yet recorded');
  const progress: number[] = [];
  const report = await audit.verify((p) => progress.push(p.eventsRead));
  t.equal(report.ok, true);
  t.equal(report.eventsRead, 10);
  t.equal(report.rootHash, head.rootHash);
  t.equal(report.headsChecked, 3);
  t.same(progress, [10]);
  const [r1, r2] = await Promise.all([audit.verify(), audit.verify()]);
  t.equal(r1, r2, 'a verify while one runs shares it');
  const fresh = await record(store, 1, 10);
  t.equal((await audit.inclusionProof(fresh, 11)).leafIndex, 10, 'a position just recorded is waited for');
});

t.test('restart: the tree is restored from audit.db and goes on', async (t) => {
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const store = openSqliteStore(join(dataDir, 'events.db'));
  t.teardown(() => store.close());
  let last = await record(store, 5);
  let audit = await open(store, dataDir);
  t.ok(await audit.waitFor(last, 2000));
  await audit.close();
  t.equal((await (await open(store, dataDir, { follow: false })).head())?.treeSize, 5, 'close signs the last state');
  last = await record(store, 6, 5);
  audit = await open(store, dataDir);
  t.teardown(() => audit.close());
  t.ok(await audit.waitFor(last, 2000));
  const head = await audit.signHead();
  t.equal(head.treeSize, 11);
  const report = await audit.verify();
  t.equal(report.ok, true, 'the restored tree is the tree of the whole log');
  t.equal(report.headsChecked, 4);
});

/** A data dir with 20 audited events in the embedded store, closed, for tampering. */
/** 20 events (or `events`), a head every 4 (or `every`) and one at close. */
async function audited(t: Test, o: { events?: number; every?: number } = {}): Promise<{ dataDir: string; positions: string[] }> {
  const events = o.events ?? 20;
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const store = openSqliteStore(join(dataDir, 'events.db'));
  const last = await record(store, events);
  const audit = await openAuditLog({ store, dataDir, log, checkpointEvents: o.every ?? 4, checkpointIntervalMs: 0 });
  await audit.waitFor(last, 2000);
  await audit.close();
  const positions = (await store.readAll()).map((e) => e.position);
  await store.close();
  t.equal(positions.length, events);
  return { dataDir, positions };
}

async function verifyAfter(t: Test, dataDir: string, tamper: (db: Database.Database) => void) {
  const db = new Database(join(dataDir, 'events.db'));
  tamper(db);
  db.close();
  const store = openSqliteStore(join(dataDir, 'events.db'));
  t.teardown(() => store.close());
  const log = await open(store, dataDir, { follow: false });
  t.teardown(() => log.close());
  return log.verify();
}

async function verifyAuditDbAfter(t: Test, dataDir: string, tamper: (db: Database.Database) => void) {
  const audit = new Database(join(dataDir, 'audit.db'));
  tamper(audit);
  audit.close();
  const store = openSqliteStore(join(dataDir, 'events.db'));
  t.teardown(() => store.close());
  const log = await open(store, dataDir, { follow: false });
  t.teardown(() => log.close());
  return log.verify();
}

t.test('tampering with events.db', async (t) => {
  t.test('untouched: verify holds', async (t) => {
    const { dataDir } = await audited(t);
    const r = await verifyAfter(t, dataDir, () => undefined);
    t.equal(r.ok, true);
    t.equal(r.headsChecked, 5);
    t.equal(r.firstDivergence, null);
  });

  t.test('one event altered: exactly that position', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      const changed = db.prepare(`UPDATE events SET data = json_set(data, '$.name', 'forged') WHERE position = 7`).run().changes;
      t.equal(changed, 1);
    });
    t.equal(r.ok, false);
    t.equal(r.firstDivergence?.reason, 'leaf-hash-mismatch');
    t.equal(r.firstDivergence?.position, positions[6]);
    t.equal(r.firstDivergence?.leafIndex, 6);
    t.equal(r.leavesFailed, 1, 'only that one');
    t.equal(r.firstBadHead?.reason, 'root-mismatch');
    t.equal(r.firstBadHead?.head.treeSize, 8, 'the first head covering it');
    t.equal(r.headsFailed, 4, 'heads at 8, 12, 16, 20 no longer hold; the head at 4 does');
  });

  t.test('metadata or recordedAt altered: caught too', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      db.prepare(`UPDATE events SET recorded_at = '2020-01-01T00:00:00.000Z' WHERE position = 15`).run();
    });
    t.equal(r.firstDivergence?.position, positions[14]);
    t.equal(r.leavesFailed, 1);
  });

  t.test('one event deleted: that position is missing', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      db.prepare('DELETE FROM events WHERE position = 11').run();
    });
    t.equal(r.ok, false);
    t.equal(r.firstDivergence?.reason, 'missing-event');
    t.equal(r.firstDivergence?.position, positions[10]);
    t.equal(r.leavesFailed, 1);
    t.equal(r.eventsRead, 19);
    t.equal(r.firstBadHead?.head.treeSize, 12);
  });

  t.test('last event deleted', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      db.prepare('DELETE FROM events WHERE position = 20').run();
    });
    t.equal(r.firstDivergence?.reason, 'missing-event');
    t.equal(r.firstDivergence?.position, positions[19]);
    t.equal(r.firstBadHead?.reason, 'beyond-log');
  });

  t.test('two events reordered', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      // Swap the contents of positions 3 and 9 (ids are unique, hence the detour).
      db.transaction(() => {
        db.prepare('UPDATE events SET position = -3 WHERE position = 3').run();
        db.prepare('UPDATE events SET position = 3 WHERE position = 9').run();
        db.prepare('UPDATE events SET position = 9 WHERE position = -3').run();
      })();
    });
    t.equal(r.ok, false);
    t.equal(r.firstDivergence?.reason, 'leaf-hash-mismatch');
    t.equal(r.firstDivergence?.position, positions[2]);
    t.equal(r.leavesFailed, 2);
    t.equal(r.firstBadHead?.head.treeSize, 4);
  });

  t.test('an event inserted amid audited ones', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAfter(t, dataDir, (db) => {
      db.prepare('UPDATE events SET position = position + 100 WHERE position > 10').run();
      db.prepare('UPDATE events SET position = position - 99 WHERE position > 100').run();
      db.prepare(`INSERT INTO events (position, id, stream, revision, type, data, metadata, recorded_at) VALUES (11, 'x', 'intruder', 0, 'T', '{}', '{}', '2025-01-01T00:00:00.000Z')`).run();
    });
    t.equal(r.ok, false);
    t.equal(r.firstDivergence?.position, positions[10], 'the intruder took the place of event 11');
    t.equal(r.eventsRead, 21);
  });
});

t.test('tampering with audit.db', async (t) => {
  t.test('a node on a head root altered', async (t) => {
    const { dataDir } = await audited(t);
    const r = await verifyAuditDbAfter(t, dataDir, (db) => {
      // Nodes are stored from level 4 (storage.ts STORED_LEVEL): 4/0 is the root of the head at 16.
      t.equal(db.prepare('SELECT count(*) FROM nodes WHERE level < 4').pluck().get(), 0, 'no node stored below level 4');
      db.prepare(`UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 0`).run();
    });
    t.equal(r.firstBadHead?.reason, 'stored-tree-mismatch');
    t.equal(r.firstBadHead?.head.treeSize, 16);
  });

  t.test('a head re-signed with another root: bad signature', async (t) => {
    const { dataDir } = await audited(t);
    const r = await verifyAuditDbAfter(t, dataDir, (db) => {
      db.prepare(`UPDATE heads SET root_hash = '${'ab'.repeat(32)}' WHERE tree_size = 12`).run();
    });
    t.equal(r.firstBadHead?.reason, 'bad-signature');
    t.equal(r.firstBadHead?.head.treeSize, 12);
    t.equal(r.firstDivergence, null, 'the events themselves are intact');
  });

  t.test('a stored subtree node altered: proofs would lie, verify says so', async (t) => {
    // 40 events, one head at close: its root is 5/0 and 3/4, so 4/1 lies under no head's stored root.
    const { dataDir } = await audited(t, { events: 40, every: 1000 });
    const r = await verifyAuditDbAfter(t, dataDir, (db) => {
      db.prepare(`UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 1`).run();
    });
    t.equal(r.ok, false);
    t.equal(r.headsChecked, 1);
    t.equal(r.firstBadHead, null, 'the signed heads still hold');
    t.equal(r.firstDivergence, null, 'so do the events');
    t.match(r.firstBadNode, { level: 4, index: 1 });
  });

  t.test('a stored leaf hash altered', async (t) => {
    const { dataDir, positions } = await audited(t);
    const r = await verifyAuditDbAfter(t, dataDir, (db) => {
      db.prepare(`UPDATE leaves SET hash = zeroblob(32) WHERE idx = 0`).run();
    });
    t.equal(r.firstDivergence?.position, positions[0]);
    t.equal(r.firstDivergence?.reason, 'leaf-hash-mismatch');
  });
});

t.test('two followers on one data dir (two servers) resynchronise rather than corrupt', async (t) => {
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const store = openSqliteStore(join(dataDir, 'events.db'));
  t.teardown(() => store.close());
  const a = await open(store, dataDir);
  const b = await open(store, dataDir);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  let last = '';
  for (let round = 0; round < 5; round++) last = await record(store, 7, round * 7);
  t.ok(await a.waitFor(last, 3000), 'a caught up');
  t.ok(await b.waitFor(last, 3000), 'b caught up');
  t.equal((await a.state()).treeSize, 35);
  const report = await a.verify();
  t.equal(report.ok, true, 'one tree, heads from both processes all hold');
  t.ok(report.headsChecked >= 8);
});

t.test('a closed store does not make the follower spin', async (t) => {
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const memory = createMemoryStore();
  let subscriptions = 0;
  const store: EventStore = { ...memory, subscribe: (o) => (subscriptions++, memory.subscribe(o)) };
  const lines = new EventEmitter();
  const warned: string[] = [];
  const watched = pino({ level: 'warn' }, { write: (line: string) => (warned.push(JSON.parse(line).msg as string), lines.emit('line')) });
  const audit = await openAuditLog({ store, dataDir, log: watched, checkpointEvents: 4, checkpointIntervalMs: 0 });
  t.ok(await audit.waitFor(await record(store, 2), 2000));
  t.equal(subscriptions, 1);
  await store.close();
  await when(lines, 'line', () => warned.some((m) => /ended the subscription/.test(m)), 'the follower says the store ended its subscription');
  // A follower that resubscribed at once would do so within a few turns of the event loop
  // (a closed store's subscription ends at once); this one waits before trying again.
  for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
  t.equal(subscriptions, 1, 'no new subscription to the closed store while it waits');
  await audit.close();
});

t.test('verify: heads under another key, an event inserted amid audited ones (sparse positions)', async (t) => {
  const dataDir = await mkdtemp(join(root, 'audit-'));
  const store = createMemoryStore();
  t.teardown(() => store.close());
  const last = await record(store, 9);
  let audit = await open(store, dataDir);
  t.ok(await audit.waitFor(last, 2000));
  await audit.close();

  // An adapter with sparse positions (EventStoreDB) could show an event between two audited ones.
  const events = await store.readAll();
  const intruder = { ...events[4]!, id: randomUUID(), position: `${events[4]!.position}a` };
  const tampered: EventStore = { ...store, readAll: async (o) => (o?.after === undefined ? [...events.slice(0, 5), intruder, ...events.slice(5)] : []) };
  audit = await open(tampered, dataDir, { follow: false });
  let r = await audit.verify();
  await audit.close();
  t.equal(r.firstDivergence?.reason, 'unexpected-event');
  t.equal(r.firstDivergence?.position, intruder.position);
  t.equal(r.leavesFailed, 1);
  t.equal(r.firstBadHead?.head.treeSize, 8);

  await rm(join(dataDir, 'audit-key.pem'));
  audit = await open(store, dataDir, { follow: false });
  t.teardown(() => audit.close());
  r = await audit.verify();
  t.equal(r.firstBadHead?.reason, 'unknown-key', 'a replaced key cannot vouch for old heads');
  t.equal(r.firstDivergence, null);
  await t.rejects(audit.signHead(), { name: 'AuditError', kind: 'unavailable' }, 'a read-only log does not sign');
  t.equal(await audit.waitFor(last, 10), true);
});
