/**
 * Where a thread's time went, from a `.cpuprofile` that `node --cpu-prof` wrote (one a thread:
 * src/store/worker-thread.ts passes `--cpu-prof*` on to the threads it starts).
 *
 *   node --import tsx bench/cpuprofile-summary.ts <file.cpuprofile> [root] [names]
 *
 * `root` (a function's name, e.g. `applyDecoded`): only the samples with it on their stack (a
 * phase of a thread; empty: every sample). Prints each function's self time (file:line) and,
 * for each of `names` (comma-separated), its inclusive time within the root, and the lines of
 * the root's hottest functions (line ticks: of built JS only; tsx makes each module one line).
 * Samples are wall-clock while the thread exists: on a loaded machine a share, not seconds of
 * CPU, is the figure to compare (how s41-cr profiled a rebuild's applying thread).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, root = '', list = ''] = process.argv.slice(2);
if (!file) throw new Error('usage: bench/cpuprofile-summary.ts <file.cpuprofile> [root function] [names, comma-separated]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const names = list.split(',').filter(Boolean);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const at = new Map<number, number>();
let all = 0;
p.samples.forEach((id, i) => {
  const d = p.timeDeltas[i] ?? 0;
  at.set(id, (at.get(id) ?? 0) + d);
  all += d;
});
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const under = new Set<number>();
let total = 0;
for (const [id, t] of at) {
  const stack: string[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push((byId.get(cur) as Node).callFrame.functionName);
  if (root && !stack.includes(root)) continue;
  under.add(id);
  total += t;
  const f = (byId.get(id) as Node).callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').at(-1)}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + t);
  for (const name of new Set(stack)) inclusive.set(name, (inclusive.get(name) ?? 0) + t);
}
const share = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)}% ${(t / 1e6).toFixed(2).padStart(7)} s`;
console.log(`${file}: ${(all / 1e6).toFixed(2)} s of samples; ${root ? `under ${root}` : 'all'}: ${(total / 1e6).toFixed(2)} s`);
console.log('self:');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${share(t)}  ${k}`);
if (names.length > 0) console.log('inclusive:');
for (const n of names) console.log(`  ${share(inclusive.get(n) ?? 0)}  ${n}`);
// The hottest functions' lines (ticks of the nodes sampled under the root).
const lines = new Map<string, number>();
for (const id of under) {
  const n = byId.get(id) as Node;
  for (const { line, ticks } of n.positionTicks ?? []) {
    const k = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').at(-1)}:${line}`;
    lines.set(k, (lines.get(k) ?? 0) + ticks);
  }
}
console.log('hottest lines (ticks):');
for (const [k, t] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(t).padStart(6)}  ${k}`);
