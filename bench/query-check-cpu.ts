/**
 * CPU per query check of a holder question, in process: `node --import tsx
 * bench/query-check-cpu.ts`, after `npm run build`. Fastify's validator for PointQuery as
 * app.ts installs it (point-query.ts's compiler around fastify-type-provider-zod's) checks the
 * holder's query as bench:read's holder@past sends it (validAt a day, knownAt a moment of the
 * recording in its canonical form; 1 in 8 with a cache-busting `_`). BENCH_ROOT=<another
 * worktree, built>: its compiler and PointQuery are measured too (A), this worktree's (B),
 * in alternating slices (A first in every other one), and both must give the same values.
 * Prints ns of this thread's CPU a check per version (median and range over the slices) and
 * the load average.
 *
 * Environment: BENCH_ROOT, BENCH_SLICES (20), BENCH_CHECKS (a slice's checks, 200,000).
 */
import { isDeepStrictEqual } from 'node:util';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prng } from '../test/fixtures/history.js';

const SLICES = Number(process.env['BENCH_SLICES'] ?? 20);
const CHECKS = Number(process.env['BENCH_CHECKS'] ?? 200_000);
type Check = (data: unknown) => unknown;

/** The querystring validator for PointQuery that a checkout's built app would install. */
async function checkOf(root: string): Promise<Check> {
  const load = (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(resolve(root, 'dist', path)).href) as Promise<Record<string, unknown>>;
  const fast = await load('src/http/routes/point-query.js');
  const { PointQuery } = await load('src/http/routes/reads-common.js');
  const { validatorCompiler } = (await import(pathToFileURL(resolve(root, 'node_modules/fastify-type-provider-zod/dist/esm/index.js')).href)) as { validatorCompiler: unknown };
  // The compiler's name changed when the point questions' check became a field table like the lists' (session 38).
  const wrap = (fast['withFastQueries'] ?? fast['withFastPointQuery']) as (c: unknown) => (route: unknown) => Check;
  return wrap(validatorCompiler)({ schema: PointQuery, method: 'GET', url: '/v1/offices/:office/holder', httpPart: 'querystring' });
}

const rnd = prng(2024);
const k0 = Date.parse('2024-01-01T00:00:00Z');
const queries = Array.from({ length: 4096 }, (_, i) => {
  const q: Record<string, string> = Object.create(null) as Record<string, string>;
  q['validAt'] = new Date(Date.parse('1990-01-01') + Math.floor(rnd() * 14_975) * 86_400_000).toISOString().slice(0, 10);
  q['knownAt'] = new Date(k0 + Math.floor(rnd() * 3e10)).toISOString();
  if (i % 8 === 0) q['_'] = String(i);
  return q;
});

const versions: [string, Check][] = [];
if (process.env['BENCH_ROOT']) versions.push(['A (BENCH_ROOT)', await checkOf(process.env['BENCH_ROOT'])]);
versions.push([versions.length ? 'B (this worktree)' : 'this worktree', await checkOf(resolve(import.meta.dirname, '..'))]);
for (const q of queries) {
  const [first, ...rest] = versions.map(([, check]) => check(q));
  for (const other of rest) if (!isDeepStrictEqual(other, first)) throw new Error(`the versions differ on ${JSON.stringify(q)}: ${JSON.stringify(first)} / ${JSON.stringify(other)}`);
}

let sink = 0;
const slice = (check: Check): number => {
  const t0 = process.cpuUsage();
  for (let i = 0; i < CHECKS; i++) if (check(queries[i & 4095]) !== undefined) sink++;
  const t1 = process.cpuUsage(t0);
  return ((t1.user + t1.system) * 1000) / CHECKS;
};
// Warm both (JIT) before the measured slices.
for (const [, check] of versions) slice(check);
const ns = versions.map(() => [] as number[]);
for (let s = 0; s < SLICES; s++) {
  const order = s % 2 === 0 ? versions.map((_, i) => i) : versions.map((_, i) => i).reverse();
  for (const i of order) (ns[i] as number[]).push(slice((versions[i] as [string, Check])[1]));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [i, [name]] of versions.entries()) {
  const xs = ns[i] as number[];
  console.log(`${name}: ${median(xs).toFixed(1)} ns of CPU a check (median of ${SLICES} slices of ${CHECKS}; ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`);
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${sink > 0 ? 'values checked equal' : ''}`);
