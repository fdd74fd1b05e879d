/**
 * Which index serves which query: `npm run bench:plans` with BENCH_DB=<a readmodels.db> (read
 * only; e.g. the read benchmark's kept 1,000,000-fact record). Asks every question of the read
 * queries once (test/fixtures/query-plans.ts: the API's, the pages', Popolo's, search, replay's)
 * at a past knownAt, captures each statement they prepare, and prints its EXPLAIN QUERY PLAN:
 * per statement the indexes it uses and any full scan of a read-model table; then per index
 * the statements that use it, and the indexes no statement uses (candidates to drop; the
 * writer's own statements, which need the fact_id indexes and (office, person), are not
 * asked here: see projections/README.md).
 */
import Database from 'better-sqlite3';
import { captureStatements, exerciseQueries, fullScans, indexesUsed, plansOf, sampleOf } from '../test/fixtures/query-plans.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const db = new Database(path, { readonly: true });
const knownAt = process.env['BENCH_KNOWN_AT'] ?? (db.prepare('SELECT recorded_at FROM facts ORDER BY recorded_at LIMIT 1 OFFSET (SELECT count(*) * 3 / 4 FROM facts)').pluck().get() as string);
const sample = sampleOf(db, knownAt);
console.log(`read models: ${path}; asked at knownAt ${knownAt} about ${JSON.stringify(sample)}`);
const captured = captureStatements(db);
exerciseQueries(db, sample);
const plans = plansOf(db, captured.values());
const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
const users = new Map<string, Set<string>>();
for (const p of plans) {
  const used = indexesUsed(p);
  const scans = fullScans(p, tables);
  for (const u of used) users.set(u, (users.get(u) ?? new Set()).add(p.caller));
  console.log(`\n${p.caller}: ${used.join(', ') || '(no index)'}${scans.length ? `  FULL SCAN: ${scans.join('; ')}` : ''}`);
  if (process.env['BENCH_VERBOSE']) console.log(`  ${p.sql.replace(/\s+/g, ' ')}\n${p.lines.join('\n')}`);
}
console.log('\nindex → statements that use it:');
const indexes = db.prepare("SELECT name, tbl_name AS tbl, sql FROM sqlite_master WHERE type = 'index' ORDER BY tbl_name, name").all() as { name: string; tbl: string; sql: string | null }[];
for (const i of indexes) {
  const cols = /\((.*)\)/.exec(i.sql ?? '')?.[1] ?? '(automatic)';
  const by = users.get(i.name);
  console.log(`  ${i.tbl}.${i.name} (${cols}): ${by ? [...by].join('; ') : 'UNUSED by the read queries'}`);
}
for (const u of users.keys()) if (!indexes.some((i) => i.name === u)) console.log(`  ${u}: ${[...(users.get(u) ?? [])].join('; ')}`);
db.close();
