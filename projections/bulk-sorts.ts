/**
 * A bulk build's sorts (CREATE INDEX, the sorted copies, ORDER BY into a table) on SQLite's
 * sorter threads. SQLite sorts with helper threads (`PRAGMA threads`) only when its temporary
 * files are files (with `temp_store = MEMORY` it never starts one: vdbesort.c) and only once a
 * sort outgrows one in-memory run, whose size is the connection's page cache (`cache_size`).
 * So around the index builds the build sets `temp_store = FILE` and a small cache: the main
 * thread fills a run while a helper sorts and writes the one before, then they merge. On the
 * 1,000,000-fact record's four largest indexes: 4.1-4.7 s of the writer's CPU with the sorts in
 * memory, 1.9-2.4 s with 4 MiB runs on files, the process's CPU no higher (3.4-4.1 s against
 * 4.2-4.8, load 13-22). The runs' files are SQLite's unnamed temporary files (deleted when
 * closed; most never leave the OS's file cache). Index contents are the same either way.
 *
 * Those files go to SQLite's temporary directory (sqliteTempDir), not the data dir. One with
 * no room for a run (full, or none SQLite can use) is seen before a sort starts: that step
 * sorts in memory, as before, and the log says so once a build. One that fills up during a
 * sort cannot be left for memory halfway (the build's file has no journal to roll a failed
 * statement back with): the build fails with a SortFilesError naming the directory and what
 * to do, and the build's caller removes its file (the read models in use are untouched).
 */
import { accessSync, constants, statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';

/** The page cache while sorting: each in-memory run of a sort is this large (KiB). */
const SORT_RUN_KIB = 4096;

/**
 * Free space under which a sort stays in memory: two runs (one being written by the helper
 * while the next fills). Not the whole sort's need, which is not known before it runs (up
 * to about the size of the table sorted: on the 1,000,000-fact record, whose file is 1.6 GB,
 * the temporary files took 81.5 MiB at their peak, a tmpfs's use polled every 20 ms).
 */
const MIN_FREE_BYTES = 2 * SORT_RUN_KIB * 1024;

/** Connections of bulk builds whose sorts run on helper threads (buildFresh sets it; not a replay, whose temporary files stay on disk anyway), and the log each says a fallback in. */
const aside = new WeakMap<Db, { log: Logger | null; warned: boolean }>();

/** The build on `db` sorts on SQLite's helper threads from now on (`threads` must be set on it, > 0); a fallback to memory is logged on `log`. */
export function sortOnThreads(db: Db, log: Logger | null = null): void {
  aside.set(db, { log, warned: false });
}

/** Where SQLite's temporary files go, and what chose it. */
export interface TempDir {
  /** The directory, as SQLite names it (`.`: the process's working directory). */
  readonly dir: string;
  /** `SQLITE_TMPDIR`, `TMPDIR`, or `default` (one of /var/tmp, /usr/tmp, /tmp, .). */
  readonly from: 'SQLITE_TMPDIR' | 'TMPDIR' | 'default';
}

/**
 * The directory SQLite's unix VFS puts temporary files in (os_unix.c, unixTempFileDir, of the
 * SQLite better-sqlite3 bundles): the first of SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp
 * and `.` that exists, is a directory and passes access(W_OK | X_OK); one that does not is
 * passed over without a word. SQLite reads the two variables once, when it starts in the
 * process: a change to the environment afterwards is not seen (PRAGMA temp_store_directory is
 * compiled out of this SQLite). Null when none qualifies: SQLite's sorts on files then fail
 * (SQLITE_IOERR_GETTEMPPATH).
 */
export function sqliteTempDir(env: NodeJS.ProcessEnv = process.env): TempDir | null {
  const candidates: Array<[string | undefined, TempDir['from']]> = [
    [env['SQLITE_TMPDIR'], 'SQLITE_TMPDIR'],
    [env['TMPDIR'], 'TMPDIR'],
    ['/var/tmp', 'default'],
    ['/usr/tmp', 'default'],
    ['/tmp', 'default'],
    ['.', 'default'],
  ];
  for (const [dir, from] of candidates) {
    if (dir === undefined || dir === '') continue;
    try {
      if (!statSync(dir).isDirectory()) continue;
      accessSync(dir, constants.W_OK | constants.X_OK);
      return { dir, from };
    } catch {
      continue;
    }
  }
  return null;
}

/** Bytes free in `dir` for this process (statfs), or null when it cannot be asked. */
function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const named = (t: TempDir): string => `${t.dir === '.' ? `. (the working directory, ${resolve('.')})` : t.dir} (${t.from === 'default' ? 'SQLite\'s default: neither SQLITE_TMPDIR nor TMPDIR names a writable directory' : `from ${t.from}`})`;

/**
 * A sort on files failed on its storage (most often its temporary directory filling up): the
 * message names the directory and what to do. Its `code` is SQLite's (SQLITE_FULL, ...), so
 * it counts as a storage fault wherever the build's failures are sorted.
 */
export class SortFilesError extends Error {
  readonly code: string;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'SortFilesError';
    this.code = String((cause as { code?: unknown }).code);
  }
}

