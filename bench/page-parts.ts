/**
 * Where a page's statement spends its CPU, for a page of documents in force and a page of
 * sessions: `node --import tsx bench/page-parts.ts` with BENCH_DB=<a readmodels.db> (opened
 * read-only). For each list (BENCH_ONLY=documents or sessions, both unless given; each on a
 * connection of its own), asks BENCH_PAGES first pages as bench/page-cpu.ts does (organization
 * `org`, a day and a knownAt drawn with BENCH_SEED, the route's page), keeps the statement that
 * writes the page's items and its parameters, then runs it and variants of it with a part taken
 * out, over the same pages, in alternating slices (the order reversed every other slice), warm
 * (the capture is the first, cold, pass). A part's cost is the whole's CPU minus the variant's;
 * the bytes a page say what each variant still writes.
 *
 * documents: the keyset statement of documents/queries.ts singlePage (a page of one statement,
 * as every page of the benchmark record is; the text most pages ran, not the few read by
 * known_from at an early knownAt), each page its own read transaction, as the capture's.
 *   keys only          each item written as 'x': the index walk and the joins' seeks alone
 *   no detail          kind, period and summary not read from the entity's detail (`->`, json_extract)
 *   no session view    the session's view written as null (its LEFT JOIN kept: the view's text)
 *   no certainty       the CASE of the certainty
 *   no correctedBy     the CASE and subquery of every row's correctedBy
 *   no keys            the page's keys (the second group_concat) not written
 * sessions: the statement of sessions/json.ts that writes the page's JSON, every page in one
 * read transaction.
 *   ids (joins kept)   each entity view written as its id alone: the cost of writing views
 *   ids (no joins)     the same without the LEFT JOINs of entities: the views' seeks
 *   no documents / attendees / reports / talks / lists: that list written empty
 *   no correctedBy     the CASE and subquery of every row's correctedBy
 *   docs: keys only    the documents' adoptions walked, each item written as 'x'
 *   docs: no EXISTS    the documents' list without its check for considerations
 * A variant made from the statement's text that no longer matches it prints n/a.
 * BENCH_DB_B=<another readmodels.db> (e.g. a copy with another index): the whole statement there
 * too, in the same slices; for documents with its plan of adoptions printed for both files.
 * (Until session 36: bench/document-page-parts.ts and bench/session-page-parts.ts.)
 *
 * Environment: BENCH_DB, BENCH_DB_B, BENCH_ONLY, BENCH_PAGES (300), BENCH_REPS (3), BENCH_SEED
 * (2024), BENCH_CACHE_KIB (131072, a read worker's), BENCH_COVERING (above), BENCH_PAGE_TX=1 (sessions:
 * each page its own read transaction, as documents'). A copy changed by hand (an index made, ANALYZE)
 * must have its sqlite_stat4 emptied first: with its samples every statement is planned again at each run.
 */
import { loadavg } from 'node:os';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { QueryContext } from '../projections/query-context.js';
import { DEFAULT_PAGE } from '../src/http/paging.js';
import { prng } from '../test/fixtures/history.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const PAGES = Number(process.env['BENCH_PAGES'] ?? 300);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const SLICE = 20;
const open = (file: string): Database.Database => {
  const db = new Database(file, { readonly: true });
  db.pragma(`cache_size = -${Number(process.env['BENCH_CACHE_KIB'] ?? 131_072)}`);
  return db;
};
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

type Params = Record<string, unknown>;
/** A variant of the statement's text; returning the text unchanged marks it n/a. */
type Variant = [name: string, make: (s: string) => string];
interface List {
  name: 'documents' | 'sessions';
  /** The QueryContext method the page's statement goes through, and how its text starts. */
  method: 'get' | 'all';
  starts: string;
  /** Where the statement is written, for the error when it is not seen. */
  source: string;
  limit: number;
  variants: Variant[];
  /** Each page its own read transaction (as a read worker's page), or every page in one. */
  pageTransactions: boolean;
  /** The characters a page's rows hold. */
  bytes: (stmt: Database.Statement, p: Params) => number;
  /** Printed for the first page's plan: its lines naming this alias. */
  planOf?: RegExp;
}

