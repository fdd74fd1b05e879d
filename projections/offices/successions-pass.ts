/**
 * Every office's whole succession at one knownAt (holder-json.ts SUCCESSION_SQL's text, office
 * by office) made in one pass over the tables in their files' order, kept in a table of the
 * file (`successions`: one row an office, its items' JSON text comma-joined), which `annals
 * replay`'s read-out then reads an office at a time (src/cli/state.ts).
 *
 * Why: SUCCESSION_SQL, one statement an office, seeks every item's rows (the term, its
 * appointment, the person's and the session's entity rows, the session) in a file larger than
 * the read-out's small page cache: ~80 seeks an office in an 800 MB file, ~19 s of CPU over the
 * 10,000 offices of the 1,000,000-fact record, most of it pages read from the OS (session 40's
 * profile). Here each join reads its table in the order of its key: the rows joined are first
 * sorted by that key (a temporary table in that order), so consecutive lookups fall on the same
 * or the next pages, each page read once; SQLite's sorter spills to temporary files, so memory
 * holds a sorter's buffer (about the connection's page cache), never the record.
 *
 * The text is SUCCESSION_SQL's, byte for byte (each item's JSON written by the same
 * expressions, split where a join comes later: the person's view last), which
 * test/replay-read-out-fold.test.ts checks office by office.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { KNOWN } from '../query-context.js';
import { CORRECTED, quoted } from '../json-sql.js';

/** `{"id":…,"key":…,"name":…}` of `id` from its row `v` known at k (LEFT JOINed), as holder-json.ts VIEW_OF writes it. */
const VIEW_OF = (id: string, v: string): string =>
  `CASE WHEN ${v}.id IS NULL THEN '{"id":' || ${quoted(id)} || ',"key":null,"name":null}' ELSE '{"id":' || ${quoted(`${v}.id`)} || ',"key":' || ${quoted(`${v}.key`)} || ',"name":' || ${quoted(`${v}.name`)} || '}' END`;

/** The table the read-out reads: an office's items' JSON text, comma-joined in term order (no row: no item). */
export const SUCCESSIONS_TABLE = 'successions';

/**
 * The steps, in order; `temp.*` are the connection's temporary tables (files: temp_store
 * FILE), each written in the order the next step's join reads (its ORDER BY).
 */
const steps = (f: string): readonly string[] => [
  // The terms known at k, in their appointments' file order (version: the appointment row's rowid).
  `CREATE TEMP TABLE s_terms AS SELECT version, office, person, appointment, to_raw, s0, s1 FROM ${f}.terms WHERE ${KNOWN()} ORDER BY version`,
  // Each term's JSON after the person's view (holder-json.ts SUCCESSION_APPOINTED), its appointment read in file order.
  `CREATE TEMP TABLE s_items AS SELECT t.person, t.office, t.s0, t.s1, t.appointment AS fact_id,
      ',"term":{"from":' || ${quoted('a.from_raw')} || ',"to":' || ${quoted('t.to_raw')} || '},"acting":' || CASE a.acting WHEN 1 THEN 'true' ELSE 'false' END
      || ',"factId":' || ${quoted('t.appointment')} || ',"basis":"appointed","source":' || coalesce(a.source, 'null') || ${CORRECTED('a')} || ',"certainty":"certain"}' AS tail
    FROM temp.s_terms t CROSS JOIN ${f}.appointments a ON a.rowid = t.version`,
  `DROP TABLE temp.s_terms`,
  // The attestations known at k, in their sessions' order.
  `CREATE TEMP TABLE s_att AS SELECT session, office, person, fact_id, capacity, source, corrected_by FROM ${f}.attestations WHERE ${KNOWN()} ORDER BY session`,
  // Each one's session (its days and its view) read in file order; in (office, person) order for the next step.
  `CREATE TEMP TABLE s_att2 AS SELECT a.office, a.person, a.fact_id, s.s0, s.s1, s.e1,
      ',"term":{"from":' || ${quoted('s.from_raw')} || ',"to":' || ${quoted('coalesce(s.to_raw, s.from_raw)')} || '},"acting":false,"factId":' || ${quoted('a.fact_id')}
      || ',"basis":"attested","source":' || coalesce(a.source, 'null') || ',"session":' || ${VIEW_OF('a.session', 'v')} || ',"capacity":' || ${quoted('a.capacity')}
      || ${CORRECTED('a')} || ',"certainty":"certain"}' AS tail
    FROM temp.s_att a CROSS JOIN ${f}.sessions s ON s.id = a.session AND ${KNOWN('s')} LEFT JOIN ${f}.entities v ON v.id = a.session AND ${KNOWN('v')}
    ORDER BY a.office, a.person`,
  `DROP TABLE temp.s_att`,
  // Those an appointment of the same person certainly covers left out (SUCCESSION_ATTESTED), the terms read in (office, person) order.
  `INSERT INTO temp.s_items SELECT a.person, a.office, a.s0, a.s1, a.fact_id, a.tail FROM temp.s_att2 a
    WHERE NOT EXISTS (SELECT 1 FROM ${f}.terms c WHERE c.office = a.office AND c.person = a.person AND ${KNOWN('c')} AND c.s1 <= a.s0 AND c.e0 >= a.e1)`,
  `DROP TABLE temp.s_att2`,
  // Each person's view once (the people the items name, ~20,000 on the 1,000,000-fact record), by id.
  `CREATE TEMP TABLE s_people AS SELECT i.person AS id, ${VIEW_OF('i.person', 'p')} AS v
    FROM (SELECT DISTINCT person FROM temp.s_items) i LEFT JOIN ${f}.entities p ON p.id = i.person AND ${KNOWN('p')}`,
  `CREATE INDEX temp.s_people_id ON s_people (id)`,
  // An office's items in term order, the person's view put in front, comma-joined (SUCCESSION_SQL's group_concat).
  `CREATE TABLE main.${SUCCESSIONS_TABLE} (office TEXT PRIMARY KEY, j TEXT NOT NULL) WITHOUT ROWID`,
  `INSERT INTO main.${SUCCESSIONS_TABLE} SELECT i.office, group_concat('{"person":' || pp.v || i.tail, ',' ORDER BY i.s0, i.s1, i.fact_id)
    FROM temp.s_items i CROSS JOIN temp.s_people pp ON pp.id IS i.person GROUP BY i.office`,
  `DROP TABLE temp.s_items`,
  `DROP TABLE temp.s_people`,
];

