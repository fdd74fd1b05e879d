/**
 * What serializing an answer through its response schema would cost (zod's encode, then
 * JSON.stringify: fastify-type-provider-zod's serializer) against sending it as built
 * (JSON.stringify alone, app.ts's `asBuilt`), on a list page of 500 holders, the largest page
 * a read answers. CPU time per answer (process.cpuUsage), the two measured in alternating
 * slices so that other load on the machine disturbs both alike; medians of the slices.
 *
 *   node --import tsx bench/serialize.ts [items=500] [slices=7]
 */
import { z } from 'zod';
import { HoldersAnswer } from '../src/http/answers.js';

const items = Number(process.argv[2] ?? 500);
const slices = Number(process.argv[3] ?? 7);
const id = (p: string, i: number): string => `01KB19R500${p}${String(i).padStart(15, '0')}`.slice(0, 26);
const holder = (i: number) => ({
  person: { id: id('P', i), key: `person-${i}`, name: `Person ${i}` },
  term: { from: '2001-01-01', to: '2004-12-31' },
  acting: false,
  factId: id('F', i),
  basis: 'appointed' as const,
  source: { title: 'Session of the CSTO Collective Security Council (press release)', publisher: 'CSTO Secretariat', publishedOn: '2025-11-27', quote: 'The Council appointed the Secretary-General of the Organization for a term of three years.' },
  certainty: 'certain' as const,
});
const page = { office: { id: id('O', 0), key: 'an-office', title: 'An office' }, validAt: null, knownAt: '2025-11-27T12:00:00.000Z', holders: Array.from({ length: items }, (_, i) => holder(i)), nextCursor: 'a-cursor' };

const asBuilt = (d: unknown): string => JSON.stringify(d);
const throughSchema = (d: unknown): string => JSON.stringify(z.encode(HoldersAnswer, d as z.output<typeof HoldersAnswer>));
const cpuPerCall = (f: (d: unknown) => string, n: number): number => {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) f(page);
  const u = process.cpuUsage(start);
  return (u.user + u.system) / n / 1000;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (let i = 0; i < 3; i++) cpuPerCall(asBuilt, 30), cpuPerCall(throughSchema, 30);
const plain: number[] = [];
const zod: number[] = [];
for (let i = 0; i < slices; i++) {
  plain.push(cpuPerCall(asBuilt, 100));
  zod.push(cpuPerCall(throughSchema, 100));
}
const bytes = asBuilt(page).length;
console.log(`a page of ${items} holders, ${bytes} bytes; CPU per answer (median of ${slices} alternating slices of 100):`);
console.log(`  as built (JSON.stringify)        ${median(plain).toFixed(3)} ms`);
console.log(`  through the schema (zod encode)  ${median(zod).toFixed(3)} ms  (x${(median(zod) / median(plain)).toFixed(1)})`);
console.log(`  same bytes: ${asBuilt(page) === throughSchema(page)}`);
