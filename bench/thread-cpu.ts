/**
 * CPU time of each thread of this process (Linux: /proc/self/task/<tid>/schedstat, ns on a
 * core), labelled by what it does: the main thread, each worker started through
 * startWorker (they announce their OS thread id when started from TypeScript sources), and
 * the rest together (V8's GC helpers, libuv's pool, the TypeScript loader threads).
 * Contention disturbs CPU time far less than wall time, so this is what bench:record compares.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { runningWorkers } from '../src/store/worker-thread.js';

const tidOf = new Map<number, number>();
const channel = new BroadcastChannel('annals:os-thread');
channel.onmessage = (e: MessageEvent) => {
  const m = e.data as { threadId: number; tid: number };
  tidOf.set(m.threadId, m.tid);
};
(channel as unknown as { unref(): void }).unref();

/** Per thread: ns on a core (schedstat), and of it the kernel's share in clock ticks (stat: utime, stime). */
function perTask(): Map<number, { ns: number; user: number; system: number }> {
  const out = new Map<number, { ns: number; user: number; system: number }>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      // Fields after the command name's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), { ns, user: Number(f[11]), system: Number(f[12]) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** The OS thread's name (V8's helpers: "V8 DefaultWorke"; libuv's pool: "libuv-worker"), or '?' once it ended. */
function threadName(tid: number): string {
  try {
    return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Each thread's CPU (µs, by label), and the kernel's share of it all (system / user + system time). */
export interface ThreadCpu {
  readonly byThread: Map<string, number>;
  readonly kernelShare: number;
}

/**
 * Each thread's CPU from now until the returned function is called, µs, by label ('main', worker
 * labels, 'other'). `workers`: the running workers as the measured code's own copy of
 * src/store/worker-thread.ts knows them (another worktree's, with BENCH_ROOT); default this one's.
 */
export function threadCpu(workers: () => ReadonlyMap<{ threadId: number }, string> = runningWorkers): () => ThreadCpu {
  const t0 = perTask();
  return () => {
    const t1 = perTask();
    const labels = new Map<number, string>([[process.pid, 'main']]);
    for (const [w, label] of workers()) {
      const tid = tidOf.get(w.threadId);
      if (tid !== undefined) labels.set(tid, label);
    }
    const out = new Map<string, number>();
    let user = 0;
    let system = 0;
    for (const [tid, now] of t1) {
      const before = t0.get(tid) ?? { ns: 0, user: 0, system: 0 };
      const label = labels.get(tid) ?? (process.env['BENCH_THREAD_IDS'] ? `tid ${tid} (${threadName(tid)})` : 'other');
      out.set(label, (out.get(label) ?? 0) + (now.ns - before.ns) / 1000);
      user += now.user - before.user;
      system += now.system - before.system;
    }
    return { byThread: out, kernelShare: system / Math.max(1, user + system) };
  };
}

/** "main 120, store writer 40, ... µs a fact" for `facts` facts. */
export function perFact({ byThread: cpu, kernelShare }: ThreadCpu, facts: number): string {
  const total = [...cpu.values()].reduce((a, b) => a + b, 0);
  const parts = [...cpu].sort((a, b) => b[1] - a[1]).map(([l, us]) => `${l} ${Math.round(us / facts)}`);
  return `${Math.round(total / facts)} us a fact = ${parts.join(', ')} (kernel ${(kernelShare * 100).toFixed(0)}% of it)`;
}