/**
 * The pass's file's pages, bytes: its own file (the table of ~22 KB texts an office on the
 * 1,000,000-fact record, each in one page's overflow chain: the read-out reads an office's text in
 * one read, not 6 of 4 KiB) and, set before the connection makes them, its temporary files (the
 * temporary tables, scanned whole, and the group_concat's ordered table of an office's items, which
 * fits one page). Session 42 (s42-rp, with the caches below and the people's views made once): the
 * pass's CPU about half the base's on the 1,000,000-fact record, reading back every office's text
 * ~0.4 of it (bench/RESULTS.md); at 4 KiB pages most of the pass's CPU was the syscalls of its pages.
 */
export const PASS_PAGE_SIZE = 65_536;
/** The pass's page cache of its own file, KiB (16 pages). */
export const PASS_CACHE_KIB = 1024;
/** Its page cache of the fold's file (4 KiB pages, read in their order), KiB. */
export const PASS_FOLD_CACHE_KIB = 512;
/**
 * Its temporary tables' page cache, KiB: the people's views (~1.5 MB on the 1,000,000-fact record)
 * stay cached while every item looks its person up; with 512 KiB (8 pages of 64 KiB) the temporary
 * tables were not spilled to their files but held in memory (RSS +240 MB, seen in session 42).
 */
export const PASS_TEMP_CACHE_KIB = 4096;

/**
 * Makes every office's succession at knownAt `k` into a new file at `path` (no journal, no sync: a
 * temporary file, removed with the fold's), the fold's file at `fold` attached (only read):
 * `onStep` hears each step's milliseconds.
 */
export function makeSuccessions(path: string, fold: string, k: string, onStep?: (i: number, ms: number) => void): void {
  const w = new Database(path);
  try {
    // Before anything makes a page: the file's and its temporary files' (db->nextPagesize).
    w.pragma(`page_size = ${PASS_PAGE_SIZE}`);
    w.pragma('journal_mode = OFF');
    w.pragma('synchronous = OFF');
    w.pragma('temp_store = FILE');
    w.pragma(`cache_size = -${PASS_CACHE_KIB}`);
    w.pragma(`temp.cache_size = -${PASS_TEMP_CACHE_KIB}`);
    w.prepare('ATTACH DATABASE ? AS fold').run(fold);
    w.pragma(`fold.cache_size = -${PASS_FOLD_CACHE_KIB}`);
    buildSuccessions(w, k, 'fold', onStep);
  } finally {
    w.close();
  }
}

/** How many steps the pass runs (`onStep`'s i is below it). */
export const PASS_STEPS = steps('main').length;

/**
 * Runs the steps on `db` at knownAt `k`: the read models read from its schema `from` (the fold's
 * file, attached: `main` for the connection's own), the table written to its `main` (a file of
 * its own, so that the fold's readers never wait on a writer); `onStep` hears each step's
 * milliseconds.
 */
export function buildSuccessions(db: Db, k: string, from = 'main', onStep?: (i: number, ms: number) => void): void {
  db.pragma('temp_store = FILE');
  steps(from).forEach((sql, i) => {
    const t0 = performance.now();
    const stmt = db.prepare(sql);
    if (sql.includes('@k')) stmt.run({ k });
    else stmt.run();
    onStep?.(i, performance.now() - t0);
  });
}
