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
 */
import type { Database as Db } from 'better-sqlite3';

/** The page cache while sorting: each in-memory run of a sort is this large (KiB). */
const SORT_RUN_KIB = 4096;

/** Connections of bulk builds whose sorts run on helper threads (buildFresh sets it; not a replay, whose temporary files stay on disk anyway). */
const aside = new WeakSet<Db>();

/** The build on `db` sorts on SQLite's helper threads from now on (`threads` must be set on it, > 0). */
export function sortOnThreads(db: Db): void {
  aside.add(db);
}

/**
 * Runs `f` (statements that sort: index builds, sorted copies) with runs on files and a small
 * cache when `db` was given to sortOnThreads, then puts its temp_store and cache_size back.
 * No temporary table may be open across it: changing temp_store drops them.
 */
export function sorting(db: Db, f: () => void): void {
  if (!aside.has(db)) return f();
  const store = db.pragma('temp_store', { simple: true }) as number;
  const cache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma('temp_store = FILE');
  db.pragma(`cache_size = -${SORT_RUN_KIB}`);
  try {
    f();
  } finally {
    db.pragma(`cache_size = ${cache}`);
    db.pragma(`temp_store = ${store}`);
  }
}
