/**
 * A bulk build (a rebuild into a fresh file) whose transaction fails, on a real full disk (a
 * small tmpfs; root only, skipped otherwise: test/integrity-faults.test.ts makes files full
 * without root, but a bulk build opens its own connection). The build writes without a
 * journal, so its file is half-written when a transaction fails: it must never be swapped in,
 * must be removed (else a full disk stays full), and the error must say what to do. The
 * read models in use stay byte for byte as they were, and once there is room the same
 * rebuild succeeds and equals one made on a roomy disk.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh, rebuildReadModels } from '../projections/index.js';
import { TestLog, dumpTables, recordRichHistory } from './fixtures/history.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { runningWorkers } from '../src/store/worker-thread.js';

const silent = pino({ level: 'silent' });
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const free = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

const root = process.getuid?.() === 0;
t.test('a rebuild that fills the disk: nothing swapped in, the partial file removed, an error that says what to do', { skip: root ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'annals-bulk-full-'));
  const mount = join(work, 'tmpfs');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=30m', 'tmpfs', mount], { stdio: 'pipe' });
  t.teardown(async () => {
    execFileSync('umount', [mount], { stdio: 'pipe' });
    await rm(work, { recursive: true, force: true });
  });

  const log = new TestLog();
  recordRichHistory(log, 4000, 7);
  // The same build on a roomy disk: what the read models are, and how much room a build takes.
  const roomy = join(work, 'roomy.db');
  await buildFresh(log, roomy, silent);
  const size = statSync(roomy).size;
  t.ok(size > 1024 * 1024, `a build of ${(size / 1048576).toFixed(1)} MiB`);

  // The read models in use, then a disk with a third of a build's room left.
  const path = join(mount, 'readmodels.db');
  copyFileSync(roomy, path);
  const before = sha(path);
  const filler = join(mount, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, free(mount) - Math.floor(size / 3))));
  const room = free(mount);
  t.ok(room < size, `${(room / 1048576).toFixed(1)} MiB free`);

  const failed = await rebuildReadModels({ store: log, path, log: silent }).then(
    () => null,
    (e: unknown) => e as Error & { cause?: { code?: string } },
  );
  t.ok(failed, 'the rebuild fails');
  t.equal(failed?.cause?.code, 'SQLITE_FULL', 'because the disk is full');
  t.match(failed?.message, /database or disk is full/, 'names the cause');
  t.match(failed?.message, /read models in use are untouched.*free space on that disk.*run it again/, 'says what to do next');
  t.equal(sha(path), before, 'the read models in use are byte for byte as they were');
  t.same(readdirSync(mount).sort(), ['filler', 'readmodels.db'], 'the half-written file is gone');
  t.equal(free(mount), room, 'and the room it took is back');

  rmSync(filler);
  const result = await rebuildReadModels({ store: log, path, log: silent });
  t.equal(result.events, log.events.length, 'with room again the rebuild succeeds');
  t.same(dumpTables(path), dumpTables(roomy), 'and equals the build made on a roomy disk');
});

t.test('decoded on a thread of its own: a full disk ends the build as it does on one thread, the thread with it', { skip: root ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'annals-bulk-full-'));
  const mount = join(work, 'tmpfs');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=30m', 'tmpfs', mount], { stdio: 'pipe' });
  const store = openSqliteStore(join(work, 'events.db'), { writer: 'inline' });
  t.teardown(async () => {
    await store.close();
    execFileSync('umount', [mount], { stdio: 'pipe' });
    await rm(work, { recursive: true, force: true });
  });
  const log = new TestLog();
  recordRichHistory(log, 4000, 7);
  for (const e of log.events) await store.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], 'any');
  const threaded = { pageSize: 500, decodeThread: true };
  const roomy = join(work, 'roomy.db');
  await buildFresh(store, roomy, silent, undefined, undefined, threaded);
  const size = statSync(roomy).size;
  const filler = join(mount, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, free(mount) - Math.floor(size / 3))));
  const room = free(mount);

  const failed = await buildFresh(store, join(mount, 'readmodels.db.rebuild'), silent, undefined, undefined, threaded).then(
    () => null,
    (e: unknown) => e as Error & { cause?: { code?: string } },
  );
  t.equal(failed?.cause?.code, 'SQLITE_FULL', 'the build fails because the disk is full');
  t.match(failed?.message, /partial file was removed; free space on that disk.*run it again/, 'says what to do next');
  t.same(readdirSync(mount), ['filler'], 'the half-written file is gone');
  t.equal(free(mount), room, 'and the room it took is back');
  t.notOk([...runningWorkers().values()].includes('rebuild decoder'), 'the decoding thread ended');
});
