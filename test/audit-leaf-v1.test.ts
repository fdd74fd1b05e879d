/**
 * Leaves of format annals-event-v1 do not change: test/fixtures/audit-v1/ was written by the
 * code before the write path handed committed events to the audit follower (commit 913ca8d,
 * made by test/fixtures/make-audit-v1.ts): an export of 43 events (the bundled example and
 * two events with awkward JSON: unsorted nested keys, escapes, non-ASCII, -0, 1e21), the head
 * signed over them with its public key, and each leaf's hash as that code computed it. Today's
 * code must compute the same leaves and root, from the parsed events as from the text the
 * writer hands to the audit follower, and the old head must still verify.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { eventLeafHash } from '../src/audit/leaf.js';
import { CompactTree, toHex } from '../src/audit/merkle.js';
import { verifyOffline } from '../src/audit/offline.js';
import { verifyHeadWith, type SignedTreeHead } from '../src/audit/signing.js';
import type { StoredEvent } from '../src/store/port.js';
import { CommittedFeed, encodeCommitted, postCommitted, storedText } from '../src/store/sqlite-writer-feed.js';
import type { StoredRow } from '../src/store/sqlite-writer.js';
import { MessageChannel } from 'node:worker_threads';

const dir = join(import.meta.dirname, 'fixtures', 'audit-v1');
const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n');
const oldHashes = readFileSync(join(dir, 'leaf-hashes.txt'), 'utf8').trim().split('\n');
const doc = JSON.parse(readFileSync(join(dir, 'head.json'), 'utf8')) as { head: SignedTreeHead; publicKey: { pem: string } };
const events = lines.map((l) => JSON.parse(l) as StoredEvent);

t.test('the old head still verifies with its key', async (t) => {
  t.equal(doc.head.treeSize, events.length);
  t.ok(verifyHeadWith(doc.publicKey.pem, doc.head), 'signature of the head signed before the change');
  t.notOk(verifyHeadWith(doc.publicKey.pem, { ...doc.head, treeSize: doc.head.treeSize - 1 }), 'and a changed head does not (the check can fail)');
});

t.test('each leaf and the root are what the old code computed', async (t) => {
  const tree = new CompactTree();
  events.forEach((e, i) => {
    const h = eventLeafHash(e);
    t.equal(toHex(h), oldHashes[i], `leaf ${i + 1} (${e.type})`);
    tree.append(h);
  });
  t.equal(toHex(tree.root()), doc.head.rootHash, 'the root of the old head');
});

t.test('annals audit verify accepts the old export and head', async (t) => {
  const report = await verifyOffline(lines, [{ head: doc.head, publicKeyPem: doc.publicKey.pem, label: 'head.json' }]);
  t.same(report.problems, []);
  t.ok(report.ok);
  t.equal(report.heads[0]?.computedRoot, doc.head.rootHash);
});

t.test('leaves built from what the writer encoded are the old leaves', async (t) => {
  // The events as the writer hands them (src/store/sqlite-writer-feed.ts): the JSON text it stored, as JSON.stringify wrote it.
  const { port1, port2 } = new MessageChannel();
  const feed = new CommittedFeed();
  feed.attach(port2);
  const rows: StoredRow[] = events.map((e) => [Number(e.position), e.id, e.stream, e.revision, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), e.recordedAt]);
  postCommitted(new Map([['test', port1]]), encodeCommitted(rows, true));
  await new Promise<void>((resolve) => {
    const a = feed.arrival();
    void a.wait.then(resolve);
  });
  const got = feed.take(0, true);
  if (got === null || got === 'gap') throw new Error(`no batch: ${got}`);
  t.equal(got.events.length, events.length);
  t.ok(got.events.every((e) => storedText(e) !== undefined && e.integrity === 'sealed'), 'each event carries the text the writer stored');
  // The text rides on the event unseen: not a key, not in its JSON, not in a copy (which may change its data).
  const first = got.events[0] as StoredEvent;
  t.same(Object.keys(first).sort(), ['data', 'id', 'integrity', 'metadata', 'position', 'recordedAt', 'revision', 'stream', 'type']);
  t.equal(JSON.stringify(first), JSON.stringify({ ...first }));
  t.equal(storedText({ ...first }), undefined, 'a copy is leafed from its own values');
  const tree = new CompactTree();
  got.events.forEach((e, i) => {
    const h = eventLeafHash(e);
    t.equal(toHex(h), oldHashes[i], `leaf ${i + 1} (${e.type})`);
    tree.append(h);
  });
  t.equal(toHex(tree.root()), doc.head.rootHash, 'the root of the old head');
  feed.close();
  port1.close();
});

t.test('a handed event whose JSON needs reordering: the leaf is canonicalJson of the event', async (t) => {
  const { canonicalJson } = await import('../src/audit/leaf.js');
  const { createHash } = await import('node:crypto');
  const datas: unknown[] = [
    { name: 'P', key: 'k' },
    { b: 1, a: { d: [1, { z: 1, y: [{ q: 1, p: 2 }] }], c: null } },
    { a: 1, b: { y: 1, x: 2 } },
    { 10: 'ten', 9: 'nine', b: 1, a: 2 },
    JSON.parse('{"b":1,"__proto__":{"y":1,"x":2},"a":3}'),
    { 'é': 1, e: 2, Z: 3, '': 4, '\u{1F600}': 5, '\uFFFF': 6 },
    { n: [-0, 1e21, 1.5, 'a\u2028b'], m: true },
    'a string',
    [3, { b: 1, a: 2 }],
    { sorted: { a: 1, b: 2 }, already: true },
  ];
  const { port1, port2 } = new MessageChannel();
  const feed = new CommittedFeed();
  feed.attach(port2);
  const rows: StoredRow[] = datas.map((d, i) => [i + 1, `id-${i}`, 's', i, 'T', JSON.stringify(d), JSON.stringify({ source: { title: 't', publisher: 'p' }, factId: `f${i}` }), '2026-12-05T00:00:00.000Z']);
  postCommitted(new Map([['test', port1]]), encodeCommitted(rows, true));
  await new Promise<void>((resolve) => void feed.arrival().wait.then(resolve));
  const got = feed.take(0, true);
  if (got === null || got === 'gap') throw new Error(`no batch: ${got}`);
  for (const [i, e] of got.events.entries()) {
    const plain = { data: JSON.parse(rows[i]![5]), id: e.id, metadata: JSON.parse(rows[i]![6]), position: e.position, recordedAt: e.recordedAt, revision: e.revision, stream: e.stream, type: e.type };
    const want = createHash('sha256').update(Buffer.from([0])).update(canonicalJson(plain), 'utf8').digest('hex');
    t.equal(toHex(eventLeafHash(e)), want, `data ${i}`);
  }
  feed.close();
  port1.close();
});
