/**
 * The read workers start beside the other threads (issue #12, session 36): a pool started
 * `held` (projections/read-pool.ts) loads its workers' modules at once, but none opens the
 * read-model file, says ready or answers before `open()`, which the runtime calls only once the
 * read models are open and checked against the log (src/runtime.ts). A pool closed first ends
 * its workers without their opening the file; a start refused by the read models' check leaves
 * no read worker running.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { startTestApp } from './fixtures/app.js';
import { until } from './fixtures/when.js';
import { dataDirWithKey, open, record } from './fixtures/integrity.js';
import { ReadPool } from '../projections/read-pool.js';
import { runningWorkers } from '../src/store/worker-thread.js';

const readWorkers = (): number => [...runningWorkers().values()].filter((label) => label === 'reads').length;
const people = (at: string): [string, undefined, { after: null; limit: number }] => [at, undefined, { after: null, limit: 50 }];

t.test('a held pool’s worker loads, opens no file until open(), then answers as the read models do', async (t) => {
  const a = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const models = a.runtime.readModels;
  // A file that does not exist yet: a worker that opened it would create it.
  const later = join(a.dataDir, 'later.db');
  let asked = 0;
  const pool = new ReadPool({
    path: later,
    size: 1,
    queueLimit: 8,
    log: pino({ level: 'silent' }),
    applied: () => (asked++, models.applied()),
    queries: () => (asked++, models.queries),
    held: true,
  });
  t.teardown(() => pool.close());
  await until('the worker to have loaded its modules', () => pool.held === 1, 60_000);
  await new Promise((r) => setTimeout(r, 500)); // deliberate sleep: time in which a worker that did not wait would open the file and warm up
  t.notOk(existsSync(later), 'the worker did not open (create) the file');
  t.equal(pool.ready, 0, 'nor said ready');
  t.equal(pool.run('people', people(new Date().toISOString())), null, 'a question meanwhile is left to the calling thread');
  t.equal(asked, 0, 'the read models were not asked for before open()');

  // The read models' file where the pool reads it, then open().
  const src = new Database(join(a.dataDir, 'readmodels.db'), { readonly: true });
  src.exec(`VACUUM INTO '${later.replaceAll("'", "''")}'`);
  src.close();
  pool.open();
  t.ok(asked > 0, 'open() takes the read models’ facade');
  await until('the worker to be ready', () => pool.ready === 1, 60_000);
  t.equal(pool.held, 0, 'no worker is held any more');
  const at = new Date(Date.now() + 60_000).toISOString();
  const answer = await pool.run('people', people(at));
  t.ok(answer, 'answered by the worker');
  t.ok((answer?.value.items.length ?? 0) > 0, 'the example’s people');
  t.same(answer?.value, models.queries.people(...people(at)), 'the same answer as the read models’ own');
  pool.open();
  t.equal(pool.ready, 1, 'a second open() changes nothing');
});

t.test('a held pool closed before open() ends its worker without opening the file', async (t) => {
  const a = await startTestApp(t);
  const later = join(a.dataDir, 'never.db');
  const before = readWorkers();
  const pool = new ReadPool({ path: later, size: 1, queueLimit: 8, log: pino({ level: 'silent' }), applied: () => t.fail('applied asked') as never, queries: () => t.fail('queries asked') as never, held: true });
  await until('the worker to have loaded its modules', () => pool.held === 1, 60_000);
  t.equal(readWorkers(), before + 1, 'its thread runs');
  await pool.close();
  t.equal(readWorkers(), before, 'and has ended');
  t.notOk(existsSync(later), 'without opening the file');
  pool.open();
  t.equal(pool.ready, 0, 'open() after close() starts nothing');
});

t.test('the service’s read worker: started with the threads, opened once the read models are; none left when their check refuses the start', async (t) => {
  const threads = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'writer', ANNALS_READ_WORKERS: '1' };
  const opened: string[] = [];
  const openPool = ReadPool.prototype.open;
  ReadPool.prototype.open = function (this: ReadPool) {
    opened.push(this.ready === 0 ? 'not ready' : 'ready');
    openPool.call(this);
  };
  t.teardown(() => {
    ReadPool.prototype.open = openPool;
  });
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const env = { ...threads, ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  const pool = runtime.reads as ReadPool;
  t.ok(pool, 'a read pool');
  t.same(opened, ['not ready'], 'opened once, by the runtime, before any worker was ready');
  await record(runtime, 3);
  await until('the worker to be ready', () => pool.ready === 1, 60_000);
  const at = new Date(Date.now() + 60_000).toISOString();
  t.same((await pool.run('people', people(at)))?.value, runtime.readModels.queries.people(...people(at)), 'it answers as the read models do');
  await runtime.close();
  t.equal(readWorkers(), 0, 'closed with the runtime');

  // Read models of another log: the start is refused, and the worker started beside the threads does not outlive it.
  const other = await dataDirWithKey(t);
  const otherRuntime = await open(other.dataDir, { ...threads, ANNALS_AUDIT_KEY_FILE: other.keyFile });
  await record(otherRuntime, 2, 'q');
  await otherRuntime.close();
  const src = new Database(join(other.dataDir, 'readmodels.db'), { readonly: true });
  for (const s of ['', '-wal', '-shm']) if (existsSync(join(dataDir, `readmodels.db${s}`))) rmSync(join(dataDir, `readmodels.db${s}`));
  src.exec(`VACUUM INTO '${join(dataDir, 'readmodels.db').replaceAll("'", "''")}'`);
  src.close();
  opened.length = 0;
  await t.rejects(open(dataDir, env), { name: 'LogMismatchError', message: /read models in .*readmodels\.db do not follow this log/ });
  t.same(opened, [], 'the pool was never opened');
  await until('no read worker left running', () => readWorkers() === 0, 30_000);
  t.equal(readWorkers(), 0, 'none left running');
});
