/**
 * A replay's read-out thread (replay-readout.ts starts it): first, given `successions`, makes
 * every office's succession in one pass (projections/offices/successions-pass.ts) into that file
 * of its own, the fold's attached, and says so (`sent[1]`); then reads out and serializes the
 * units it is handed (state.ts `unitLines`), in order, on a read-only connection of its own to
 * the fold's file, offices' successions read from that table.
 */
// First: this thread's heap was just made (src/young-generation.ts).
import '../young-generation.js';
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ReadQueries } from '../../projections/index.js';
import { makeSuccessions } from '../../projections/offices/successions-pass.js';
import { threadCpuMs } from '../../projections/terms-build.js';
import { unitLines, type Unit } from './state.js';
import { LOOKUP_CACHE_KIB, PASS, openSuccessions, type ReadOutInit, type ReadOutMessage } from './replay-readout.js';

const init = workerData as ReadOutInit;
const counter = new Int32Array(init.sent);
const say = (m: ReadOutMessage): void => {
  init.port.postMessage(m);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
};

const db = new Database(init.path, { readonly: true });
db.pragma(`cache_size = -${init.cacheKiB}`);
db.pragma('temp_store = MEMORY');
const queries = new ReadQueries(db);
let succession: ((office: string) => string) | undefined;
if (init.successions !== undefined) {
  try {
    makeSuccessions(init.successions, init.path, init.knownAt, init.passSteps === undefined ? undefined : timeStep(new Float64Array(init.passSteps)));
    const s = openSuccessions(init.successions, LOOKUP_CACHE_KIB);
    succession = s.lookup;
    init.port.once('close', () => s.db.close());
    Atomics.store(counter, 1, PASS.done);
  } catch (err) {
    say({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    Atomics.store(counter, 1, PASS.failed);
  }
  Atomics.notify(counter, 1);
}
init.port.on('message', (unit: Unit) => {
  try {
    say({ kind: 'unit', ...unitLines(queries, init.knownAt, unit, succession) });
  } catch (err) {
    say({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
});
// Ends when the replay closes its port (terminate() after).
init.port.once('close', () => db.close());

/**
 * The pass's steps timed into `into` (`annals replay --times`): each step's milliseconds, then this
 * thread's CPU milliseconds in it (Linux's /proc/thread-self/schedstat; NaN elsewhere).
 */
function timeStep(into: Float64Array): (i: number, ms: number) => void {
  let cpu = threadCpuMs() ?? Number.NaN;
  return (i, ms) => {
    const now = threadCpuMs() ?? Number.NaN;
    into[2 * i] = ms;
    into[2 * i + 1] = now - cpu;
    cpu = now;
  };
}
