/**
 * Issue #16, finding 3: a row this service did not write is found, not signed. With the audit
 * key outside the data dir (ANNALS_AUDIT_KEY_FILE), someone who can rewrite events.db and
 * audit.db while the service is stopped:
 * - appends a row: the follower parks it and the tree stops before it; /readyz says so,
 *   verify names it, no head covers it; once the row is gone the tree goes on;
 * - alters a row and deletes audit.db: the rebuilt tree stops before the altered row and
 *   signs nothing;
 * - deletes a row and audit.db: every row left is sealed, but the rebuilt tree does not match
 *   the head kept beside the key, so it stops there and signs nothing.
 * Before: the appended row was taken in and signed at the next start, whatever its
 * recordedBy and back-dated recordedAt, and a fresh tree over the altered log verified ok.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { serviceReadiness } from '../src/integrity/readiness.js';
import type { Runtime } from '../src/runtime.js';
import { person } from './fixtures/facts.js';
import { dataDirWithKey, open, rawLog, record, until } from './fixtures/integrity.js';


/** A service that recorded some facts, signed a head and stopped. */
async function recorded(t: Parameters<typeof dataDirWithKey>[0]) {
  const paths = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: paths.keyFile };
  const runtime = await open(paths.dataDir, env);
  await record(runtime, 5);
  const head = await runtime.audit.signHead();
  await runtime.close();
  return { ...paths, env, head };
}

const dropTree = (dataDir: string) => {
  for (const s of ['', '-wal', '-shm']) rmSync(join(dataDir, `audit.db${s}`), { force: true });
};

const halted = (runtime: Runtime) => until('the follower to park the event', async () => (await runtime.audit.status()).state === 'halted');

t.test('a row appended offline is parked, not signed; the tree goes on once it is gone', async (t) => {
  const { dataDir, env, headFile, head } = await recorded(t);
  const db = rawLog(dataDir);
  const position = (db.prepare('SELECT max(position) FROM events').pluck().get() as number) + 1;
  const metadata = { factId: '01KB19R500F0RGED0000000001', recordedBy: 'recorder:deadbeef', source: { title: 'forged' } };
  db.prepare('INSERT INTO events (position, id, stream, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)').run(
    position,
    randomUUID(),
    'person-01KB19R500F0RGED0000000001',
    'PersonRegistered',
    JSON.stringify({ name: 'Forged' }),
    JSON.stringify(metadata),
    '2020-01-01T00:00:00.000Z',
  );
  db.close();
  const intruder = String(position).padStart(20, '0');

  const runtime = await open(dataDir, env);
  await halted(runtime);
  const status = await runtime.audit.status();
  t.match(status.parked, [{ position: intruder, reason: 'unsealed', detail: /carries no seal: this service did not write it/ }]);
  t.equal(status.treeSize, head.treeSize, 'the tree stops before it');
  const ready = await serviceReadiness(runtime);
  t.equal(ready.ready, false, '/readyz would answer 503');
  t.match(ready.audit.problems, [new RegExp(`audit tree: stopped before position ${intruder} \\(unsealed\\)`)]);
  t.equal(ready.readModels.ready, true, 'and names the audit tree, not the read models');

  const after = await runtime.recorder.recordBatch([person('after-the-intruder', 'After')] as never, { principal: 'test', correlationId: 'after' });
  t.equal(after.recorded, 1, 'recording goes on; the tree does not pass the intruder');
  t.equal((await runtime.audit.signHead()).treeSize, head.treeSize, 'no head covers the intruder');
  await t.rejects(runtime.audit.inclusionProof(intruder, head.treeSize), { name: 'AuditError', message: /no audited event/ });
  const report = await runtime.audit.verify();
  t.match(report, { ok: false, firstDivergence: { reason: 'unsealed-event', position: intruder } }, 'verify names it');
  await runtime.close();
  t.equal(JSON.parse(readFileSync(headFile, 'utf8')).head.treeSize, head.treeSize, 'the head kept beside the key does not cover it either');

  // The operator removes the row: the tree takes in what was recorded after it, and signs again.
  const fix = rawLog(dataDir);
  fix.prepare('DELETE FROM events WHERE position = ?').run(position);
  fix.close();
  const again = await open(dataDir, env);
  t.teardown(() => again.close());
  const last = (await again.store.head()) as string;
  t.ok(await again.audit.waitFor(last, 10_000), 'the tree goes on');
  t.match(await again.audit.status(), { state: 'following', parked: [] });
  t.ok((await again.audit.signHead()).treeSize > head.treeSize);
  t.equal((await serviceReadiness(again)).ready, true);
});

t.test('a row altered offline, audit.db deleted: the rebuilt tree stops before it and signs nothing', async (t) => {
  const { dataDir, env } = await recorded(t);
  const db = rawLog(dataDir);
  db.prepare("UPDATE events SET data = json_set(data, '$.name', 'Someone Else') WHERE position = 3").run();
  db.close();
  dropTree(dataDir);

  const runtime = await open(dataDir, env);
  t.teardown(() => runtime.close());
  await halted(runtime);
  const status = await runtime.audit.status();
  t.match(status, { treeSize: 2, parked: [{ position: '00000000000000000003', reason: 'altered', detail: /does not match its seal/ }] });
  await t.rejects(runtime.audit.signHead(), /being rebuilt/, 'nothing is signed');
  t.equal(await runtime.audit.head(), null, 'no head in the new audit.db');
  t.match((await runtime.audit.verify()).firstDivergence, { reason: 'altered-event', position: '00000000000000000003' });
});

t.test('a row deleted offline, audit.db deleted: the rebuilt tree does not match the head kept beside the key', async (t) => {
  const { dataDir, env, head } = await recorded(t);
  const db = rawLog(dataDir);
  db.prepare('DELETE FROM events WHERE position = 3').run();
  db.close();
  dropTree(dataDir);

  const runtime = await open(dataDir, env);
  t.teardown(() => runtime.close());
  await halted(runtime);
  const [parked] = (await runtime.audit.status()).parked;
  t.match(parked, { reason: 'kept-head-mismatch', position: head.lastPosition, detail: /the log was rewritten before this position since that head was signed/ });
  await t.rejects(runtime.audit.signHead(), /being rebuilt/);
  t.equal(await runtime.audit.head(), null);
});

t.test('audit.db deleted over an intact log: rebuilt, it matches the kept head and signs on', async (t) => {
  const { dataDir, env, head } = await recorded(t);
  dropTree(dataDir);
  const runtime = await open(dataDir, env);
  t.teardown(() => runtime.close());
  const last = (await runtime.store.head()) as string;
  t.ok(await runtime.audit.waitFor(last, 10_000));
  const signed = await runtime.audit.signHead();
  t.equal(signed.treeSize, head.treeSize);
  t.equal(signed.rootHash, head.rootHash, 'the same root as before');
  t.match(await runtime.audit.verify(), { ok: true });
});
