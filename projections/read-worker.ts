/**
 * A read worker (read-pool.ts): answers ReadQueries' questions on a connection of its own to
 * the read-model file, off the main thread's event loop. Before each question it ends its
 * snapshot if the main thread heard of events applied since (or reopens the file after a
 * rebuild's swap), so a question asked after a write's answer reads that write. Its start-up,
 * handshake and close are src/store/thread-worker.ts'.
 */
import type Database from 'better-sqlite3';
import { workerSide } from '../src/store/thread-worker.js';
import { openReader } from './index.js';
import { ReadQueries } from './queries.js';
import { APPLIED, FILE, type ReadReply, type ReadRequest, type ReadWorkerInit } from './read-pool.js';

const side = workerSide<ReadWorkerInit, ReadRequest, ReadReply>('projections/read-worker');
const { init, post } = side;
const counters = new Int32Array(init.counters);

let file = Atomics.load(counters, FILE);
let applied = Atomics.load(counters, APPLIED);
let db: Database.Database = openReader(init.path);
let queries = new ReadQueries(db, false, init.snapshotMs);

function answer(job: Exclude<ReadRequest, { kind: 'close' }>): void {
  try {
    const f = Atomics.load(counters, FILE);
    if (f !== file) {
      file = f;
      queries.invalidate();
      db.close();
      db = openReader(init.path);
      queries = new ReadQueries(db, false, init.snapshotMs);
    }
    const a = Atomics.load(counters, APPLIED);
    if (a !== applied) {
      applied = a;
      queries.invalidate();
    }
    const value = (queries[job.method] as (...args: unknown[]) => unknown)(...job.args);
    post({ kind: 'answer', seq: job.seq, value, snapshot: queries.snapshot() });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ kind: 'error', seq: job.seq, name: e.name, message: e.message });
  }
}

side.serve({
  ready: { kind: 'ready' },
  onMessage: answer,
  close() {
    queries.invalidate();
    db.close();
  },
});
