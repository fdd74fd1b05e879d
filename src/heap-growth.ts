/**
 * How far V8 lets a heap grow past what a mark-compact left alive before it marks again. Under
 * a page load (documents at 32 connections, the 1,000,000-fact record, load 14–19) V8 chose a
 * small factor for the event loop's heap (~24 MB live, a limit of 44–54 MB) and marked it whole
 * every ~0.8–1 s: V8's helper threads spent ~140–180 µs an answer and each mark-compact's pause
 * (10–120 ms) shed reads as event-loop pressure. Growing twice what is alive (100%) marked every
 * few seconds instead: the helpers 158 → 81 µs an answer, all threads 900 → 707, 614 → 895 req/s
 * (bench/server-cpu.ts, the same build with and without it). But 100% made a fact in a batch
 * of 10,000 dearer on a quiet machine (`bench:record` BENCH_HEAP_GROWTH, five alternating pairs at
 * load 2.2–2.8: 231 against 210 µs over all threads, V8's helpers 67 against 56), where V8's own
 * factor grows the heap further for the batch's large bodies. 300% (the heap may reach four times
 * what is alive, V8's own ceiling) costs writes nothing (three pairs: 198 against 202 µs) and
 * reads less again (documents at 32 connections, load 2.5: 503 against 522 µs an answer with
 * 100%, V8's helpers 26 against 45). Process-wide: the workers' heaps follow it too. A value
 * given to node itself (`node --heap-growing-percent=N`) is left alone.
 */
import { setFlagsFromString } from 'node:v8';

/** Percent a heap may grow past its live size (V8's `--heap-growing-percent`); 0 lets V8 choose. */
export const HEAP_GROWING_PERCENT = 300;

/** The flag to set, or null when node was started with one of its own. */
export function heapGrowingFlag(execArgv: readonly string[], percent = HEAP_GROWING_PERCENT): string | null {
  if (percent <= 0 || execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return null;
  return `--heap-growing-percent=${percent}`;
}

/**
 * Sets it for this process (the event loop's heap and every worker's); read at each mark-compact's
 * new limit, so it holds from now on (test/heap-growth.test.ts counts the mark-compacts it saves).
 * `percent` as in heapGrowingFlag (bench:record's BENCH_HEAP_GROWTH gives one).
 */
export function setHeapGrowth(execArgv: readonly string[] = process.execArgv, percent = HEAP_GROWING_PERCENT): string | null {
  const flag = heapGrowingFlag(execArgv, percent);
  if (flag) setFlagsFromString(flag);
  return flag;
}
