/**
 * A read worker's SQLite page cache filled in the background once it is ready
 * (read-worker.ts): the pages every holder question reads whatever the office, read in
 * small slices between questions. It is SQLite's page cache of the worker's own connection,
 * not a cache of answers: nothing is answered from it that the file does not say, and a
 * question reads the same rows whether the pages are there or not, only without going to
 * the file for them.
 *
 * Why: on this machine a page SQLite does not hold costs ~25–30 µs of CPU to read (a pread
 * system call in this VM, and the copy), more than a whole warm holder answer (~45 µs). Right
 * after a start the cache is empty, and a holder question on the 1,000,000-fact record read
 * ~4.6 pages from the file against ~1.4 once warm (bench/holder-cpu.ts): its first seconds
 * had a p99 twice the steady one. What every question reads, whatever the office: the nodes of
 * the two temporal indexes (terms_rt, attestations_rt: ~33 MiB there) and the indexes the
 * holder statement's plan uses (the entity views, the sessions' days: ~23 MiB), ~14,000
 * pages of the 32,768 the cache holds (read-worker.ts CACHE_KIB). The terms and appointments
 * rows (~250 MiB) do not fit and are left to the questions.
 *
 * Read in key order, a slice at a time (`step`), so that a question waits at most one slice.
 * The cache lasts until the file changes: SQLite drops a reader's whole cache at its next
 * transaction when another connection wrote (WAL), so on a record being written it is warm
 * only between writes; this is for the start, and a rebuild's swap (a new connection).
 */
import type { Database as Db, Statement } from 'better-sqlite3';

export interface CacheWarmBudget {
  /** At most this many pages (about: a slice is counted whole); 0: none. */
  readonly pages: number;
  /** Each slice stops once this much time has passed (ms). */
  readonly sliceMs: number;
}

/** ~14,000 pages (~56 MiB) on the 1,000,000-fact record: all of what it lists, with room. */
export const CACHE_WARM: CacheWarmBudget = { pages: 20_000, sliceMs: 1 };

/** One b-tree read in key order: `next` reads the next few of its entries (and their pages); false once at its end. */
interface Walk {
  readonly name: string;
  next(): boolean;
}

/** Entries read per step: ~10 pages of an index, ~8 of a node table. */
const INDEX_STEP = 400;
const NODE_STEP = 16;
/** Rows per page, to count pages: R*Tree nodes of rtree_i32 over three intervals (two to a page), index entries (~40). */
const PAGES_PER_STEP = { node: NODE_STEP / 2, index: INDEX_STEP / 40 };

/** A rowid table (an R*Tree's `_node` table) in rowid order. */
function rowidWalk(db: Db, table: string): Walk {
  const s = db.prepare(`SELECT max(rowid) FROM (SELECT rowid FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ${NODE_STEP})`).pluck();
  let after = -1;
  return {
    name: table,
    next(): boolean {
      const last = s.get(after) as number | null;
      if (last === null) return false;
      after = last;
      return true;
    },
  };
}

/** An index in its first column's order (only its own pages: the column is in it). */
function indexWalk(db: Db, index: string, table: string, column: string): Walk {
  const s: Statement = db.prepare(`SELECT "${column}" FROM "${table}" INDEXED BY "${index}" WHERE "${column}" > ? ORDER BY "${column}" LIMIT 1 OFFSET ${INDEX_STEP}`).pluck();
  let after: unknown = '';
  return {
    name: index,
    next(): boolean {
      const last = s.get(after);
      if (last === undefined || last === null) return false;
      after = last;
      return true;
    },
  };
}

/**
 * The walks over what `statements` read: their temporal indexes' nodes (`rtrees`, the R*Tree
 * tables) first, then each index their plans use that is not partial (a partial one could not
 * be walked without its table). An index or table that is not there is left out.
 */
export function walksFor(db: Db, statements: readonly string[], rtrees: readonly string[]): Walk[] {
  const walks: Walk[] = [];
  for (const r of rtrees) {
    try {
      walks.push(rowidWalk(db, `${r}_node`));
    } catch {
      // No such temporal index in this file.
    }
  }
  const indexes = new Set<string>();
  for (const sql of statements) {
    try {
      // Every named parameter bound (to NULL): the plan does not depend on their values.
      const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1], null]));
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
      for (const p of plan) for (const m of p.detail.matchAll(/USING (?:COVERING )?INDEX (\w+)/g)) indexes.add(m[1] as string);
    } catch {
      // A statement this file cannot prepare warms nothing.
    }
  }
  for (const index of indexes) {
    try {
      const table = db.prepare("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(index) as string | undefined;
      if (table === undefined) continue;
      const listed = (db.prepare(`PRAGMA index_list("${table}")`).all() as { name: string; partial: number }[]).find((i) => i.name === index);
      const column = (db.prepare(`PRAGMA index_info("${index}")`).all() as { name: string | null }[])[0]?.name;
      if (!listed || listed.partial || !column) continue;
      walks.push(indexWalk(db, index, table, column));
    } catch {
      // Left out.
    }
  }
  return walks;
}

export interface CacheWarmer {
  /** Reads for up to the budget's slice; false once done (every walk at its end, or the page budget spent, or an error). */
  step(): boolean;
  /** Pages read so far (about), and the time spent in steps (ms). */
  readonly pages: number;
  readonly ms: number;
  /** Why it stopped early, when it did. */
  readonly error: string | undefined;
}

export function cacheWarmer(walks: readonly Walk[], budget: CacheWarmBudget = CACHE_WARM): CacheWarmer {
  let at = 0;
  let pages = 0;
  let ms = 0;
  let error: string | undefined;
  return {
    get pages() {
      return pages;
    },
    get ms() {
      return ms;
    },
    get error() {
      return error;
    },
    step(): boolean {
      const t0 = performance.now();
      try {
        while (at < walks.length && pages < budget.pages) {
          const w = walks[at] as Walk;
          if (!w.next()) at += 1;
          else pages += w.name.endsWith('_node') ? PAGES_PER_STEP.node : PAGES_PER_STEP.index;
          if (performance.now() - t0 >= budget.sliceMs) break;
        }
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
        at = walks.length;
      }
      ms += performance.now() - t0;
      return at < walks.length && pages < budget.pages;
    },
  };
}
