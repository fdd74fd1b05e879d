/**
 * Issue #16, finding 1 (and #14, gap 5): a log that is missing, emptied, shorter, another one,
 * or an EventStoreDB whose data was reset, under read models and an audit tree that followed
 * a longer one, is refused at start with a message that says what to do; nothing is served.
 * Before: the service started, said ready and served the old read models over a log of 0
 * events (a new write got position 1, a registered key could be registered again).
 */
import { copyFileSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openEsdbStore } from '../src/store/esdb.js';
import { startEsdbDouble } from './fixtures/esdb-double.js';
import { dataDirWithKey, open, rawLog, record, tempDir } from './fixtures/integrity.js';
import { SERVER, spawnNode } from './fixtures/node-child.js';

/** A data dir holding a log of a few facts, its read models and its tree; the service stopped. */
async function stoppedService(t: Parameters<typeof tempDir>[0]): Promise<{ dataDir: string; headFile: string; env: Record<string, string> }> {
  const { dataDir, keyFile, headFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  await record(runtime, 5);
  await runtime.audit.signHead();
  await runtime.close();
  return { dataDir, headFile, env };
}

/** What the audit tree's refusal says to do for a log meant to be served from now on: its tree (and the head kept for it) set aside. */
const treeAside = (dataDir: string, headFile: string) => {
  renameSync(join(dataDir, 'audit.db'), join(dataDir, 'audit.db.aside'));
  renameSync(headFile, `${headFile}.aside`);
};

const removeLog = (dataDir: string) => {
  for (const s of ['', '-wal', '-shm']) rmSync(join(dataDir, `events.db${s}`), { force: true });
};

t.test('a missing events.db is refused, by the audit tree and then by the read models', async (t) => {
  const { dataDir, headFile, env } = await stoppedService(t);
  removeLog(dataDir);
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /audit tree in .*audit\.db does not cover this log: the log is empty, and position 0+\d+ had been reached.*restore a backup \('annals restore'\)/ });
  renameSync(join(dataDir, 'audit.db'), join(dataDir, 'audit.db.aside'));
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /the head kept in .*audit\.head\.json is of log sqlite:[0-9a-f-]+, and this log is sqlite:[0-9a-f-]+/ }, 'a new tree would not match the head kept beside the key');
  renameSync(headFile, `${headFile}.aside`);
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /read models in .*readmodels\.db do not follow this log.*run 'annals rebuild'/ });
});

t.test('an emptied events.db (rows deleted, or a zero-byte file) is refused', async (t) => {
  const { dataDir, env } = await stoppedService(t);
  const db = rawLog(dataDir);
  db.exec('DELETE FROM events');
  db.close();
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /the log is empty/ });
  removeLog(dataDir);
  writeFileSync(join(dataDir, 'events.db'), '');
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError' });
});

t.test('a log that lost its last events is refused', async (t) => {
  const { dataDir, env } = await stoppedService(t);
  const db = rawLog(dataDir);
  db.exec('DELETE FROM events WHERE position > (SELECT max(position) - 2 FROM events)');
  db.close();
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /the log ends at position 0+\d+, before position 0+\d+ that had been reached/ });
});

t.test("another data dir's events.db is refused, even a longer one", async (t) => {
  const a = await stoppedService(t);
  const b = await stoppedService(t);
  const runtime = await open(b.dataDir, b.env);
  await record(runtime, 20, 'more');
  await runtime.close();
  removeLog(a.dataDir);
  copyFileSync(join(b.dataDir, 'events.db'), join(a.dataDir, 'events.db'));
  await t.rejects(open(a.dataDir, a.env), { name: 'LogMismatchError', message: /another log was followed \(sqlite:[0-9a-f-]+; this one is sqlite:[0-9a-f-]+\)/ });
  treeAside(a.dataDir, a.headFile);
  await t.rejects(open(a.dataDir, a.env), { name: 'LogMismatchError', message: /read models .* another log was followed/ });
});

t.test('the server refuses to start: a non-zero exit, the message, never listening', async (t) => {
  const { dataDir, env } = await stoppedService(t);
  removeLog(dataDir);
  const server = spawnNode(SERVER, { env: { ...env, ANNALS_DATA_DIR: dataDir, PORT: '0', ANNALS_SEED: 'none', ANNALS_TOKENS: 'recorder:integrity-recorder-token-0123', LOG_LEVEL: 'info' } }, t);
  const { code } = await server.exited;
  const out = server.stdout();
  const err = server.stderr();
  t.equal(code, 1, 'exit 1');
  t.match(err, /^annals: could not start: the audit tree in .* does not cover this log: the log is empty/m);
  t.notMatch(err, /\n\s+at /, 'a refusal, not a stack trace');
  t.notMatch(out, /listening/, 'never listened');
});

t.test('EventStoreDB (protocol double) whose data was reset: refused, whether the new log is empty or longer', async (t) => {
  // The server's behaviour modelled: a node started afresh on the same address holds a new log,
  // and a subscription from a position past its end would silently wait there (gap 5).
  const first = await startEsdbDouble();
  const { dataDir, keyFile, headFile } = await dataDirWithKey(t);
  const env = { ANNALS_EVENT_STORE: first.connectionString, ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  await record(runtime, 5);
  await runtime.close();
  await first.close();

  const reset = await startEsdbDouble({ port: first.port });
  t.teardown(() => reset.close());
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /audit tree .* the log is empty/ });
  treeAside(dataDir, headFile);
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /read models .* the log is empty/ });

  // The reset server filled again, past where the read models stopped: still not their log.
  const store = await openEsdbStore(reset.connectionString);
  for (let i = 0; i < 40; i++) await store.append(`other-${i}`, [{ id: crypto.randomUUID(), type: 'Other', data: { i }, metadata: {} }], 'any');
  await store.close();
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /read models .* another log was followed \(first-event:/ });
});

t.test('a consistent data dir starts, and a missing tree or read models are rebuilt from the log', async (t) => {
  const { dataDir, env } = await stoppedService(t);
  const runtime = await open(dataDir, env);
  t.ok((await runtime.audit.status()).treeSize > 5, 'reopened on its own log');
  await runtime.close();
  for (const f of ['audit.db', 'readmodels.db']) for (const s of ['', '-wal', '-shm']) rmSync(join(dataDir, `${f}${s}`), { force: true });
  const again = await open(dataDir, env);
  t.teardown(() => again.close());
  const head = (await again.store.head()) as string;
  t.ok(await again.audit.waitFor(head, 10_000), 'the tree rebuilt from the log');
  await again.readModels.caughtUp();
  t.equal(again.readModels.applied(), head, 'the read models rebuilt from the log');
});
