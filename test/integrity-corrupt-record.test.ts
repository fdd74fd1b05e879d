/**
 * A record of events.db whose data or metadata is not JSON (changed outside Annals: an edit,
 * or damage on disk). Before, every reader stopped at it with a bare SyntaxError ("Expected
 * property name or '}' in JSON at position 1"): the read models retried it for ever, the
 * service would not start, `annals export` and `backup` failed, and nothing said which record
 * or what to do. Now:
 * - a plain read names the record (position, stream, column) and says what to do
 *   (StoreCorruptError): the read models' lastError, and the CLI's message (exit 4);
 * - the audit, which checks seals, reads the record as far as it can and parks it as altered,
 *   and verify names it, as for any record changed after it was written.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { StoreCorruptError } from '../src/store/errors.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { runMain } from './fixtures/cli.js';
import { dataDirWithKey, open, rawLog, record, until } from './fixtures/integrity.js';

/** A service that recorded an organization and four people, then stopped; the record at `position` is then made not JSON in `column`, and the read models and audit tree deleted. */
async function corrupted(t: Parameters<typeof dataDirWithKey>[0], position: number, column: 'data' | 'metadata') {
  const paths = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: paths.keyFile };
  const runtime = await open(paths.dataDir, env);
  await record(runtime, 4);
  await runtime.close();
  const db = rawLog(paths.dataDir);
  const stream = db.prepare('SELECT stream FROM events WHERE position = ?').pluck().get(position) as string;
  db.prepare(`UPDATE events SET ${column} = '{not json' WHERE position = ?`).run(position);
  db.close();
  // The read models and the audit tree had taken the record in before it changed: both are made again from the log.
  for (const f of ['readmodels.db', 'audit.db']) for (const s of ['', '-wal', '-shm']) rmSync(join(paths.dataDir, f + s), { force: true });
  return { ...paths, env, stream };
}

for (const column of ['data', 'metadata'] as const) {
  t.test(`a record whose ${column} is not JSON: a plain read names it and says what to do`, async (t) => {
    const { dataDir, stream } = await corrupted(t, 4, column);
    const store = openSqliteStore(join(dataDir, 'events.db'), { readOnly: true });
    t.teardown(() => store.close());
    const err = await store.readAll({}).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof StoreCorruptError, 'a StoreCorruptError, not a SyntaxError');
    t.match(err, { code: 'STORE_CORRUPT', position: 4, stream, column });
    t.match((err as Error).message, new RegExp(`position 4 \\(stream ${stream}\\) holds ${column} that is not JSON`));
    t.match((err as Error).message, /annals restore/, 'it says what to do');
    await t.rejects(store.readStream(stream), { code: 'STORE_CORRUPT' }, "the record's stream read alone");
    t.same((await store.readAll({ limit: 3 })).length, 3, 'the records before it read as before');
  });
}

t.test("the read models' lastError, the audit's park and verify, and the CLI each name the record", async (t) => {
  const { dataDir, env, stream } = await corrupted(t, 4, 'data');
  const runtime = await open(dataDir, env);
  t.teardown(() => runtime.close());
  await until('the read models to report the record', async () => /position 4 .* not JSON/.test(runtime.readModels.readiness().lastError ?? ''));
  t.match(runtime.readModels.readiness(), { ready: false, lastError: /annals restore/ });
  await until('the audit to park the record', async () => (await runtime.audit.status()).state === 'halted');
  t.match(await runtime.audit.status(), { treeSize: 3, parked: [{ position: '00000000000000000004', reason: 'altered' }] });
  t.match((await runtime.audit.verify()).firstDivergence, { reason: 'altered-event', position: '00000000000000000004' });
  await runtime.close();

  const exported = await runMain(['export', '--data-dir', dataDir]);
  t.equal(exported.code, 4, 'export: exit 4 (the store failed)');
  t.match(exported.err, new RegExp(`annals export: the event log's record at position 4 \\(stream ${stream}\\) holds data that is not JSON`));
  t.match(exported.err, /annals restore/);
  t.notMatch(exported.err, /SyntaxError|Expected property name/, 'not the parser’s words');
});
