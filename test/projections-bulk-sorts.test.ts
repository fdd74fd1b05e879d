/**
 * A bulk build's sorts on SQLite's sorter threads (projections/bulk-sorts.ts): around them the
 * build's connection has its temporary files on files and a small cache (SQLite starts no
 * sorter thread with temp_store = MEMORY), put back afterwards, even when a sort fails; other
 * connections are left alone; and an index sorted in many runs that way holds what one sorted
 * in memory holds. Its temporary directory as SQLite picks it, and on a real full disk (a
 * small tmpfs; root only): with no room for a run, or less than the log's events may need, or
 * no free files, the sorts stay in memory, said once in the log; one that fills up mid-sort
 * fails naming the directory and what to do; a failure the directory is not found at fault
 * for after it is thrown as it came.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { SORT_BYTES_AN_EVENT, sortOnThreads, sorting, sqliteTempDir } from '../projections/bulk-sorts.js';
import { nodeArgs } from './fixtures/node-child.js';
import { ROWS, sortKey } from './fixtures/sort-child.js';

const settings = (db: Database.Database): [unknown, unknown] => [db.pragma('temp_store', { simple: true }), db.pragma('cache_size', { simple: true })];

t.test('the settings while sorting, and after', (t) => {
  const db = new Database(join(t.testdir(), 'a.db'));
  t.teardown(() => db.close());
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536');
  let inside: [unknown, unknown] | null = null;
  sorting(db, () => (inside = settings(db)));
  t.same(inside, [2, -65536], 'a connection not given to sortOnThreads sorts as it is');
  sortOnThreads(db);
  sorting(db, () => (inside = settings(db)));
  t.same(inside, [1, -4096], 'temporary files on files and 4 MiB runs while sorting');
  t.same(settings(db), [2, -65536], 'put back after');
  t.throws(() => sorting(db, () => db.exec('CREATE INDEX nowhere ON missing (a)')), /no such table/);
  t.same(settings(db), [2, -65536], 'put back after a failing sort too');
  t.end();
});

t.test('an index sorted in many runs on threads holds what one sorted in memory holds', (t) => {
  const dir = t.testdir();
  const build = (name: string, threaded: boolean): string[] => {
    const db = new Database(join(dir, name));
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -65536');
    db.pragma('threads = 1');
    db.exec('CREATE TABLE r (k TEXT, v INTEGER)');
    const insert = db.prepare('INSERT INTO r VALUES (?, ?)');
    // ~12 MB of keys: three times a 4 MiB run, in an order far from sorted (and with ties).
    db.transaction(() => {
      for (let i = 0; i < 120_000; i++) insert.run(`${String((i * 7919) % 50_021).padStart(6, '0')}-${'x'.repeat(90)}`, i);
    })();
    if (threaded) sortOnThreads(db);
    sorting(db, () => db.exec('CREATE INDEX r_k ON r (k, v)'));
    const rows = db.prepare('SELECT k, v FROM r INDEXED BY r_k ORDER BY k, v').raw().all().map((r) => String(r));
    t.equal(db.prepare('PRAGMA integrity_check').pluck().get(), 'ok', `${name}: sound`);
    db.close();
    return rows;
  };
  const inMemory = build('memory.db', false);
  const threaded = build('threads.db', true);
  t.equal(threaded.length, 120_000);
  t.ok(threaded.every((r, i) => r === inMemory[i]), 'the same entries in the same order');
  t.end();
});

t.test('the temporary directory as SQLite picks it: SQLITE_TMPDIR, TMPDIR, then /var/tmp, /usr/tmp, /tmp, .', (t) => {
  const dir = t.testdir({ a: {}, b: {}, file: 'not a directory' });
  t.same(sqliteTempDir({ SQLITE_TMPDIR: join(dir, 'a'), TMPDIR: join(dir, 'b') }), { dir: join(dir, 'a'), from: 'SQLITE_TMPDIR' });
  t.same(sqliteTempDir({ SQLITE_TMPDIR: join(dir, 'missing'), TMPDIR: join(dir, 'b') }), { dir: join(dir, 'b'), from: 'TMPDIR' }, 'one that does not exist is passed over');
  t.same(sqliteTempDir({ SQLITE_TMPDIR: join(dir, 'file'), TMPDIR: '' }), { dir: '/var/tmp', from: 'default' }, 'as is a file, and an empty variable');
  t.end();
});

interface SortChild {
  first: unknown;
  second: unknown;
  r_k: string | null;
  settings: [unknown, unknown];
  integrity: string;
  tempDir: { dir: string; from: string } | null;
}
const CHILD = fileURLToPath(new URL('./fixtures/sort-child.ts', import.meta.url));
/** The child's outcome and what it logged, its SQLite reading `env` as it starts. */
const sortIn = (dir: string, env: Record<string, string>, events = 0): { out: SortChild; logged: Array<{ msg: string; tempDir: unknown }> } => {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SQLITE_TMPDIR' && k !== 'TMPDIR'));
  const r = spawnSync(process.execPath, nodeArgs(CHILD, dir, String(events)), { env: { ...inherited, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`sort child exited ${r.status}: ${r.stderr}`);
  const logged = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; tempDir: unknown });
  return { out: JSON.parse(r.stdout) as SortChild, logged };
};

