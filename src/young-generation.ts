/**
 * The young generations held at their size (`annals replay`, whose peak memory is bounded: #19).
 * V8 grows a heap's young generation (two semi-spaces) whenever what survives its scavenges adds
 * up to its capacity, up to 2 x 16 MB for the main thread: the replay's command thread reached
 * that within seconds of its fold and kept it nearly to the end (V8 shrinks it only after a full
 * collection at a time of little allocation, or in one that reduces memory, which Node offers no
 * way to ask for), 32 MB of the process's ~230 MB peak (session 43, per-thread heap statistics).
 * Held, it keeps the 2 x 8 MB it has once the command's modules are loaded.
 *
 * V8 reads the growth factor (`--semi-space-growth-factor`) at each growth and puts one under 2
 * back to 2 as it configures a new heap (Heap::ConfigureHeap): so each worker started afterwards
 * sets it again as its module is loaded (it imports this module first: the environment it is
 * given says so), and the main thread once the worker is online (src/store/worker-thread.ts).
 * Those workers' young generations begin where they used to grow to (`--min-semi-space-size`,
 * bounded by their resourceLimits: 4 MB for the terms' and read-out threads; the decoding thread's
 * at half its 16 MB, which it still grows to: a worker's heap was seen to grow to its limit whatever
 * the factor). Process-wide and for the rest of the process: a test that runs `annals replay` in
 * its own process (test/cli-import.test.ts, runMain) keeps these flags and the environment mark for
 * the workers it starts afterwards (their memory, not their results); `annals replay` itself is a
 * process of its own and starts no other.
 */
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

/** Set in the environment the workers are given (a copy of this process's, taken as each starts). */
const HELD = 'ANNALS_YOUNG_GENERATIONS_HELD';

/** Holds the young generations from now on (see above); the workers started later begin near their resourceLimits' ceiling. */
export function holdYoungGenerations(): void {
  process.env[HELD] = '1';
  setFlagsFromString('--min-semi-space-size=16');
  holdAgain();
}

/** After a heap is made (a worker's, as it loads, or the main thread on its 'online'): the growth factor that heap's configuration put back, set again. */
export function holdAgain(): void {
  if (process.env[HELD] === '1') setFlagsFromString('--semi-space-growth-factor=1');
}

// A worker, as it loads: its own heap was just made.
if (!isMainThread) holdAgain();
