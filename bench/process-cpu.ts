/**
 * Another process's CPU (Linux: /proc/<pid>/task/<tid>/schedstat, ns on a core): its main
 * thread's (a Node server's event loop) and all its threads' together. bench/read.ts and
 * bench/cold-holder.ts read the server they started; bench/thread-cpu.ts reads this process's
 * own threads by what each does.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU (ns) of `pid`'s main thread (`loop`) and of all its threads (`all`); a thread gone meanwhile counts 0. */
export function processCpu(pid: number): { loop: number; all: number } {
  const ns = (tid: string): number => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      return 0;
    }
  };
  return { loop: ns(String(pid)), all: readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => sum + ns(tid), 0) };
}
