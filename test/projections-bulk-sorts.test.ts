/**
 * A bulk build's sorts on SQLite's sorter threads (projections/bulk-sorts.ts): around them the
 * build's connection has its temporary files on files and a small cache (SQLite starts no
 * sorter thread with temp_store = MEMORY), put back afterwards, even when a sort fails; other
 * connections are left alone; and an index sorted in many runs that way holds what one sorted
 * in memory holds. Its temporary directory as SQLite picks it, and on a real full disk (a
 * small tmpfs; root only): with no room for a run the sorts stay in memory, said once in the
 * log; one that fills up mid-sort fails naming the directory and what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { sortOnThreads, sorting, sqliteTempDir } from '../projections/bulk-sorts.js';
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
const sortIn = (dir: string, env: Record<string, string>): { out: SortChild; logged: Array<{ msg: string; tempDir: unknown }> } => {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SQLITE_TMPDIR' && k !== 'TMPDIR'));
  const r = spawnSync(process.execPath, nodeArgs(CHILD, dir), { env: { ...inherited, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`sort child exited ${r.status}: ${r.stderr}`);
  const logged = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; tempDir: unknown });
  return { out: JSON.parse(r.stdout) as SortChild, logged };
};

const root = process.getuid?.() === 0;
t.test('on a full temporary directory: sorts in memory said once, or a failure that names the directory', { skip: root ? false : 'needs root to mount a tmpfs' }, (t) => {
  // Not under t.testdir(): tap removes that before teardowns run, the mounts still there.
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
  t.end();
});
