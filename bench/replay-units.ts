/**
 * The read-out of one kind of a replay's units on one thread (#19): on a fold kept by
 * bench/replay-fold.ts (BENCH_FOLD, BENCH_KNOWN_AT: the fold's), every unit of BENCH_KIND (default
 * `session`; `organization`: the organizations', each with its members and chairs) read out as
 * `annals replay` reads it (state.ts unitLines, a 2 MiB page cache), with this thread's CPU and the
 * sha256 of the text; BENCH_ROUNDS rounds (default 2). BENCH_OBJECTS=alternate: every other round,
 * the first among them, reads the units as `readUnit`'s objects serialized (the API's methods: what
 * `annals replay` wrote before sessions 43 and 44), for an A/B in one process.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/index.js';
import { threadCpuMs } from '../projections/terms-build.js';
import { laterUnits, organizationUnits, readUnit, unitLines } from '../src/cli/state.js';

const path = process.env['BENCH_FOLD'];
const knownAt = process.env['BENCH_KNOWN_AT'];
if (!path || !knownAt) throw new Error('BENCH_FOLD and BENCH_KNOWN_AT are required');
const kind = process.env['BENCH_KIND'] ?? 'session';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const alternate = process.env['BENCH_OBJECTS'] === 'alternate';
for (let r = 0; r < rounds; r++) {
  const objects = alternate && r % 2 === 0;
  const db = new Database(path, { readonly: true });
  db.pragma('cache_size = -2048');
  db.pragma('temp_store = MEMORY');
  const queries = new ReadQueries(db);
  const hash = createHash('sha256');
  let units = 0;
  let entities = 0;
  const units0 = kind === 'organization' ? [...organizationUnits(queries, knownAt)] : [...laterUnits(queries, db, knownAt)].filter((u) => u.kind === kind);
  const cpu0 = threadCpuMs() ?? Number.NaN;
  const t0 = performance.now();
  for (const unit of units0) {
    const lines = objects ? { texts: readUnit(queries, knownAt, unit).map((e) => `${JSON.stringify(e)}\n`), entities: 0 } : unitLines(queries, knownAt, unit);
    if (objects) lines.entities = lines.texts.length;
    for (const text of lines.texts) hash.update(text);
    entities += lines.entities;
    units += 1;
  }
  const ms = performance.now() - t0;
  const cpu = (threadCpuMs() ?? Number.NaN) - cpu0;
  console.log(`${kind}${objects ? ' (objects)' : ''}: ${units} units, ${entities} entities: ${(ms / 1000).toFixed(2)} s, this thread's CPU ${(cpu / 1000).toFixed(2)} s (load ${loadavg()[0]?.toFixed(1)}), sha256 ${hash.digest('hex').slice(0, 16)}`);
  db.close();
}
