/**
 * Where a page of documents' keyset statement spends its CPU: `node --import tsx
 * bench/document-page-parts.ts` with BENCH_DB=<a readmodels.db> (opened read-only). Asks
 * BENCH_PAGES first pages of documents in force as bench/page-cpu.ts does (organization `org`,
 * a day and a knownAt drawn with BENCH_SEED, the route's default page), keeps the statement of
 * each page that writes its items (documents/queries.ts singlePage: a page of one keyset
 * statement, as every page of the benchmark record is; the text most pages ran, not the few read
 * by known_from at an early knownAt) and its parameters, then runs it and
 * variants of it with a part taken out, over the same pages, in alternating slices (the order
 * reversed every other slice), warm (each page its own read transaction, as the capture's; the
 * capture is the first, cold, pass). A part's cost is the whole's CPU minus the variant's; the
 * bytes a page say what each variant still writes.
 *
 * Variants (each made from the statement's text; one that no longer matches prints n/a):
 *   keys only          each item written as 'x': the index walk and the joins' seeks alone
 *   no detail          kind, period and summary not read from the entity's detail (`->`, json_extract)
 *   no session view    the session's view written as null (its LEFT JOIN kept: the view's text)
 *   no certainty       the CASE of the certainty
 *   no correctedBy     the CASE and subquery of every row's correctedBy
 *   no keys            the page's keys (the second group_concat) not written
 * BENCH_DB_B=<another readmodels.db> (e.g. a copy with another index): the whole statement there
 * too, in the same slices, with its plan of adoptions printed for both files.
 *
 * Environment: BENCH_DB, BENCH_DB_B, BENCH_PAGES (300), BENCH_REPS (3), BENCH_SEED (2024),
 * BENCH_CACHE_KIB (131072, a read worker's).
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
const db = open(path);
const other = process.env['BENCH_DB_B'] ? open(process.env['BENCH_DB_B']) : null;
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// The page statement and its parameters, as a read worker asks them.
const byText = new Map<string, Record<string, unknown>[]>();
const get = Object.getOwnPropertyDescriptor(QueryContext.prototype, 'get')?.value as (this: QueryContext, sql: string, p: Record<string, unknown>) => unknown;
Object.defineProperty(QueryContext.prototype, 'get', {
  value(this: QueryContext, sql: string, p: Record<string, unknown>): unknown {
    // singlePage's text (documents/queries.ts); a page of several statements is not kept.
    if (sql.startsWith('SELECT group_concat(j, char(30)) AS v, group_concat(s || char(31) || d, char(30)) AS k FROM (')) {
      const list = byText.get(sql);
      if (list) list.push(p);
      else byText.set(sql, [p]);
    }
    return get.call(this, sql, p);
  },
});
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
  reads.itemsJson('documents', ['org', k, v, { after: null, limit: DEFAULT_PAGE }]);
  reads.invalidate();
}
const capture = (cpu() - c0) / PAGES;
Object.defineProperty(QueryContext.prototype, 'get', { value: get });
// The text most pages ran (the keyset order); the others (a body's few adoptions known, read by known_from) left out.
const [page, asked] = [...byText].sort((x, y) => y[1].length - x[1].length)[0] ?? ['', []];
if (!page) throw new Error('no page statement seen (documents/queries.ts changed?)');

/** `s` with `a` replaced by `b`, or `s` itself when `a` is not in it (the variant then prints n/a). */
const swap = (a: string | RegExp, b: string) => (s: string): string => s.replace(a, b);
const variants: [string, (s: string) => string][] = [
  ['whole', (s) => s],
  // The item from `concat('{"id":'` to its alias: the ( ) of its parts balance, so the last `) AS j FROM` is its end.
  ['keys only', swap(/concat\('\{"id":'[\s\S]*\) AS j FROM /, `'x' AS j FROM `)],
  ['no detail', (s) => s.replace(`coalesce(e.detail -> '$.kind', 'null')`, `'null'`).replace(`json_extract(e.detail, '$.period')`, 'NULL').replace(`coalesce(e.detail -> '$.summary', 'null')`, `'null'`)],
  ['no session view', swap(/',"session":' \|\| CASE WHEN coalesce[\s\S]*? END, ',"factId"/, `',"session":null', ',"factId"`)],
  ['no certainty', swap(/CASE WHEN a\.s1 <= @q1 [\s\S]*? ELSE '' END, /, '')],
  ['no correctedBy', swap(/CASE WHEN e\.corrected_by IS NULL THEN '' ELSE \(SELECT [\s\S]*? FROM facts f WHERE f\.fact_id = e\.corrected_by\) END, /, '')],
  ['no keys', swap(', group_concat(s || char(31) || d, char(30)) AS k', '')],
];
type Run = { name: string; db: Database.Database; stmt: Database.Statement | null; ms: number; bytes: number };
const runs: Run[] = variants.map(([name, make]) => {
  const sql = make(page);
  return { name, db, stmt: name === 'whole' || sql !== page ? db.prepare(sql) : null, ms: 0, bytes: 0 };
});
if (other) runs.push({ name: 'whole on B', db: other, stmt: other.prepare(page), ms: 0, bytes: 0 });
console.log(`read models ${path}${other ? ` and B ${process.env['BENCH_DB_B']}` : ''}; ${asked.length} pages, ${REPS} passes warm, alternating (${PAGES - asked.length} pages of another statement left out); capture (cold, whole page) ${capture.toFixed(2)} ms a page; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const plan = (d: Database.Database): string =>
  (d.prepare(`EXPLAIN QUERY PLAN ${page}`).all(asked[0]) as { detail: string }[])
    .map((r) => r.detail)
    .filter((x) => / a /.test(x))
    .join('; ');
console.log(`plan of adoptions: ${plan(db)}${other ? `; on B: ${plan(other)}` : ''}`);
for (let rep = 0; rep < REPS; rep++)
  for (let i = 0; i < asked.length; i += SLICE) {
    const slice = asked.slice(i, i + SLICE);
    for (const run of (i / SLICE) % 2 ? [...runs].reverse() : runs) {
      if (!run.stmt) continue;
      const t0 = cpu();
      for (const p of slice) {
        run.db.prepare('BEGIN').run();
        const row = run.stmt.get(p) as { v: string | null; k?: string | null } | undefined;
        run.bytes += (row?.v?.length ?? 0) + (row?.k?.length ?? 0);
        run.db.prepare('COMMIT').run();
      }
      run.ms += cpu() - t0;
    }
  }
const n = asked.length * REPS;
const whole = (runs[0] as Run).ms / n;
for (const run of runs) {
  if (!run.stmt) {
    console.log(`${run.name.padEnd(16)} n/a (the statement no longer has that part as written here)`);
    continue;
  }
  const us = (run.ms / n) * 1000;
  console.log(`${run.name.padEnd(16)} ${us.toFixed(0).padStart(6)} µs a page${run.name === 'whole' ? '' : `, the part ${(whole * 1000 - us).toFixed(0).padStart(5)} µs (${(((whole - run.ms / n) / whole) * 100).toFixed(0)}%)`}; ${Math.round(run.bytes / n)} B a page`);
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