/**
 * Whether a sort's storage fault is its temporary directory's rather than the build file's disk:
 * not when both are on one file system (the build's own message, to free space on that disk,
 * fits), nor when the build file's disk is the one full (less than a run free as the sort
 * failed: SQLite has already closed the sort's files, the build's file is still there).
 */
function tempDirsFault(db: Db, tempDir: string): boolean {
  try {
    const dataDir = dirname(db.name);
    if (statSync(dataDir).dev === statSync(tempDir).dev) return false;
    const room = freeBytes(dataDir);
    return room === null || room >= SORT_RUN_KIB * 1024;
  } catch {
    return true;
  }
}

/** SQLite's I/O codes a sort on files can end in. */
const SORT_FAULTS = /^SQLITE_(FULL|IOERR|CANTOPEN)/;

/**
 * Runs `f` (statements that sort: index builds, sorted copies) with runs on files and a small
 * cache when `db` was given to sortOnThreads, then puts its temp_store and cache_size back.
 * No temporary table may be open across it: changing temp_store drops them. `what` names the
 * step in a failure's message.
 */
export function sorting(db: Db, f: () => void, what = 'an index build'): void {
  const state = aside.get(db);
  if (state === undefined) return f();
  const temp = sqliteTempDir();
  const free = temp === null ? null : freeBytes(temp.dir);
  if (temp === null || (free !== null && free < MIN_FREE_BYTES)) {
    // Seen before the sort starts: this step sorts in memory (no helper thread), the build goes on.
    if (!state.warned) {
      state.warned = true;
      const why = temp === null ? 'SQLite finds no writable temporary directory (SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp, .)' : `SQLite's temporary directory ${named(temp)} has ${mib(free ?? 0)} free`;
      state.log?.warn({ tempDir: temp?.dir ?? null, freeBytes: free }, `${why}: the rebuild sorts its indexes in memory instead, on one thread (slower, more memory). Free space there, or set SQLITE_TMPDIR to a directory with room (up to about the largest table's size: 81.5 MiB on the 1,000,000-fact record) for the process as it starts`);
    }
    return f();
  }
  const store = db.pragma('temp_store', { simple: true }) as number;
  const cache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma('temp_store = FILE');
  db.pragma(`cache_size = -${SORT_RUN_KIB}`);
  try {
    f();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !SORT_FAULTS.test(code) || !tempDirsFault(db, temp.dir)) throw err;
    const now = freeBytes(temp.dir);
    throw new SortFilesError(
      `${what} failed sorting on files in SQLite's temporary directory ${named(temp)}${now === null ? '' : `, ${mib(now)} free there once its files were gone`}: ${(err as Error).message}. ` +
        'Free space there, or set SQLITE_TMPDIR to a directory with room (a sort needs up to about the size of the table it sorts; the temporary files peaked at 81.5 MiB on the 1,000,000-fact record); SQLite reads it as a process starts, so set it for the service and restart it, or for `annals rebuild`; then run the rebuild again',
      err,
    );
  } finally {
    db.pragma(`cache_size = ${cache}`);
    db.pragma(`temp_store = ${store}`);
  }
}
