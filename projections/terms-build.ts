/**
 * A bulk build's `terms` and `terms_rt` (offices/terms-index.ts) made beside the build, in a
 * file of their own, by a second connection: on a thread of its own when the build can start
 * one, so that the cut, the terms' three index builds and the R*Tree's packing (~5-7 s of one
 * core on the 1,000,000-fact record) run while the build's thread makes the other tables'
 * indexes, closes and temporal indexes, instead of after them. SQLite lets one connection at
 * a time write a file, hence the second file: the build's thread copies the terms' inputs into
 * it (the appointments and departures, once closed, as buildTerms copies them into temporary
 * tables), the terms' connection makes the table and its indexes there, and the build copies
 * them in at the end with SQLite's transfer (rows with their rowids, index entries as they
 * are: copyTermsFrom). The rows, their rowids and the index entries are the ones buildTerms
 * makes in the build's file: the same statements on the same rows in the same order.
 */
import { readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import type { Worker } from 'node:worker_threads';
import { setPageSize, unjournaled } from './db.js';
import { copyTermsFrom, copyTermsInputs, cutTerms, indexTerms } from './offices/terms-index.js';
import { ensurePrivateFile } from '../src/store/private-files.js';
import { startWorker } from '../src/store/worker-thread.js';

export interface TermsThreadInit {
  /** The terms' file, holding their inputs (copyTermsInputs). */
  readonly path: string;
  /** A replay's terms (its memory stays bounded): their index builds sort in temporary files, not in memory. */
  readonly tempOnDisk?: boolean;
  /** A replay's fold (read-out.ts): only the indexes its read-out reads, no `terms_rt`. */
  readonly readOutOnly?: boolean;
}

export interface TermsPhase {
  readonly phase: string;
  readonly ms: number;
  /** The CPU of the thread that ran it (Linux), else its wall time. */
  readonly cpuMs: number;
}

/** A `sqlite_stat1` row of `terms` (its indexes'), as ANALYZE wrote it in the terms' file. */
export type TermsStat = readonly [idx: string | null, stat: string];

/** What the terms' file holds once finished: each step's time, and the statistics of `terms` (analyzeWith). */
export interface TermsMade {
  readonly phases: TermsPhase[];
  readonly stats: TermsStat[];
}

export type TermsThreadReply = ({ kind: 'done' } & TermsMade) | { kind: 'failed'; message: string; code: unknown };

/** The schema name the terms' file is attached as on the build's connection. */
const ATTACHED = 'terms_build';

/** The terms' file beside a build's file. */
export const termsFileOf = (path: string): string => `${path}.terms`;

/** This thread's CPU so far, ms (Linux: its schedstat); null elsewhere. */
export function threadCpuMs(): number | null {
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

/**
 * A replay's terms (`tempOnDisk`: its memory stays bounded), on their thread or inline: appointments
 * read 2,000 at a time for the cut instead of 20,000 (a chunk's rows, ~1 MB, die in the young
 * generation instead of being promoted: with 20,000 the cut left ~70 MB of garbage in the old space on
 * the 1,000,000-fact record), a 4 MiB page cache instead of 16, and on a thread a 4 MB young
 * generation (session 41: the fold's peak 236 -> 210 MB with the terms on their thread so bounded).
 */
export const BOUNDED_TERMS = { chunk: 2000, cacheKiB: 4096, youngMb: 4 } as const;

/** Opens a terms' file as a bulk build opens its own: no journal, no fsync (a crash leaves a file nobody uses). */
function openTermsFile(path: string, tempOnDisk: boolean): Db {
  const db = new Database(path);
  try {
    unjournaled(db);
    db.pragma(`cache_size = -${tempOnDisk ? BOUNDED_TERMS.cacheKiB : 16384}`);
    // In memory, the sorts of the terms' indexes grow with the record (~60 MB at 1,000,000 events).
    db.pragma(tempOnDisk ? 'temp_store = FILE' : 'temp_store = MEMORY');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * The terms' file finished (on the terms' thread, or inline): cut, indexed, its R*Tree packed,
 * and `terms` analyzed there (ANALYZE reads the same rows and index entries the build's file
 * gets from copyTermsFrom, so it writes the same `sqlite_stat1` rows: analyzeWith puts them in
 * the build's file in their place). Returns each step's time and those rows.
 */
export function finishTermsFile(path: string, tempOnDisk = false, readOutOnly = false): TermsMade {
  const db = openTermsFile(path, tempOnDisk);
  const phases: TermsPhase[] = [];
  let stats: TermsStat[] = [];
  try {
    let mark = performance.now();
    let cpu = threadCpuMs();
    const phase = (name: string): void => {
      const now = performance.now();
      const c = threadCpuMs();
      phases.push({ phase: name, ms: Math.round(now - mark), cpuMs: Math.round(c !== null && cpu !== null ? c - cpu : now - mark) });
      mark = now;
      cpu = c;
    };
    cutTerms(db, 'main', tempOnDisk ? BOUNDED_TERMS.chunk : undefined, phase);
    indexTerms(db, phase, readOutOnly);
    db.exec('ANALYZE main.terms');
    stats = db.prepare("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'terms' ORDER BY rowid").raw().all() as [string | null, string][];
    phase('terms: statistics (ANALYZE)');
  } finally {
    db.close();
  }
  return { phases, stats };
}

/** The tables a whole-file ANALYZE of the main schema analyzes, in its order: its loop and `PRAGMA table_list` both walk the schema's table hash; tables named sqlite_… and virtual tables are skipped, the R*Trees' shadow tables are ordinary tables to it. */
function analyzedTables(db: Db): string[] {
  return (db.prepare("SELECT name, type FROM pragma_table_list WHERE schema = 'main'").raw().all() as [string, string][])
    .filter(([name, type]) => (type === 'table' || type === 'shadow') && !name.startsWith('sqlite_'))
    .map(([name]) => name);
}

function analyze(db: Db, name: string): void {
  db.exec(`ANALYZE main."${name.replaceAll('"', '""')}"`);
}

/**
 * ANALYZE of every table of the build's file but `terms` (not copied in yet), each on its own,
 * while the terms' thread may still be running: a table's `sqlite_stat1` rows depend on its own
 * rows and index entries alone, which are final by then. analyzeWith then analyzes the tables
 * copied in since (`terms_rt`'s shadow tables) and puts every row in the whole-file order.
 * Returns the tables analyzed.
 */
export function analyzeBefore(db: Db): ReadonlySet<string> {
  const done = new Set<string>();
  for (const name of analyzedTables(db)) {
    if (name === 'terms') continue;
    analyze(db, name);
    done.add(name);
  }
  return done;
}

/**
 * ANALYZE of the build's file (main schema), table by table in the order a whole-file ANALYZE
 * takes them (analyzedTables), so each `sqlite_stat1` row has the rowid the whole-file ANALYZE
 * gives it; the rows of `terms` are `termsStats` as the terms' file's ANALYZE wrote them
 * (finishTermsFile), not read again here. With `before` (the tables analyzeBefore analyzed, before
 * the terms were copied in), only the others are analyzed now, then every table's rows are
 * written again in that order (the table emptied first: its rowids from 1, as ANALYZE's own).
 */
export function analyzeWith(db: Db, termsStats: readonly TermsStat[], before?: ReadonlySet<string>): void {
  const tables = analyzedTables(db);
  if (before !== undefined) {
    for (const name of tables) if (name !== 'terms' && !before.has(name)) analyze(db, name);
    const rows = new Map<string, [string, string | null, string][]>();
    for (const r of db.prepare('SELECT tbl, idx, stat FROM main.sqlite_stat1 ORDER BY rowid').raw().all() as [string, string | null, string][]) {
      const list = rows.get(r[0]);
      if (list) list.push(r);
      else rows.set(r[0], [r]);
    }
    db.exec('DELETE FROM main.sqlite_stat1');
    const insert = db.prepare('INSERT INTO main.sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)');
    for (const name of tables) {
      if (name === 'terms') for (const [idx, stat] of termsStats) insert.run('terms', idx, stat);
      else for (const r of rows.get(name) ?? []) insert.run(...r);
    }
    return;
  }
  const put = (): void => {
    // Before any other table's ANALYZE made sqlite_stat1 (terms first in the hash's order): analyzed here, the same rows.
    if (db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'").pluck().get() === 0) {
      db.exec('ANALYZE main.terms');
      return;
    }
    const insert = db.prepare('INSERT INTO main.sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)');
    for (const [idx, stat] of termsStats) insert.run('terms', idx, stat);
  };
  for (const name of tables) {
    if (name === 'terms') put();
    else analyze(db, name);
  }
}

/** The terms being made beside a build: `done` waits for them and copies them into the build's file; `abandon` stops and removes them. */
export interface TermsBuild {
  /** Waits for the terms (made now when not on a thread of their own); their steps' times and statistics. */
  made(): Promise<TermsMade>;
  /** Copies the terms made into the build's file and removes theirs. */
  copyIn(): void;
  abandon(): Promise<void>;
}

/**
 * Starts the terms of the build on `db` (its appointments and departures final, `facts`
 * written): their inputs copied into a file beside it (on this thread), then cut and indexed
 * there on a thread of its own (`threaded`), or when `done` is called.
 */
export function startTerms(db: Db, threaded: boolean, phase: (name: string) => void, tempOnDisk = false, readOutOnly = false): TermsBuild {
  const path = termsFileOf(db.name);
  const remove = (): void => {
    for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  };
  remove();
  // 0600 before SQLite makes it: it holds copies of the read models' rows.
  ensurePrivateFile(path);
  const attach = (): void => {
    db.prepare(`ATTACH DATABASE ? AS ${ATTACHED}`).run(path);
    // The first attach makes the file: its page size the read models' (a no-op on the second).
    setPageSize(db, ATTACHED);
    unjournaled(db, ATTACHED);
  };
  attach();
  try {
    copyTermsInputs(db, ATTACHED, ATTACHED, phase);
  } finally {
    db.exec(`DETACH DATABASE ${ATTACHED}`);
  }
  let worker: Worker | null = null;
  let finished: Promise<TermsMade> | null = null;
  if (threaded) {
    const w = startWorker(new URL(`./terms-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url), { workerData: { path, tempOnDisk, readOutOnly } satisfies TermsThreadInit, ...(tempOnDisk ? { resourceLimits: { maxYoungGenerationSizeMb: BOUNDED_TERMS.youngMb } } : {}) }, 'rebuild terms');
    worker = w;
    finished = new Promise<TermsMade>((resolve, reject) => {
      w.on('message', (m: TermsThreadReply) => {
        if (m.kind === 'done') resolve({ phases: m.phases, stats: m.stats });
        else reject(Object.assign(new Error(`the terms could not be built in ${path}: ${m.message}`), m.code === null ? {} : { code: m.code }));
      });
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`the rebuild's terms thread stopped (exit code ${code}) before the terms were built`)));
    });
    // Seen by done(); a failure before it is awaited is not an unhandled rejection.
    finished.catch(() => undefined);
  }
  return {
    async made() {
      const made = finished === null ? finishTermsFile(path, tempOnDisk, readOutOnly) : await finished;
      if (worker !== null) await worker.terminate();
      worker = null;
      return made;
    },
    copyIn() {
      attach();
      try {
        copyTermsFrom(db, ATTACHED, readOutOnly);
      } finally {
        db.exec(`DETACH DATABASE ${ATTACHED}`);
      }
      remove();
    },
    async abandon() {
      if (worker !== null) await worker.terminate();
      worker = null;
      remove();
    },
  };
}
