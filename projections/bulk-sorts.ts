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
 * less room than the build's sorts may need (an estimate from the log's event count: see
 * SORT_BYTES_AN_EVENT), too few free files, or none SQLite can use, is seen before a sort
 * starts: that step sorts in memory, as before, and the log says so once a build. One that
 * fills up during a sort all the same cannot be left for memory halfway (the build's file has
 * no journal to roll a failed statement back with): the build fails. It fails with a
 * SortFilesError naming the directory and what to do only when the directory is found at
 * fault once the sort has failed (tempDirsFault); any other failure is thrown as it came. The
 * build's caller removes its file either way (the read models in use are untouched).
 */
import { accessSync, constants, statSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';

/** The page cache while sorting: each in-memory run of a sort is this large (KiB). */
const SORT_RUN_KIB = 4096;

/** The least free space a sort on files starts with: two runs (one being written by the helper while the next fills). */
const MIN_FREE_BYTES = 2 * SORT_RUN_KIB * 1024;

/**
 * What a build's sorts may need in the temporary directory beyond two runs, an event of the
 * log: the whole need is not known before they run (up to about the size of the largest table
 * sorted). Their peak (a tmpfs's use polled every 20 ms) was 24.3 MiB on a 200,000-fact record
 * and 81.5 MiB on the 1,000,000-fact record (a 1.6 GB file); two runs and 112 bytes an event
 * are 29.4 and 114.8 MiB. An estimate, not a bound: a directory with more room than this that
 * still fills up fails the build, with a message that says so.
 */
export const SORT_BYTES_AN_EVENT = 112;

/**
 * The fewest free files (inodes) a sort on files starts with, where the file system counts them
 * (a tmpfs, ext4; btrfs says 0 of 0 and is not judged): SQLite's sorter opens a file for each
 * helper thread's runs and for the merges.
 */
const MIN_FREE_FILES = 16;

/** Connections of bulk builds whose sorts run on helper threads (buildFresh sets it; not a replay, whose temporary files stay on disk anyway), the log each says a fallback in, and the room its sorts may need. */
const aside = new WeakMap<Db, { log: Logger | null; warned: boolean; events: number; need: number }>();

/**
 * The build on `db` sorts on SQLite's helper threads from now on (`threads` must be set on it,
 * > 0); a fallback to memory is logged on `log`. `events`: how many events the build applied
 * (default 0): a sort runs on files only with two runs and SORT_BYTES_AN_EVENT for each free
 * in the temporary directory.
 */
export function sortOnThreads(db: Db, log: Logger | null = null, events = 0): void {
  aside.set(db, { log, warned: false, events, need: MIN_FREE_BYTES + events * SORT_BYTES_AN_EVENT });
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

/** Bytes and files (inodes) free in `dir` for this process (statfs; files Infinity where the file system does not count them), or null when it cannot be asked. */
function roomIn(dir: string): { bytes: number; files: number } | null {
  try {
    const s = statfsSync(dir);
    return { bytes: s.bavail * s.bsize, files: s.files === 0 ? Infinity : s.ffree };
  } catch {
    return null;
  }
}
const freeBytes = (dir: string): number | null => roomIn(dir)?.bytes ?? null;

/** Whether a file can be made, written and removed in `dir` now: null if so, else why not (the OS's error). */
function cannotWriteIn(dir: string): string | null {
  const probe = join(dir, `.annals-sort-probe-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(probe, Buffer.alloc(4096), { flag: 'wx' });
  } catch (err) {
    return (err as Error).message;
  }
  unlinkSync(probe);
  return null;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const named = (t: TempDir): string => `${t.dir === '.' ? `. (the working directory, ${resolve('.')})` : t.dir} (${t.from === 'default' ? 'SQLite\'s default: neither SQLITE_TMPDIR nor TMPDIR names a writable directory' : `from ${t.from}`})`;

/**
 * A sort on files failed on its storage, its temporary directory found at fault (tempDirsFault):
 * the message names the directory, what was found there, and what to do. Its `code` is SQLite's (SQLITE_FULL, ...), so
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
 * Whether a sort's storage fault (`code`) is its temporary directory's, looked at once the sort
 * failed (SQLite has closed and removed the sort's files by then; the build's file is still
 * there), and what was found: null when it is not, or cannot be told (the error is then thrown
 * as it came). SQLITE_FULL: only with the build's file on another file system (on one, the
 * build's own message, to free space on that disk, fits) that still has a run's room (else
 * that disk is the full one); the directory's room now, its files gone, is said. Any other
 * code (SQLITE_IOERR_*, SQLITE_CANTOPEN: the build's file, another file, the disk itself may
 * have failed) only when the directory is at fault now: SQLite would no longer use it (gone,
 * not writable), or a file cannot be written there. A directory that ran out of files only
 * while the sort held them cannot be told from another fault afterwards; the check before
 * the sort (MIN_FREE_FILES) keeps that rare.
 */
function tempDirsFault(db: Db, temp: TempDir, code: string): string | null {
  if (code.startsWith('SQLITE_FULL')) {
    try {
      const dataDir = dirname(db.name);
      if (statSync(dataDir).dev === statSync(temp.dir).dev) return null;
      const room = freeBytes(dataDir);
      if (room !== null && room < SORT_RUN_KIB * 1024) return null;
    } catch {
      // The directory (or the data dir) gone since: SQLite's files were there.
    }
    const now = freeBytes(temp.dir);
    return now === null ? '' : `, ${mib(now)} free there once its files were gone`;
  }
  const now = sqliteTempDir();
  if (now === null) return ', which SQLite can no longer use, nor any other (SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp, .)';
  if (now.dir !== temp.dir) return `, which SQLite can no longer use (it would now write to ${named(now)})`;
  const why = cannotWriteIn(temp.dir);
  return why === null ? null : `, where no file can be written now (${why})`;
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
  const room = temp === null ? null : roomIn(temp.dir);
  const free = room?.bytes ?? null;
  const fewFiles = room !== null && room.files < MIN_FREE_FILES;
  if (temp === null || (free !== null && free < state.need) || fewFiles) {
    // Seen before the sort starts: this step sorts in memory (no helper thread), the build goes on.
    if (!state.warned) {
      state.warned = true;
      const why =
        temp === null
          ? 'SQLite finds no writable temporary directory (SQLITE_TMPDIR, TMPDIR, /var/tmp, /usr/tmp, /tmp, .)'
          : fewFiles
            ? `SQLite's temporary directory ${named(temp)} has room for ${room.files} more files (its file system's inodes)`
            : `SQLite's temporary directory ${named(temp)} has ${mib(free ?? 0)} free`;
      state.log?.warn(
        { tempDir: temp?.dir ?? null, freeBytes: free, needBytes: state.need },
        `${why}: the rebuild sorts its indexes in memory instead, on one thread (slower, more memory); its sorts on files may need about ${mib(state.need)} there for ${state.events} events. Free space there, or set SQLITE_TMPDIR to a directory with room (8 MiB and about ${SORT_BYTES_AN_EVENT} bytes an event of the log; the sorts peaked at 81.5 MiB on the 1,000,000-fact record) for the process as it starts`,
      );
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
    const found = typeof code === 'string' && SORT_FAULTS.test(code) ? tempDirsFault(db, temp, code) : null;
    if (found === null) throw err;
    throw new SortFilesError(
      `${what} failed sorting on files in SQLite's temporary directory ${named(temp)}${found}: ${(err as Error).message}. ` +
        'Free space there, or set SQLITE_TMPDIR to a directory with room (a sort needs up to about the size of the table it sorts; the temporary files peaked at 81.5 MiB on the 1,000,000-fact record); SQLite reads it as a process starts, so set it for the service and restart it, or for `annals rebuild`; then run the rebuild again',
      err,
    );
  } finally {
    db.pragma(`cache_size = ${cache}`);
    db.pragma(`temp_store = ${store}`);
  }
}
