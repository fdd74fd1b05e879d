/**
 * Two configurations of the server under the same heavy readers, in alternating phases of one
 * run (the machine is shared: back-to-back runs minutes apart meet different loads, phases
 * alternating every few seconds meet the same). Copies one record (readers.ts's, kept with
 * CHAOS_KEEP) to two data dirs, starts a server on each with its own environment, then runs
 * readers.ts's `many` phase (200 heavy readers from 200 addresses, a /healthz prober, a
 * recorder) against A, B, A, B, … and prints each phase and the pooled figures of each side.
 *
 *   CHAOS_KEEP=/tmp/rec CHAOS_A='ANNALS_READ_WORKER_NICE=0' CHAOS_B='ANNALS_READ_WORKER_NICE=10' \
 *   CHAOS_ROUNDS=4 CHAOS_PHASE_MS=5000 node --import tsx bench/chaos/readers-ab.ts [many|one]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { quantile } from '../http-load.js';
import { caughtUp, cpuSeconds, envSpec, phase, record, startServer } from './readers.js';


const sides = [
  { name: 'A', env: envSpec(process.env['CHAOS_A']) },
  { name: 'B', env: envSpec(process.env['CHAOS_B']) },
];
const ROUNDS = Number(process.env['CHAOS_ROUNDS'] ?? 4);
const mode = process.argv[2] ?? 'many';
const keep = process.env['CHAOS_KEEP'];
if (keep === undefined) throw new Error('CHAOS_KEEP=<dir> names the record to copy (made by readers.ts on its first run)');


const root = await mkdtemp(join(tmpdir(), 'annals-chaos-ab-'));
const servers: ChildProcess[] = [];
try {
  if (!existsSync(join(keep, 'events.db'))) await record(keep);
  const started = [];
  for (const s of sides) {
    const dir = join(root, s.name);
    await cp(keep, dir, { recursive: true });
    const { child, port } = await startServer(dir, s.env);
    servers.push(child);
    await caughtUp(port);
    started.push({ ...s, child, port, health: [] as number[], recorder: [] as number[], load: {} as Record<string, number>, cpu: 0, seconds: 0 });
  }
  console.log(`A: ${JSON.stringify(sides[0]?.env)}  B: ${JSON.stringify(sides[1]?.env)}  mode ${mode}, ${ROUNDS} rounds`);
  const ms = (n: number): string => n.toFixed(1).padStart(7);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? started : [...started].reverse()) {
      const cpu0 = await cpuSeconds(s.child.pid as number);
      const t0 = performance.now();
      const r = await phase(s.port, mode, mode);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = (await cpuSeconds(s.child.pid as number)) - cpu0;
      s.health.push(...r.health.latencies);
      s.recorder.push(...r.recorder.latencies);
      for (const [k, v] of Object.entries(r.load)) s.load[k] = (s.load[k] ?? 0) + v;
      s.cpu += cpu;
      s.seconds += seconds;
      const h = r.health.latencies;
      console.log(`round ${round} ${s.name}: /healthz p50 ${ms(quantile(h, 0.5))} p99 ${ms(quantile(h, 0.99))} max ${ms(h.at(-1) ?? 0)} ms; recorder p99 ${ms(quantile(r.recorder.latencies, 0.99))} max ${ms(r.recorder.latencies.at(-1) ?? 0)} ms; load ${JSON.stringify(r.load)}; server CPU ${((cpu / seconds) * 100).toFixed(0)}%; load average ${loadavg()[0]?.toFixed(1)}`);
    }
  }
  for (const s of started) {
    const h = Float64Array.from(s.health).sort();
    const w = Float64Array.from(s.recorder).sort();
    console.log(`${s.name} pooled: /healthz n ${h.length} p50 ${ms(quantile(h, 0.5))} p99 ${ms(quantile(h, 0.99))} max ${ms(h.at(-1) ?? 0)} ms; recorder n ${w.length} p99 ${ms(quantile(w, 0.99))} max ${ms(w.at(-1) ?? 0)} ms; load ${JSON.stringify(s.load)}; server CPU ${((s.cpu / s.seconds) * 100).toFixed(0)}%`);
  }
} finally {
  for (const c of servers) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
  }
  await rm(root, { recursive: true, force: true });
}