/** `s` with `a` replaced by `b`, or `s` itself when `a` is not in it (the variant then prints n/a). */
const swap = (a: string | RegExp, b: string) => (s: string): string => s.replace(a, b);

const DOCUMENTS: List = {
  name: 'documents',
  method: 'get',
  starts: 'SELECT group_concat(j, char(30)) AS v, group_concat(s || char(31) || d, char(30)) AS k FROM (',
  source: 'documents/queries.ts',
  limit: DEFAULT_PAGE,
  variants: [
    // The item from `concat('{"id":'` to its alias: the ( ) of its parts balance, so the last `) AS j FROM` is its end.
    ['keys only', swap(/concat\('\{"id":'[\s\S]*\) AS j FROM /, `'x' AS j FROM `)],
    ['no detail', (s) => s.replace(`coalesce(e.detail -> '$.kind', 'null')`, `'null'`).replace(`json_extract(e.detail, '$.period')`, 'NULL').replace(`coalesce(e.detail -> '$.summary', 'null')`, `'null'`)],
    ['no session view', swap(/',"session":' \|\| CASE WHEN coalesce[\s\S]*? END, ',"factId"/, `',"session":null', ',"factId"`)],
    ['no certainty', swap(/CASE WHEN a\.s1 <= @q1 [\s\S]*? ELSE '' END, /, '')],
    ['no correctedBy', swap(/CASE WHEN e\.corrected_by IS NULL THEN '' ELSE \(SELECT [\s\S]*? FROM facts f WHERE f\.fact_id = e\.corrected_by\) END, /, '')],
    ['no keys', swap(', group_concat(s || char(31) || d, char(30)) AS k', '')],
  ],
  pageTransactions: true,
  bytes: (stmt, p) => {
    const row = stmt.get(p) as { v: string | null; k?: string | null } | undefined;
    return (row?.v?.length ?? 0) + (row?.k?.length ?? 0);
  },
  planOf: / a /,
};

// sessions/json.ts JOINED (a joined entity's view), JOIN_VIEW (its join), CORRECTED.
const JOINED = /CASE WHEN ((?:[\w.]+|p\.value ->> '\$\.\w+')) IS NULL THEN 'null' WHEN (\w+)\.id IS NULL THEN '\{"id":' \|\| json_quote\(\1\) \|\| ',"key":null,"name":null\}' ELSE concat\('\{"id":"', \2\.id, '","key":', json_quote\(\2\.key\), CASE \2\.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END, json_quote\(\2\.name\), '\}'\) END/g;
const JOIN = /LEFT JOIN entities (\w+) ON \1\.id = ((?:[\w.]+|p\.value ->> '\$\.\w+')) AND \1\.known_from <= @k AND \1\.known_to > @k/g;
const CORRECTED = /CASE WHEN (\w+)\.corrected_by IS NULL THEN '' ELSE \(SELECT ',"correctedBy":\{"factId":' \|\| json_quote\(f\.fact_id\) \|\| ',"reason":' \|\| json_quote\(f\.reason\) \|\| ',"recordedAt":' \|\| json_quote\(f\.recorded_at\) \|\| '\}' FROM facts f WHERE f\.fact_id = \1\.corrected_by\) END/g;
/** The text between `a` and `b` replaced by `''` (a list written empty). */
const empty =
  (a: string, b: string) =>
  (s: string): string => {
    const i = s.indexOf(a);
    const j = i < 0 ? -1 : s.indexOf(b, i + a.length);
    return i < 0 || j < 0 ? s : `${s.slice(0, i + a.length)}''${s.slice(j)}`;
  };
/** `s` with the text from `a` to the end of `b` replaced by `c` (or `s` itself when either is not there). */
const between = (s: string, a: string, b: string, c: string): string => {
  const i = s.indexOf(a);
  const j = i < 0 ? -1 : s.indexOf(b, i);
  return i < 0 || j < 0 ? s : `${s.slice(0, i)}${c}${s.slice(j + b.length)}`;
};
const ids = (s: string): string => s.replace(JOINED, `'"' || ($1) || '"'`);

const SESSIONS: List = {
  name: 'sessions',
  method: 'all',
  starts: 'SELECT j.key AS n, concat(',
  source: 'sessions/json.ts',
  limit: 10,
  variants: [
    ['ids (joins kept)', ids],
    ['ids (no joins)', (s) => ids(s).replace(JOIN, '')],
    ['no documents', empty(`'],"documents":[', `, `, '],"talks":['`)],
    ['no attendees', empty(`'attendees":[', `, `, '],"reports":['`)],
    ['no reports', empty(`'],"reports":[', `, `, '],"documents":['`)],
    ['no talks', empty(`'],"talks":[', `, `, ']', ',"factId":'`)],
    ['no lists', empty(`'attendees":[', `, `, ']', ',"factId":'`)],
    ['no correctedBy', (s) => s.replace(CORRECTED, "''")],
    // The documents' list: its adoptions walked with each item written as 'x'; without the considerations' EXISTS.
    // BENCH_COVERING=<another index of adoptions led by session, made by hand in a copy>: the walk through it and through adoptions_i3 (INDEXED BY).
    ...(process.env['BENCH_COVERING'] ? ([['docs: adoptions_i3', (s) => s.replace(' FROM adoptions x WHERE x.session = s.id', ' FROM adoptions x INDEXED BY adoptions_i3 WHERE x.session = s.id')], ['docs: BENCH_COVERING', (s) => s.replace(' FROM adoptions x WHERE x.session = s.id', ` FROM adoptions x INDEXED BY ${process.env['BENCH_COVERING']} WHERE x.session = s.id`)]] as Variant[]) : []),
    ['docs: keys only', (s) => between(s, 'SELECT CASE WHEN a.earliest = 1 THEN ', ' END AS dj\n', `SELECT 'x' AS dj\n`)],
    ['docs: no EXISTS', (s) => s.replace('CASE WHEN EXISTS (SELECT 1 FROM considerations c WHERE c.session = s.id) THEN', 'CASE WHEN 0 THEN')],
  ],
  pageTransactions: process.env['BENCH_PAGE_TX'] === '1',
  bytes: (stmt, p) => {
    let n = 0;
    for (const row of stmt.all(p) as { json: string | null }[]) n += row.json?.length ?? 0;
    return n;
  },
};

/** The text most of `PAGES` first pages ran through `list.method` and the parameters of each page that ran it, as a read worker asks them; and the capture's CPU a page. */
function capture(db: Database.Database, list: List): { page: string; asked: Params[]; ms: number } {
  const byText = new Map<string, Params[]>();
  const method = Object.getOwnPropertyDescriptor(QueryContext.prototype, list.method)?.value as (this: QueryContext, sql: string, p: Params) => unknown;
  Object.defineProperty(QueryContext.prototype, list.method, {
    value(this: QueryContext, sql: string, p: Params): unknown {
      if (sql.startsWith(list.starts)) {
        const seen = byText.get(sql);
        if (seen) seen.push(p);
        else byText.set(sql, [p]);
      }
      return method.call(this, sql, p);
    },
  });
  try {
    const reads = new ReadQueries(db, false, 60_000);
    const [from, to] = db.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
    const rnd = prng(SEED);
    const d0 = Date.parse('1990-01-01T00:00:00Z');
    const dn = Date.parse('2030-12-31T00:00:00Z');
    const k0 = Date.parse(from);
    const kn = Date.parse(to);
    const c0 = cpu();
    for (let i = 0; i < PAGES; i++) {
      const v = new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10);
      const k = new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString();
      reads.itemsJson(list.name, ['org', k, v, { after: null, limit: list.limit }]);
      reads.invalidate();
    }
    const ms = (cpu() - c0) / PAGES;
    // The text most pages ran (documents: the keyset order; the others, a body's few adoptions known, read by known_from, left out).
    const [page, asked] = [...byText].sort((x, y) => y[1].length - x[1].length)[0] ?? ['', []];
    if (!page) throw new Error(`no page statement seen (${list.source} changed?)`);
    return { page, asked, ms };
  } finally {
    Object.defineProperty(QueryContext.prototype, list.method, { value: method });
  }
}

function measure(list: List, other: Database.Database | null): void {
  const db = open(path as string);
  const { page, asked, ms } = capture(db, list);
  type Run = { name: string; db: Database.Database; stmt: Database.Statement | null; ms: number; bytes: number };
  const runs: Run[] = [['whole', (s: string) => s] as Variant, ...list.variants].map(([name, make]) => {
    const sql = make(page);
    return { name, db, stmt: name === 'whole' || sql !== page ? db.prepare(sql) : null, ms: 0, bytes: 0 };
  });
  if (other) runs.push({ name: 'whole on B', db: other, stmt: other.prepare(page), ms: 0, bytes: 0 });
  console.log(`${list.name}: read models ${path}${other ? ` and B ${process.env['BENCH_DB_B']}` : ''}; ${asked.length} pages, ${REPS} passes warm, alternating (${PAGES - asked.length} pages of another statement or none left out); capture (cold, whole page) ${ms.toFixed(2)} ms a page; load average ${load()}`);
  if (list.planOf) {
    const plan = (d: Database.Database): string =>
      (d.prepare(`EXPLAIN QUERY PLAN ${page}`).all(asked[0]) as { detail: string }[])
        .map((r) => r.detail)
        .filter((x) => list.planOf?.test(x))
        .join('; ');
    console.log(`plan of adoptions: ${plan(db)}${other ? `; on B: ${plan(other)}` : ''}`);
  }
  const begin = (d: Database.Database): void => void d.prepare('BEGIN').run();
  const commit = (d: Database.Database): void => void d.prepare('COMMIT').run();
  const files = other ? [db, other] : [db];
  if (!list.pageTransactions) files.forEach(begin);
  for (let rep = 0; rep < REPS; rep++)
    for (let i = 0; i < asked.length; i += SLICE) {
      const slice = asked.slice(i, i + SLICE);
      for (const run of (i / SLICE) % 2 ? [...runs].reverse() : runs) {
        if (!run.stmt) continue;
        const t0 = cpu();
        for (const p of slice) {
          if (list.pageTransactions) begin(run.db);
          run.bytes += list.bytes(run.stmt, p);
          if (list.pageTransactions) commit(run.db);
        }
        run.ms += cpu() - t0;
      }
    }
  if (!list.pageTransactions) files.forEach(commit);
  const n = asked.length * REPS;
  const whole = (runs[0] as Run).ms / n;
  for (const run of runs) {
    if (!run.stmt) {
      console.log(`${run.name.padEnd(18)} n/a (the statement no longer has that part as written here)`);
      continue;
    }
    const us = (run.ms / n) * 1000;
    console.log(`${run.name.padEnd(18)} ${us.toFixed(0).padStart(6)} µs a page${run.name === 'whole' ? '' : `, the part ${(whole * 1000 - us).toFixed(0).padStart(5)} µs (${(((whole - run.ms / n) / whole) * 100).toFixed(0)}%)`}; ${Math.round(run.bytes / n)} B a page`);
  }
  db.close();
}

const only = process.env['BENCH_ONLY'];
const lists = [DOCUMENTS, SESSIONS].filter((l) => only === undefined || only === l.name);
if (lists.length === 0) throw new Error(`BENCH_ONLY=${only}: documents or sessions`);
const other = process.env['BENCH_DB_B'] ? open(process.env['BENCH_DB_B']) : null;
for (const list of lists) measure(list, other);
console.log(`load average ${load()}`);
