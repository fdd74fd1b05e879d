/**
 * A live rebuild (ReadModels.rebuild: POST /v1/admin/rebuild) that fails after it closed the
 * old connections, when the rebuilt file will not open: the service must go on working, on
 * the rebuilt read models once they open, never on closed connections; the error says what
 * happened and what to do; nothing acknowledged is lost (the runner catches up from the log).
 * The faults: a failing open through the onWriterDb seam (once, and twice so that the retry
 * opens it), and a real full disk (a 30 MiB tmpfs; root only) that the retry outlasts.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { ReadModelsUnavailableError, buildFresh, openReadModels, type ReadModels } from '../projections/index.js';
import { TestLog, dumpTables, recordRichHistory } from './fixtures/history.js';
import { until } from './fixtures/when.js';

const silent = pino({ level: 'silent' });
const now = () => new Date().toISOString();

/** Reads answer again (polling while they answer 503), and a fact recorded now is applied and read. */
async function worksAgain(t: Test, models: ReadModels, log: TestLog, known: string): Promise<void> {
  await until(
    'reads answer again',
    () => {
      try {
        models.queries;
        return true;
      } catch (err) {
        if (!(err instanceof ReadModelsUnavailableError)) throw err;
        return false;
      }
    },
    10_000,
    20,
  );
  t.ok(models.queries.fact(known, now()), 'a fact recorded before the rebuild is read');
  const added = log.record('PersonRegistered', { key: `after-${log.events.length}`, name: 'Recorded after the failed rebuild' });
  t.ok(await models.waitFor(added.position, 10_000), 'a fact recorded after it is applied');
  t.ok(models.queries.fact(added.metadata['factId'] as string, now()), 'and read');
  t.ok(models.readiness().ready, 'ready');
  t.equal((await models.status()).lastError, null, 'status answers, no error left');
}

for (const failures of [1, 2]) {
  t.test(`the rebuilt file fails to open ${failures === 1 ? 'once' : 'twice (the immediate retry too)'}: the service runs on it once it opens`, async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'readmodels.db');
    const log = new TestLog();
    recordRichHistory(log, 1500, 5);
    const known = log.events[0]?.metadata['factId'] as string;
    let opens = 0;
    let failing = 0;
    const models = await openReadModels({
      store: log,
      path,
      log: silent,
      retryMs: 20,
      maxRetryMs: 100,
      onWriterDb: () => {
        opens += 1;
        if (opens > 1 && failing < failures) {
          failing += 1;
          throw Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' });
        }
      },
    });
    t.teardown(() => models.close());
    await models.caughtUp();

    const failed = await models.rebuild().then(
      () => null,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
    t.ok(failed, 'the rebuild fails');
    t.equal(failed?.cause?.code, 'SQLITE_CANTOPEN', 'because the file would not open');
    t.match(failed?.message, /rebuilt read models were swapped in but could not be opened: unable to open database file/, 'says what happened');
    if (failures === 1) {
      t.match(failed?.message, /runs on the rebuilt read models.*nothing acknowledged is lost.*run the rebuild again/, 'where the service stands and what to do');
    } else {
      t.match(failed?.message, /Reads answer 503 while it is tried again.*nothing acknowledged is lost.*Check the disk/, 'where the service stands and what to do');
      t.throws(() => models.queries, ReadModelsUnavailableError, 'reads answer 503 meanwhile, not a closed connection');
      t.notOk(models.readiness().ready, 'not ready meanwhile');
      t.match(models.readiness().lastError, /could not be opened/, 'readiness says why');
    }
    t.same(readdirSync(dir).filter((f) => f.includes('.rebuild')), [], 'no rebuilt file left beside');
    await worksAgain(t, models, log, known);
    t.same(dumpTables(path), await built(dir, log), 'the rows equal a build from the log');
  });
}

/** The read models a build from the whole log makes, for comparison. */
async function built(dir: string, log: TestLog): Promise<Record<string, unknown[][]>> {
  const path = join(dir, 'fresh.db');
  await buildFresh(log, path, silent);
  return dumpTables(path);
}

