/**
 * What each heavy read of the chaos mix costs the server's event loop, in CPU time: the main
 * thread's own time on a CPU (/proc/PID/task/PID/schedstat, nanoseconds) per answer, one
 * request at a time. Time on a CPU, not time waited for one, so other work on the machine
 * disturbs it little (the shared machine's load does not turn into figures). Two
 * configurations side by side (CHAOS_A, CHAOS_B as readers-ab.ts takes them: SERVER=<another
 * checkout's src/server.ts>, NODE_ARGS, or the server's environment), alternating batches.
 *
 *   CHAOS_KEEP=/tmp/rec CHAOS_A='SERVER=/tmp/before/src/server.ts' node --import tsx bench/chaos/loop-cost.ts
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { HEAVY, caughtUp, envSpec, startServer } from './readers.js';


const keep = process.env['CHAOS_KEEP'];
if (keep === undefined) throw new Error('CHAOS_KEEP=<dir> names the record (made by readers.ts)');
const BATCH = Number(process.env['CHAOS_BATCH'] ?? 20);
const ROUNDS = Number(process.env['CHAOS_ROUNDS'] ?? 3);
const PATHS = [...HEAVY, '/healthz'];

/** The main thread's time on a CPU so far, in ns (its task id is the process id). */
const onCpu = async (pid: number): Promise<number> => Number((await readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')).split(' ')[0]);


const root = await mkdtemp(join(tmpdir(), 'annals-loop-cost-'));
const servers: ChildProcess[] = [];
try {
  const sides: { name: string; spec: string | undefined; child: ChildProcess; port: number; ns: Map<string, number[]>; statuses: Map<string, Set<number>> }[] = [];
  for (const [name, spec] of [['A', process.env['CHAOS_A']], ['B', process.env['CHAOS_B']]] as const) {
    const dir = join(root, name);
    await cp(keep, dir, { recursive: true });
    // Every request answered (no shedding, no per-client limit): the cost of an answer, not of a refusal.
    const { child, port } = await startServer(dir, { ANNALS_SHED_EVENT_LOOP_DELAY_MS: '0', ANNALS_READ_TURN_BUDGET_MS: '0', ANNALS_RATE_LIMIT_ANONYMOUS: '0', ...envSpec(spec) });
    servers.push(child);
    await caughtUp(port);
    sides.push({ name, spec, child, port, ns: new Map<string, number[]>(), statuses: new Map<string, Set<number>>() });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const path of PATHS) {
      for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
        const pid = s.child.pid as number;
        await (await fetch(`http://127.0.0.1:${s.port}${path}`)).arrayBuffer();
        const before = await onCpu(pid);
        for (let i = 0; i < BATCH; i++) {
          const res = await fetch(`http://127.0.0.1:${s.port}${path}`);
          await res.arrayBuffer();
          (s.statuses.get(path) ?? s.statuses.set(path, new Set()).get(path))?.add(res.status);
        }
        // The schedstat read itself costs the server nothing; the idle loop between requests a little (the same on both sides).
        (s.ns.get(path) ?? s.ns.set(path, []).get(path))?.push((await onCpu(pid)) - before);
      }
    }
  }
  console.log(`event-loop CPU per answer, µs (median of ${ROUNDS} batches of ${BATCH}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log(`A: ${sides[0]?.spec ?? ''}\nB: ${sides[1]?.spec ?? ''}`);
  for (const path of PATHS) {
    const med = (s: (typeof sides)[number]): number => {
      const v = [...(s.ns.get(path) ?? [])].sort((a, b) => a - b);
      return (v[Math.floor(v.length / 2)] ?? 0) / BATCH / 1000;
    };
    const [a, b] = sides.map(med) as [number, number];
    console.log(`  ${path.padEnd(44)} A ${a.toFixed(0).padStart(7)}  B ${b.toFixed(0).padStart(7)}  B/A ${(b / a).toFixed(2)}  statuses ${sides.map((s) => [...(s.statuses.get(path) ?? [])].join('/')).join(' | ')}`);
  }
} finally {
  for (const c of servers) {
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
  }
  await rm(root, { recursive: true, force: true });
}
