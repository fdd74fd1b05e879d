/**
 * A batch fact's request check alone (#19, s37-bz): `parseFactRequest` over bench:record's mix
 * (a PersonRegistered with a key, a DelegateAttended naming it), as the batch route parses each
 * body, against zod's own parse of the same bodies (`FactRequest.safeParse`, what
 * parseFactRequest did before request-fast.ts), in alternating slices. Prints µs of CPU a fact
 * (this thread's user + system, GC included).
 * `node --import tsx bench/request-parse.ts`; BENCH_SLICE (default 20,000), BENCH_SLICES (10).
 */
import { loadavg } from 'node:os';
import { FactRequest, parseFactRequest } from '../src/record/request.js';

const SLICE = Number(process.env['BENCH_SLICE'] ?? 20_000);
const SLICES = Number(process.env['BENCH_SLICES'] ?? 10);
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const source = { title: 'Benchmark', publisher: 'Annals' };
const bodies = (n: number, base: number): unknown[] =>
  JSON.parse(
    JSON.stringify(
      Array.from({ length: n }, (_, i) => {
        const k = base + i;
        return k % 2 === 0
          ? { type: 'PersonRegistered', data: { key: `single-c${k % 32}-p${k}`, name: `Person ${k % 32}/${k}` }, source }
          : { type: 'DelegateAttended', data: { session: '01KB19R500EXAMP1E000000001', person: `single-c${k % 32}-p${k - 1}`, representing: 'bench-org' }, source };
      }),
    ),
  ) as unknown[];
const ways = {
  zod: (b: unknown) => {
    const r = FactRequest.safeParse(b);
    if (!r.success) throw new Error('refused');
    return r.data;
  },
  parseFactRequest: (b: unknown) => parseFactRequest(b),
};
const results: Record<string, number[]> = { zod: [], parseFactRequest: [] };
let base = 0;
const kept: unknown[] = [];
for (let s = -1; s < SLICES; s++) {
  const order = s % 2 === 0 ? (['zod', 'parseFactRequest'] as const) : (['parseFactRequest', 'zod'] as const);
  for (const name of order) {
    const input = bodies(SLICE, (base += SLICE));
    kept.length = 0;
    const t0 = process.cpuUsage();
    for (const b of input) kept.push(ways[name](b));
    const d = process.cpuUsage(t0);
    if (s >= 0) {
      results[name]?.push((d.user + d.system) / SLICE);
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`a batch fact's request check, slices of ${SLICE}, load ${load()}`);
for (const name of Object.keys(results)) {
  const r = results[name] as number[];
  console.log(`${name}: ${r.map((x) => x.toFixed(2)).join(', ')} µs a fact; median ${median(r).toFixed(2)}`);
}
