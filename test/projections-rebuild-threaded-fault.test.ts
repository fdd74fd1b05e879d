/**
 * A live rebuild (POST /v1/admin/rebuild) in the read models' thread, the service's default,
 * that succeeds or fails before or after its swap: afterwards every reader (the event loop's
 * own, each read worker's) reads the file that is at the path, or answers 503 with
 * Retry-After while it cannot; a fact recorded afterwards is read; errors that cross from the
 * thread keep their class (a failed rebuild and a status asked while the read models cannot
 * open are 503 problem+json saying what to do, never 500). The faults are the swap-fault
 * test's (test/projections-rebuild-swap-fault.test.ts), made here with real threads on the
 * real app: a directory in the way of the rebuilt file's journal, a bind mount that makes the
 * rename fail, a full disk (a 30 MiB tmpfs; root only); and, for a read worker alone, a file
 * that cannot be opened when the worker is told to reopen.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { crossing, revived } from '../projections/crossed-errors.js';
import { buildFresh, openReader, ReadModelsUnavailableError, ReadQueries, RebuildFailedError, RebuildInProgressError } from '../projections/index.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { ReadPool } from '../projections/read-pool.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { person } from './fixtures/facts.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';
import { until } from './fixtures/when.js';

// A write waits this long for the read models before it answers anyway (they may be unable to open).
const THREADS = { ANNALS_READ_MODELS: 'thread', ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '3000' };
const root = process.getuid?.() === 0;
const now = () => new Date().toISOString();

async function threadedApp(t: Test, dataDir?: string): Promise<TestApp> {
  const a = await startTestApp(t, { env: THREADS, ...(dataDir === undefined ? {} : { dataDir }) });
  for (let i = 0; i < 20; i++) t.equal((await record(a, `before-${i}`)).statusCode, 201);
  // Reads go to the read worker from here on (/readyz waits for it).
  await until('/readyz 200', async () => (await a.app.inject({ url: '/readyz' })).statusCode === 200, 120_000);
  return a;
}

const record = (a: TestApp, key: string): Promise<LightMyRequestResponse> => a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: person(key, `Person ${key}`) });

/** A 503 problem+json whose detail matches `detail`, with Retry-After: a second for a read, a minute for a failed rebuild (an operator acts first). */
function unavailable(t: Test, res: LightMyRequestResponse, detail: RegExp, what: string, retryAfter = '1'): void {
  t.equal(res.statusCode, 503, `${what}: 503 (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.headers['retry-after'], retryAfter, `${what}: Retry-After ${retryAfter}`);
  t.match(res.json(), { status: 503, detail }, `${what}: says what happened and what to do`);
}

/** A fact recorded now is read by the event loop's reader and by the read worker, and so is one recorded before. */
async function readsFollow(t: Test, a: TestApp, key: string): Promise<void> {
  const pool = a.runtime.reads as ReadPool;
  const added = await record(a, key);
  t.equal(added.statusCode, 201, added.body);
  const factId = (added.json() as { factId: string }).factId;
  // Through HTTP: the read worker answers (it is ready).
  await until(`GET /v1/people/${key} 200`, async () => (await a.app.inject({ url: `/v1/people/${key}` })).statusCode === 200, 30_000);
  t.equal(pool.ready, 1, 'a read worker answered');
  t.equal((await a.app.inject({ url: '/v1/people/before-0' })).statusCode, 200, 'a fact recorded before the rebuild is read');
  t.ok(a.runtime.readModels.queries.fact(factId, now()), "the event loop's own reader reads it too");
  t.ok(((await pool.run('fact', [factId, now()])) as { value: unknown } | null)?.value, 'and the read worker, asked directly');
  const status = await a.app.inject({ url: '/v1/admin/projections', headers: a.auth('admin') });
  t.equal(status.statusCode, 200, status.body);
  // Readiness comes from the thread at most every 200 ms, and its new runner catches up first.
  let ready = '';
  await until('/readyz 200', async () => {
    const res = await a.app.inject({ url: '/readyz' });
    ready = res.body;
    return res.statusCode === 200;
  }, 30_000).catch((e: Error) => t.fail(`${e.message}: ${ready}`));
}

t.test('a rebuild that succeeds (the fresh file swapped in): every reader reads it', async (t) => {
  const a = await threadedApp(t);
  const res = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  t.equal(res.statusCode, 200, res.body);
  await readsFollow(t, a, 'after-success');
});

t.test('the rebuilt file will not open (a directory in the way of its journal: fails after the swap, the reopen fails until cleared): 503 until it opens, then every reader reads it', async (t) => {
  const a = await threadedApp(t);
  const journal = join(a.dataDir, 'readmodels.db-journal');
  mkdirSync(journal);
  const res = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  unavailable(t, res, /swapped in but could not be opened.*Reads answer 503 while it is tried again.*Check the disk/, 'the failed rebuild', '60');
  unavailable(t, await a.app.inject({ url: '/v1/admin/projections', headers: a.auth('admin') }), /could not be opened/, 'the status meanwhile');
  unavailable(t, await a.app.inject({ url: '/v1/people/before-1' }), /could not be opened/, 'a read meanwhile (not the replaced file)');
  t.throws(() => a.runtime.readModels.queries, ReadModelsUnavailableError, "the event loop's reader: unavailable, not the replaced file");
  const ready = await a.app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503, '/readyz: not ready');
  t.match(ready.json(), { readiness: { readModels: { ready: false, lastError: /could not be opened/ } } }, '/readyz says why');
  t.notMatch(ready.body, /thread is restarting/, '/readyz does not blame a thread restart');
  const meanwhile = await record(a, 'while-blocked');
  t.equal(meanwhile.statusCode, 201, 'a write is still recorded (its 201 after the read wait)');
  rmSync(journal, { recursive: true });
  await until('the read models open again', async () => (await a.app.inject({ url: '/v1/people/while-blocked' })).statusCode === 200, 60_000);
  await readsFollow(t, a, 'after-journal');
});

t.test('the rebuilt file will not open (a directory in the way of its journal) and the read-model thread restarts meanwhile: once a new thread opens the file, every reader reads it', async (t) => {
  const a = await threadedApp(t);
  const journal = join(a.dataDir, 'readmodels.db-journal');
  mkdirSync(journal);
  const res = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  unavailable(t, res, /swapped in but could not be opened/, 'the failed rebuild', '60');
  unavailable(t, await a.app.inject({ url: '/v1/people/before-1' }), /could not be opened/, 'a read meanwhile');
  // A new thread finds the file as it is now: it cannot start until the journal is cleared, then opens it at its start.
  await (a.runtime.readModels as unknown as { worker(): { terminate(): Promise<number> } }).worker().terminate();
  rmSync(journal, { recursive: true });
  await until('the read models open again, in a new thread', async () => (await a.app.inject({ url: '/v1/people/before-1' })).statusCode === 200, 120_000);
  await readsFollow(t, a, 'after-restart');
});

t.test('the rename fails (the file is a bind mount: fails at the swap, the old file reopened): 503 for the rebuild, every reader goes on reading', { skip: root ? false : 'needs root to bind-mount a file' }, async (t) => {
  const a = await threadedApp(t);
  const path = join(a.dataDir, 'readmodels.db');
  execFileSync('mount', ['--bind', path, path], { stdio: 'pipe' });
  // Lazily: the app, closed after this, still holds the file.
  t.teardown(() => void execFileSync('umount', ['-l', path], { stdio: 'pipe' }));
  const res = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  unavailable(t, res, /rebuilt but could not be swapped in: EBUSY.*runs on the read models it had.*run the rebuild again/, 'the failed rebuild', '60');
  await readsFollow(t, a, 'after-ebusy');
  t.equal((await record(a, 'after-ebusy-2')).statusCode, 201);
  t.equal((await a.app.inject({ url: '/v1/people/after-ebusy-2' })).statusCode, 200, 'and the next one');
});

t.test('the disk is full while the fresh file is built (a 30 MiB tmpfs: fails before the swap): 503 for the rebuild, every reader goes on reading the file it had', { skip: root ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'annals-threaded-full-'));
  const mount = join(work, 'tmpfs');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=30m', 'tmpfs', mount], { stdio: 'pipe' });
  t.teardown(async () => {
    execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    await rm(work, { recursive: true, force: true });
  });
  const a = await threadedApp(t, mount);
  // Room for a few pages, not for a fresh copy of the read models.
  const filler = join(mount, 'filler');
  const s = statfsSync(mount);
  writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - 64 * 1024)));
  const res = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  unavailable(t, res, /could not be built into .*free space on that disk/, 'the failed rebuild', '60');
  rmSync(filler);
  await readsFollow(t, a, 'after-full');
});

t.test('a read worker told to reopen a file that will not open (a directory at its path) answers 503 (ReadModelsUnavailableError) and opens it at a later question', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'readmodels.db');
  const log = new TestLog();
  recordRichHistory(log, 200, 3);
  await buildFresh(log, path, pino({ level: 'silent' }));
  const known = log.events[0]?.metadata['factId'] as string;
  const opened: Database.Database[] = [openReader(path)];
  t.teardown(() => opened.forEach((d) => d.close()));
  let queries = new ReadQueries(opened[0] as Database.Database);
  const pool = new ReadPool({ path, size: 1, queueLimit: 10, log: pino({ level: 'silent' }), applied: () => null, queries: () => queries, warmUp: { questions: 0, ms: 0 } });
  t.teardown(() => pool.close());
  await until('the read worker is ready', () => pool.ready === 1, 60_000);
  t.ok((await pool.run('fact', [known, now()]))?.value, 'it reads');
  // The file is moved away and a directory stands at its path; a new query facade tells the worker to reopen.
  const aside = `${path}.aside`;
  renameSync(path, aside);
  mkdirSync(path);
  opened.push(openReader(aside));
  queries = new ReadQueries(opened[1] as Database.Database);
  await t.rejects(pool.run('fact', [known, now()]) as Promise<unknown>, ReadModelsUnavailableError, 'reopening fails: 503, retry');
  await t.rejects(pool.run('fact', [known, now()]) as Promise<unknown>, ReadModelsUnavailableError, 'still, at the next question (not a closed connection)');
  rmSync(path, { recursive: true });
  renameSync(aside, path);
  t.ok((await pool.run('fact', [known, now()]))?.value, 'once it opens, it reads again');
});

t.test('errors keep their class across a thread (crossed-errors.ts): 503s and 409s stay so, a bug stays a plain Error', async (t) => {
  const cause = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  // Through a structured clone, as a message between threads goes.
  const across = (e: unknown): Error => revived(structuredClone(crossing(e)));
  const full = across(new RebuildFailedError('the read models could not be built', { cause }));
  t.ok(full instanceof RebuildFailedError, 'a failed rebuild');
  t.equal(full.message, 'the read models could not be built');
  t.equal((full.cause as { code?: string }).code, 'SQLITE_FULL', "with its cause's code");
  t.ok(across(new ReadModelsUnavailableError('not open')) instanceof ReadModelsUnavailableError, 'unavailable');
  t.ok(across(new RebuildInProgressError()) instanceof RebuildInProgressError, 'a rebuild in progress');
  t.ok(across(new StoreUnavailableError('down')) instanceof StoreUnavailableError, 'the store unreachable');
  const bug = across(new TypeError('x is not a function'));
  t.equal(bug.constructor, Error, 'a bug: a plain Error (500)');
  t.equal(bug.name, 'TypeError', 'its name kept, for the log');
  t.equal(across('a string thrown').message, 'a string thrown');
  t.equal(across(Object.assign(new Error('toString'), { name: 'toString' })).constructor, Error, "a name that is no class of ours (not even Object's) stays a plain Error");
});
