/**
 * Where a slow page's time goes, stage by stage: `node --import tsx bench/read-trace.ts <trace.json>`.
 *
 * The trace comes from a build with bench/read-trace.patch applied (`git apply
 * bench/read-trace.patch && npm run build`; not for merging: it stamps every documents and
 * sessions question on both threads). Start that server with `TL_TRACE=<file>`, load it (wrk
 * at 32 connections), then `kill -USR2 <pid>`: it writes the questions answered since the last
 * signal to the file (send one after a warm-up slice, another after the measured one). Each row
 * is eight moments (`performance.timeOrigin + performance.now()`, comparable across threads):
 * the request heard (onRequest), the pool's `run`, the turn's message sent (`flush`), the worker
 * starting the question, its answer made, the worker's message with it posted (answers are held
 * up to `batchHoldMs` for the rest of the batch), the answer settled on the event loop, and the
 * response finished (onResponse).
 *
 * Prints the latency's percentiles, each stage's mean for the fastest half, p50–p90, p90–p99 and
 * the slowest 1%, each stage's own percentiles, and the read worker's time: in its questions,
 * in gaps while a question waited for it (its own JavaScript between questions, GC, messages,
 * and the time it waited for a core), and idle. The order the worker took questions in against
 * the order they were sent (inversions: 0 is FIFO).
 */
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: bench/read-trace.ts <trace.json>');
const rows = (JSON.parse(readFileSync(file, 'utf8')) as number[][]).filter((r) => r.length === 8);
if (rows.length === 0) throw new Error(`${file}: no traced page answers`);
const STAGES = ['request → run', 'run → sent', 'sent → worker starts', 'worker answers', 'answer → posted', 'posted → settled', 'settled → sent back'];
const at = (r: number[], i: number): number => r[i] as number;
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
const f = (ms: number): string => ms.toFixed(2);

const all = rows.map((r) => ({ total: at(r, 7) - at(r, 0), stages: STAGES.map((_, i) => at(r, i + 1) - at(r, i)) })).sort((a, b) => a.total - b.total);
const totals = all.map((x) => x.total);
console.log(`${rows.length} answers; latency ms p50 ${f(pct(totals, 0.5))} p90 ${f(pct(totals, 0.9))} p99 ${f(pct(totals, 0.99))} max ${f(totals.at(-1) as number)}`);
console.log('mean ms a stage, by band of latency:');
for (const [lo, hi, label] of [[0, 0.5, 'fastest half'], [0.5, 0.9, 'p50–p90'], [0.9, 0.99, 'p90–p99'], [0.99, 1, 'slowest 1%']] as const) {
  const band = all.slice(Math.floor(lo * all.length), Math.max(Math.floor(lo * all.length) + 1, Math.floor(hi * all.length)));
  const mean = (i: number): number => band.reduce((a, x) => a + (x.stages[i] as number), 0) / band.length;
  console.log(`  ${label.padEnd(12)} total ${f(band.reduce((a, x) => a + x.total, 0) / band.length).padStart(8)} = ${STAGES.map((s, i) => `${s} ${f(mean(i))}`).join(', ')}`);
}
console.log('each stage, ms:');
STAGES.forEach((s, i) => {
  const xs = rows.map((r) => at(r, i + 1) - at(r, i)).sort((a, b) => a - b);
  console.log(`  ${s.padEnd(22)} p50 ${f(pct(xs, 0.5))} p90 ${f(pct(xs, 0.9))} p99 ${f(pct(xs, 0.99))} max ${f(xs.at(-1) as number)}`);
});

// The worker's time: in questions, in gaps while the next question had already been sent, idle.
const byStart = [...rows].sort((a, b) => at(a, 3) - at(b, 3));
let inQuestions = 0;
let waitedGaps = 0;
let idle = 0;
const gaps: number[] = [];
byStart.forEach((r, i) => {
  inQuestions += at(r, 4) - at(r, 3);
  const prev = byStart[i - 1];
  if (prev === undefined) return;
  const gap = at(r, 3) - at(prev, 4);
  if (at(r, 2) <= at(prev, 4)) {
    waitedGaps += gap;
    gaps.push(gap);
  } else idle += gap;
});
gaps.sort((a, b) => a - b);
const span = at(byStart.at(-1) as number[], 4) - at(byStart[0] as number[], 3);
const share = (ms: number): string => `${f(ms)} ms (${((100 * ms) / span).toFixed(1)}%)`;
console.log(`read worker over ${f(span)} ms: in questions ${share(inQuestions)}, in gaps with a question waiting ${share(waitedGaps)}, idle ${share(idle)}`);
if (gaps.length > 0) {
  const long = gaps.filter((g) => g > 2);
  console.log(`  gaps with a question waiting: p50 ${f(pct(gaps, 0.5))} p90 ${f(pct(gaps, 0.9))} p99 ${f(pct(gaps, 0.99))} max ${f(gaps.at(-1) as number)} ms; ${long.length} over 2 ms, ${f(long.reduce((a, b) => a + b, 0))} ms in all`);
}
const bySent = [...rows].sort((a, b) => at(a, 2) - at(b, 2));
const inversions = bySent.filter((r, i) => i > 0 && at(r, 3) < at(bySent[i - 1] as number[], 3)).length;
console.log(`order: ${inversions} of ${rows.length} started before a question sent earlier (0: first come, first answered)`);
