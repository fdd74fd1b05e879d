/**
 * The fault campaign: `npm run chaos [scenario…]` runs each module of bench/chaos/ (or the
 * ones named), one after the other; each prints its figures and says whether its targets
 * held. Exit code 0 when every scenario's did, 1 otherwise.
 *
 * A scenario is a module exporting `run(): Promise<boolean>`.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./chaos/', import.meta.url));
const wanted = process.argv.slice(2);
const scenarios = (await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).filter((s) => wanted.length === 0 || wanted.includes(s)).sort();
if (scenarios.length === 0) {
  console.error(`no scenario ${wanted.join(', ')} in bench/chaos/`);
  process.exit(2);
}
const outcomes: Array<[string, boolean]> = [];
for (const name of scenarios) {
  console.log(`\n=== chaos: ${name}`);
  const scenario = (await import(new URL(`./chaos/${name}.ts`, import.meta.url).href)) as { run(): Promise<boolean> };
  outcomes.push([name, await scenario.run()]);
}
console.log(`\n${outcomes.map(([n, ok]) => `${n}: ${ok ? 'targets met' : 'TARGETS MISSED'}`).join('\n')}`);
process.exit(outcomes.every(([, ok]) => ok) ? 0 : 1);
