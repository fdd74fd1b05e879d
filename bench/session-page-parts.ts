/**
 * Where a page of sessions' statement spends its CPU: `node --import tsx
 * bench/session-page-parts.ts` with BENCH_DB=<a readmodels.db> (opened read-only). Asks
 * BENCH_PAGES first pages of sessions as bench/page-cpu.ts does (organization `org`, a day and
 * a knownAt drawn with BENCH_SEED), keeps the statement that writes the page's JSON
 * (sessions/json.ts) and its parameters, then runs it and variants of it with a part taken out,
 * over the same pages, in alternating slices (the order reversed every other slice), warm (one
 * read transaction; the first pass, cold, is the capture). A part's cost is the whole's CPU
 * minus the variant's; the bytes a page say what each variant still writes.
 *
 * Variants (each made from the statement's text; one that no longer matches prints n/a):
 *   ids (joins kept)  each entity view written as its id alone: the cost of writing views
 *   ids (no joins)    the same without the LEFT JOINs of entities: the views' seeks
 *   no documents / attendees / reports / talks / lists: that list written empty
 *   no correctedBy    the CASE and subquery of every row's correctedBy
 *
 * Environment: BENCH_DB, BENCH_PAGES (300), BENCH_REPS (3), BENCH_SEED (2024), BENCH_CACHE_KIB
 * (131072, a read worker's).
 */
import { loadavg } from 'node:os';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { QueryContext } from '../projections/query-context.js';
import { prng } from '../test/fixtures/history.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const PAGES = Number(process.env['BENCH_PAGES'] ?? 300);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const SLICE = 20;
const db = new Database(path, { readonly: true });
db.pragma(`cache_size = -${Number(process.env['BENCH_CACHE_KIB'] ?? 131_072)}`);
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// The page statement and its parameters, as a read worker asks them.
let page = '';
const asked: Record<string, unknown>[] = [];
const all = Object.getOwnPropertyDescriptor(QueryContext.prototype, 'all')?.value as (this: QueryContext, sql: string, p: Record<string, unknown>) => unknown[];
Object.defineProperty(QueryContext.prototype, 'all', {
  value(this: QueryContext, sql: string, p: Record<string, unknown>): unknown[] {
    if (sql.startsWith('SELECT j.key AS n, concat(')) {
      page = sql;
      asked.push(p);
    }
    return all.call(this, sql, p);
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
  reads.itemsJson('sessions', ['org', k, v, { after: null, limit: 10 }]);
  reads.invalidate();
}
const capture = (cpu() - c0) / PAGES;
Object.defineProperty(QueryContext.prototype, 'all', { value: all });
if (!page) throw new Error('no page statement seen (sessions/json.ts changed?)');

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
const ids = (s: string): string => s.replace(JOINED, `'"' || ($1) || '"'`);
const variants: [string, (s: string) => string][] = [
  ['whole', (s) => s],
  ['ids (joins kept)', ids],
  ['ids (no joins)', (s) => ids(s).replace(JOIN, '')],
  ['no documents', empty(`'],"documents":[', `, `, '],"talks":['`)],
  ['no attendees', empty(`'attendees":[', `, `, '],"reports":['`)],
  ['no reports', empty(`'],"reports":[', `, `, '],"documents":['`)],
  ['no talks', empty(`'],"talks":[', `, `, ']', ',"factId":'`)],
  ['no lists', empty(`'attendees":[', `, `, ']', ',"factId":'`)],
  ['no correctedBy', (s) => s.replace(CORRECTED, "''")],
];
const runs = variants.map(([name, make]) => {
  const sql = make(page);
  return { name, stmt: name === 'whole' || sql !== page ? db.prepare(sql) : null, ms: 0, bytes: 0 };
});
console.log(`read models ${path}; ${PAGES} pages, ${REPS} passes warm, alternating; capture (cold, whole page) ${capture.toFixed(2)} ms a page; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
db.prepare('BEGIN').run();
for (let rep = 0; rep < REPS; rep++)
  for (let i = 0; i < asked.length; i += SLICE) {
    const slice = asked.slice(i, i + SLICE);
    for (const run of (i / SLICE) % 2 ? [...runs].reverse() : runs) {
      if (!run.stmt) continue;
      const t0 = cpu();
      for (const p of slice) for (const row of run.stmt.all(p) as { json: string | null }[]) run.bytes += row.json?.length ?? 0;
      run.ms += cpu() - t0;
    }
  }
db.prepare('COMMIT').run();
const n = asked.length * REPS;
const whole = (runs[0] as (typeof runs)[number]).ms / n;
for (const run of runs) {
  if (!run.stmt) {
    console.log(`${run.name.padEnd(18)} n/a (the statement no longer has that part as written here)`);
    continue;
  }
  const us = (run.ms / n) * 1000;
  console.log(`${run.name.padEnd(18)} ${us.toFixed(0).padStart(6)} µs a page${run.name === 'whole' ? '' : `, the part ${(whole * 1000 - us).toFixed(0).padStart(5)} µs (${(((whole - run.ms / n) / whole) * 100).toFixed(0)}%)`}; ${Math.round(run.bytes / n)} B a page`);
}
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
