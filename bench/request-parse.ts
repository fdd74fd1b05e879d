/**
 * A batch fact's request check alone (#19, s37-bz): `parseFactRequest` over bench:record's mix
 * (a PersonRegistered with a key, a DelegateAttended naming it), as the batch route parses each
 * body, against zod's own parse of the same bodies (`FactRequest.safeParse`, what
 * parseFactRequest did before request-fast.ts), in alternating slices. Prints µs of CPU a fact
 * (this thread's user + system, GC included). With BENCH_ROUTE=1 (session 38), the single route's
 * body check instead: POST /v1/facts' validator as the app compiles it (its schema marked by
 * takenAsIs: factRequestAsIs first) against fastify-type-provider-zod's validator alone (before).
 * `node --import tsx bench/request-parse.ts`; BENCH_SLICE (default 20,000), BENCH_SLICES (10).
 */
import { loadavg } from 'node:os';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { FactRequest, factRequestAsIs, parseFactRequest } from '../src/record/request.js';
import { takenAsIs, withFastQueries } from '../src/http/routes/point-query.js';

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
// The route's schema as facts.ts gives it (meta() makes a schema of its own), both validators compiled from it.
const routeSchema = takenAsIs(FactRequest.meta({ examples: [] }), factRequestAsIs);
type Validate = (data: unknown) => { value?: unknown; error?: Error };
const compiled = (c: typeof validatorCompiler): Validate => c({ schema: routeSchema, method: 'POST', url: '/v1/facts', httpPart: 'body' } as never) as Validate;
const routeZod = compiled(validatorCompiler);
const routeAsIs = compiled(withFastQueries(validatorCompiler));
const checked = (v: Validate) => (b: unknown) => {
  const r = v(b);
  if (r.error) throw r.error;
  return r.value;
};
const ROUTE = process.env['BENCH_ROUTE'] === '1';
const ways: Record<string, (b: unknown) => unknown> = ROUTE
  ? { zod: checked(routeZod), asIs: checked(routeAsIs) }
  : {
      zod: (b: unknown) => {
        const r = FactRequest.safeParse(b);
        if (!r.success) throw new Error('refused');
        return r.data;
      },
      parseFactRequest: (b: unknown) => parseFactRequest(b),
    };
const names = Object.keys(ways) as [string, string];
const results: Record<string, number[]> = { [names[0]]: [], [names[1]]: [] };
let base = 0;
const kept: unknown[] = [];
for (let s = -1; s < SLICES; s++) {
  const order = s % 2 === 0 ? names : ([names[1], names[0]] as const);
  for (const name of order) {
    const input = bodies(SLICE, (base += SLICE));
    kept.length = 0;
    const t0 = process.cpuUsage();
    const way = ways[name] as (b: unknown) => unknown;
    for (const b of input) kept.push(way(b));
    const d = process.cpuUsage(t0);
    if (s >= 0) {
      results[name]?.push((d.user + d.system) / SLICE);
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`${ROUTE ? "POST /v1/facts' body check" : "a batch fact's request check"}, slices of ${SLICE}, load ${load()}`);
for (const name of Object.keys(results)) {
  const r = results[name] as number[];
  console.log(`${name}: ${r.map((x) => x.toFixed(2)).join(', ')} µs a fact; median ${median(r).toFixed(2)}`);
}