const root = process.getuid?.() === 0;
/** A directory for tmpfs mounts (not under t.testdir(): tap removes that before teardowns run, the mounts still there), unmounted and removed at the test's end. */
const mounting = (t: { teardown(fn: () => unknown): void }): { dir: string; mount: (name: string, options: string) => string } => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-sorts-'));
  const mounts: string[] = [];
  const mount = (name: string, options: string): string => {
    const at = join(dir, name);
    mkdirSync(at);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { stdio: 'pipe' });
    mounts.push(at);
    return at;
  };
  t.teardown(() => {
    for (const at of mounts.reverse()) execFileSync('umount', [at], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, mount };
};

t.test('on a full temporary directory: sorts in memory said once, or a failure that names the directory', { skip: root ? false : 'needs root to mount a tmpfs' }, (t) => {
  const { dir, mount } = mounting(t);
  const work = (name: string): string => {
    const at = join(dir, name);
    mkdirSync(at);
    return at;
  };
  // The index's rows in order, sorted here: what every build of it must hold.
  const rows = Array.from({ length: ROWS }, (_, i) => [sortKey(i), i] as const).sort(([a, i], [b, j]) => (a < b ? -1 : a > b ? 1 : i - j));
  const expected = createHash('sha256');
  for (const row of rows) expected.update(`${String(row)}\n`);
  const r_k = expected.digest('hex');

  // 2 MiB: less than two 4 MiB runs, seen before the sort starts.
  const full = mount('full', 'size=2m');
  const inMemory = sortIn(work('in-memory'), { SQLITE_TMPDIR: full });
  t.same([inMemory.out.first, inMemory.out.second], ['ok', 'ok'], 'no room for a run: the sorts succeed in memory');
  t.equal(inMemory.out.r_k, r_k, 'the same index');
  t.same(inMemory.out.settings, [2, -65536], 'the settings as they were');
  t.equal(inMemory.logged.length, 1, 'said once a build');
  t.match(inMemory.logged[0], { tempDir: full, msg: new RegExp(`temporary directory ${full} \\(from SQLITE_TMPDIR\\) has 2\\.0 MiB free: the rebuild sorts its indexes in memory.*set SQLITE_TMPDIR`) });

  // Room for two runs (what the child's loader keeps in TMPDIR aside), not for ~16 MB of keys; SQLITE_TMPDIR read-only, so SQLite passes over it to TMPDIR.
  const readOnly = mount('read-only', 'size=64m,ro');
  const short = mount('short', 'size=12m');
  const failed = sortIn(work('failed'), { SQLITE_TMPDIR: readOnly, TMPDIR: short });
  t.same(failed.out.tempDir, { dir: short, from: 'TMPDIR' }, 'a read-only SQLITE_TMPDIR is passed over, as SQLite does');
  for (const [which, what] of [['first', 'the first index'], ['second', 'the second index']] as const) {
    t.match(failed.out[which], {
      name: 'SortFilesError',
      code: 'SQLITE_FULL',
      message: new RegExp(`^${what} failed sorting on files in SQLite's temporary directory ${short} \\(from TMPDIR\\), [0-9.]+ MiB free there once its files were gone: database or disk is full\\. Free space there, or set SQLITE_TMPDIR to a directory with room`),
    }, `${which} sort: fails naming the directory SQLite wrote to and what to do`);
  }
  t.equal(failed.out.r_k, null, 'no index left behind');
  t.same(failed.out.settings, [2, -65536], 'the settings put back');
  t.equal(failed.logged.length, 0, 'nothing said before: the failure is the message');

  // The same 12 MiB, for a build of 200,000 events: less than they may need (two 4 MiB runs and SORT_BYTES_AN_EVENT each: 29.4 MiB), seen before the sort starts.
  const estimated = sortIn(work('estimated'), { TMPDIR: short }, 200_000);
  t.same([estimated.out.first, estimated.out.second], ['ok', 'ok'], 'less room than the events may need: the sorts succeed in memory');
  t.equal(estimated.out.r_k, r_k, 'the same index');
  t.equal(estimated.logged.length, 1, 'said once a build');
  const need = 8 + (200_000 * SORT_BYTES_AN_EVENT) / 2 ** 20;
  t.match(estimated.logged[0], { tempDir: short, msg: new RegExp(`temporary directory ${short} \\(from TMPDIR\\) has [0-9.]+ MiB free: the rebuild sorts its indexes in memory.*may need about ${need.toFixed(1)} MiB there for 200000 events`) });

  // Room enough, but no file can be made there (its inodes used up): seen before the sort starts.
  const noFiles = mount('no-files', 'size=64m,nr_inodes=4');
  for (let i = 0; i < 3; i++) writeFileSync(join(noFiles, `f${i}`), '');
  const noInodes = sortIn(work('no-inodes'), { SQLITE_TMPDIR: noFiles });
  t.same([noInodes.out.first, noInodes.out.second], ['ok', 'ok'], 'no free file: the sorts succeed in memory');
  t.equal(noInodes.out.r_k, r_k, 'the same index');
  t.match(noInodes.logged, [{ tempDir: noFiles, msg: new RegExp(`temporary directory ${noFiles} \\(from SQLITE_TMPDIR\\) has room for 0 more files .*: the rebuild sorts its indexes in memory`) }]);
  t.end();
});

t.test('a sort that fails for another reason than its temporary directory: thrown as it came, blamed only when the directory is at fault after', { skip: root ? false : 'needs root to mount a tmpfs' }, (t) => {
  // The build's file on a file system of its own, as a data disk apart from the temporary
  // directory is (the directory was blamed for any SQLITE_CANTOPEN or IOERR then). SQLite
  // cannot be made to fail on its own temporary files without breaking every directory it
  // falls back to (/var/tmp, /tmp: the machine's), so the failure is an ATTACH's
  // SQLITE_CANTOPEN, and what this shows is the rule that decides whom to blame: the directory
  // bulk-sorts.ts names (this process's SQLITE_TMPDIR, read at each sort) as it is after.
  const { dir, mount } = mounting(t);
  const data = mount('data', 'size=64m');
  const saved = process.env['SQLITE_TMPDIR'];
  t.teardown(() => (saved === undefined ? delete process.env['SQLITE_TMPDIR'] : (process.env['SQLITE_TMPDIR'] = saved)));
  const db = new Database(join(data, 'build.db'));
  t.teardown(() => db.close());
  sortOnThreads(db);
  /** A sort with its temporary directory `temp` that runs `during` and then fails (an ATTACH of a missing file): what it throws. */
  const failing = (temp: string, during: () => void): unknown => {
    process.env['SQLITE_TMPDIR'] = temp;
    try {
      sorting(db, () => {
        during();
        db.exec(`ATTACH '${join(dir, 'missing', 'x.db')}' AS x`);
      }, 'an attach');
      return 'ok';
    } catch (err) {
      const e = err as Error & { code?: string };
      return { name: e.name, code: e.code, message: e.message };
    }
  };
  const usable = mount('usable', 'size=64m');
  t.match(failing(usable, () => undefined), { name: 'SqliteError', code: 'SQLITE_CANTOPEN', message: /^unable to open database/ }, 'the directory usable after: the error as it came');
  // Its files used up during the sort (a tmpfs of 4 inodes: its root and three files): a file cannot be written there.
  const noFiles = mount('no-files', 'size=64m');
  const fill = (): void => {
    execFileSync('mount', ['-o', 'remount,nr_inodes=4', noFiles], { stdio: 'pipe' });
    for (let i = 0; i < 3; i++) writeFileSync(join(noFiles, `f${i}`), '');
  };
  t.match(failing(noFiles, fill), {
    name: 'SortFilesError',
    code: 'SQLITE_CANTOPEN',
    message: new RegExp(`^an attach failed sorting on files in SQLite's temporary directory ${noFiles} \\(from SQLITE_TMPDIR\\), where no file can be written now \\(ENOSPC: no space left on device`),
  }, 'no file can be written there after: blamed, saying why');
  // Made read-only during the sort: SQLite (and sqliteTempDir) passes over it to the next directory.
  const readOnly = mount('read-only', 'size=64m');
  t.match(failing(readOnly, () => execFileSync('mount', ['-o', 'remount,ro', readOnly], { stdio: 'pipe' })), {
    name: 'SortFilesError',
    code: 'SQLITE_CANTOPEN',
    message: new RegExp(`^an attach failed sorting on files in SQLite's temporary directory ${readOnly} \\(from SQLITE_TMPDIR\\), which SQLite can no longer use \\(it would now write to `),
  }, 'not writable after: blamed, naming where SQLite would write now');
  t.end();
});
