/**
 * A replay's read-out thread (replay-readout.ts starts it): reads out and serializes the units
 * it is handed (state.ts `unitLines`), in order, on a read-only connection of its own to the
 * fold's file.
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ReadQueries } from '../../projections/index.js';
import { unitLines, type Unit } from './state.js';
import type { ReadOutInit, ReadOutMessage } from './replay-readout.js';

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
init.port.on('message', (unit: Unit) => {
  try {
    say({ kind: 'unit', ...unitLines(queries, init.knownAt, unit) });
  } catch (err) {
    say({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
});
// Ends when the replay closes its port (terminate() after).
init.port.once('close', () => db.close());
