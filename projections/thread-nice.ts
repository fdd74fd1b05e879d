/**
 * A worker thread's own scheduling priority (Linux): the read workers run at a higher nice
 * value than the event loop, so that when the two cores are busy the kernel gives the CPU to
 * the event loop (/healthz, the answers' bytes) and to the writer before a heavy read's SQLite
 * work. Measured with 200 heavy readers (bench/chaos/readers.ts; README): the server was
 * CPU-bound, and a runnable read worker at the event loop's priority took a core's share from it.
 *
 * On Linux every thread is a task with an id of its own (`/proc/thread-self` links to
 * `PID/task/TID`), and setpriority(PRIO_PROCESS, TID) (`os.setPriority(tid, n)`) changes that
 * thread alone. Raising one's own nice value needs no privilege; lowering it again would
 * (CAP_SYS_NICE), which is why each worker sets it once, at its start. Elsewhere (no
 * /proc/thread-self: macOS, Windows) the thread keeps the process's priority.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface ThreadNice {
  /** The thread's task id (Linux), or null where threads have none we can name. */
  readonly tid: number | null;
  /** The nice value the thread runs at now (the process's where it could not be changed). */
  readonly nice: number;
  /** Why it could not be set, when it could not. */
  readonly error?: string;
}

/** This thread's task id from /proc/thread-self ("PID/task/TID"); null where there is none. */
export function threadId(): number | null {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Adds `by` to the calling thread's nice value (at most 19, the lowest priority; 0 leaves it
 * as it is). Relative, so the thread stays behind the event loop whatever nice the process was
 * started with. Never throws: a platform or a sandbox that refuses leaves the thread at the
 * process's priority, said in `error`.
 */
export function niceThisThread(by: number): ThreadNice {
  const tid = threadId();
  if (tid === null) return { tid, nice: getPriority(), ...(by === 0 ? {} : { error: 'no /proc/thread-self: threads keep the process priority here' }) };
  const now = getPriority(tid);
  if (by === 0) return { tid, nice: now };
  try {
    setPriority(tid, Math.min(19, now + by));
    return { tid, nice: getPriority(tid) };
  } catch (err) {
    return { tid, nice: now, error: err instanceof Error ? err.message : String(err) };
  }
}