const root = process.getuid?.() === 0;
t.test('the disk fills between the build and the reopen: reads answer 503, then with room the rebuilt file opens and catches up', { skip: root ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'annals-swap-full-'));
  const mount = join(work, 'tmpfs');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=30m', 'tmpfs', mount], { stdio: 'pipe' });
  const held: number[] = [];
  let models: ReadModels | null = null;
  t.teardown(async () => {
    await models?.close();
    for (const fd of held) closeSync(fd);
    execFileSync('umount', [mount], { stdio: 'pipe' });
    await rm(work, { recursive: true, force: true });
  });
  const path = join(mount, 'readmodels.db');
  const log = new TestLog();
  recordRichHistory(log, 1500, 9);
  const known = log.events[0]?.metadata['factId'] as string;
  models = await openReadModels({ store: log, path, log: silent, retryMs: 20, maxRetryMs: 100 });
  await models.caughtUp();

  // Another process holds the old files open (a backup, say): their room is not given back when they are replaced.
  for (const f of ['', '-wal']) held.push(openSync(`${path}${f}`, 'r'));
  const filler = join(mount, 'filler');
  const fill = (): void => {
    const s = statfsSync(mount);
    writeFileSync(filler, Buffer.alloc(s.bavail * s.bsize));
  };
  // The disk fills once the fresh file is complete (its statistics written), before the swap.
  const analyzed = (): boolean => {
    const db = new Database(`${path}.rebuild`, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").pluck().get() as number) > 0;
    } finally {
      db.close();
    }
  };
  const failed = await models
    .rebuild((p) => {
      if (p.applied === log.events.length && analyzed()) fill();
    })
    .then(
      () => null,
      (e: unknown) => e as Error & { cause?: { code?: string } },
    );
  t.ok(failed, 'the rebuild fails');
  t.equal(failed?.cause?.code, 'SQLITE_FULL', 'because the disk is full');
  t.match(failed?.message, /swapped in but could not be opened: database or disk is full; opening .* again failed: database or disk is full/, 'says what happened');
  t.match(failed?.message, /Reads answer 503 while it is tried again.*nothing acknowledged is lost.*Check the disk under .*room/, 'and what to do');
  t.throws(() => models.queries, ReadModelsUnavailableError, 'reads answer 503, not a closed connection');
  const recorded = log.record('PersonRegistered', { key: 'while-full', name: 'Recorded while the disk is full' });
  await new Promise((r) => setTimeout(r, 600)); // deliberate sleep: the open is retried (after 250 ms, then longer) against the still full disk; it must keep failing
  t.throws(() => models.queries, ReadModelsUnavailableError, 'still 503 while the disk stays full (retried meanwhile)');

  rmSync(filler);
  await worksAgain(t, models, log, known);
  t.ok(models.queries.fact(recorded.metadata['factId'] as string, now()), 'the fact recorded while it was full is applied too');
  t.same(dumpTables(path), await built(work, log), 'the rows equal a build from the log');
});

t.test('the rename fails (the file is a mount point): the service runs on the read models it had, reopened', { skip: root ? false : 'needs root to bind-mount a file' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-swap-busy-'));
  const path = join(dir, 'readmodels.db');
  const log = new TestLog();
  recordRichHistory(log, 1500, 13);
  const known = log.events[0]?.metadata['factId'] as string;
  const models = await openReadModels({ store: log, path, log: silent });
  let mounted = false;
  t.teardown(async () => {
    await models.close();
    if (mounted) execFileSync('umount', [path], { stdio: 'pipe' });
    await rm(dir, { recursive: true, force: true });
  });
  await models.caughtUp();
  // As a container's bind mount of the file: rename(2) over a mount point fails with EBUSY.
  execFileSync('mount', ['--bind', path, path], { stdio: 'pipe' });
  mounted = true;

  const failed = await models.rebuild().then(
    () => null,
    (e: unknown) => e as Error & { cause?: { code?: string } },
  );
  t.equal(failed?.cause?.code, 'EBUSY', 'the rebuild fails on the rename');
  t.match(failed?.message, /rebuilt but could not be swapped in: EBUSY.*runs on the read models it had.*run the rebuild again/, 'says what happened and what to do');
  t.same(readdirSync(dir).filter((f) => f.includes('.rebuild')), [], 'the rebuilt file is removed (its room given back)');
  await worksAgain(t, models, log, known);
  t.same(dumpTables(path), await built(dir, log), 'the rows equal a build from the log');
});

t.test('the rebuilt file will not open (a directory in the way of its journal, no root needed): 503 until it is cleared, then it catches up', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'readmodels.db');
  const log = new TestLog();
  recordRichHistory(log, 1500, 17);
  const known = log.events[0]?.metadata['factId'] as string;
  const models = await openReadModels({ store: log, path, log: silent, retryMs: 20, maxRetryMs: 100 });
  t.teardown(() => models.close());
  await models.caughtUp();
  // The old file is in WAL mode and never looks for it; the rebuilt one needs it to switch to WAL: SQLITE_IOERR, every time.
  const journal = `${path}-journal`;
  mkdirSync(journal);
  const failed = await models.rebuild().then(
    () => null,
    (e: unknown) => e as Error & { cause?: { code?: string } },
  );
  t.match(failed?.cause?.code, /^SQLITE_IOERR/, 'the rebuild fails on the reopen');
  t.match(failed?.message, /swapped in but could not be opened: disk I\/O error; opening .* again failed: disk I\/O error\. Reads answer 503/, 'says what happened and where the service stands');
  t.throws(() => models.queries, ReadModelsUnavailableError, 'reads answer 503, not a closed connection');
  await t.rejects(models.status(), ReadModelsUnavailableError, 'and the status too');
  const recorded = log.record('PersonRegistered', { key: 'while-blocked', name: 'Recorded while it would not open' });
  rmSync(journal, { recursive: true });
  await worksAgain(t, models, log, known);
  t.ok(models.queries.fact(recorded.metadata['factId'] as string, now()), 'the fact recorded meanwhile is applied too');
  t.same(dumpTables(path), await built(dir, log), 'the rows equal a build from the log');
});
