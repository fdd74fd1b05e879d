/**
 * ANNALS_READ_MODELS=writer (a prototype, #19): the event loop's side of read models applied
 * on the store writer's thread (projections/writer-apply.ts). Queries run here on a
 * connection of this thread; the position applied comes with the writer's outcomes (or just
 * after them), and answers waitFor (a write's 201, minPosition reads) and the read workers'
 * counter (read-pool.ts asks `applied()`). No thread of the read models' own: no rebuild while
 * the service runs in this mode (`annals rebuild` with the service stopped).
 */
import type { Logger } from 'pino';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { SqliteEventStore } from '../src/store/sqlite.js';
import { ReadModelWriter, openDb, type ParkedEvent } from './db.js';
import { ReadModelsUnavailableError, PROJECTIONS, ReadQueries, checkFollowedLog, openReader, type Position, type ProjectionStatus, type ReadModels } from './index.js';

const LAG_CAP = 10_000;

export async function openWriterReadModels(store: SqliteEventStore, path: string, log: Logger): Promise<ReadModels> {
  // The read models must follow this log (as openReadModels checks), before the writer thread applies anything to them.
  const check = openDb(path);
  let applied: Position | null;
  try {
    const writer = new ReadModelWriter(check, log);
    await checkFollowedLog(store, writer, path);
    // Until the writer thread says where it got: where the read models stand in their file.
    applied = writer.checkpoint().position;
  } finally {
    check.close();
  }
  let heard = false;
  let closed = false;
  const waiters = new PositionWaiters();
  const heardWaiters: Array<() => void> = [];
  const reader = openReader(path);
  const queries = new ReadQueries(reader);
  const parkedCount = reader.prepare('SELECT count(*) FROM parked').pluck();
  const listening = store.onReadModelsApplied((position) => {
    if (!heard) {
      heard = true;
      for (const w of heardWaiters.splice(0)) w();
    }
    if (position === null || (applied !== null && position <= applied)) return;
    applied = position;
    // A read after this (a write's answer waits for it) reads a new snapshot.
    queries.invalidate();
    waiters.reached(position);
  });
  if (!listening) {
    reader.close();
    throw new Error('ANNALS_READ_MODELS=writer needs the embedded store with its writer thread (ANNALS_SQLITE_WRITER=thread)');
  }
  const parked = (): number => (closed ? 0 : (parkedCount.get() as number));
  return {
    get queries() {
      if (closed) throw new ReadModelsUnavailableError('the read models are closed');
      return queries;
    },
    start: () => undefined,
    caughtUp: () => (heard || closed ? Promise.resolve() : new Promise<void>((resolve) => heardWaiters.push(resolve))),
    waitFor(position, timeoutMs) {
      if (applied !== null && applied >= position) return Promise.resolve(true);
      return closed ? Promise.resolve(false) : waiters.wait(position, timeoutMs);
    },
    applied: () => applied,
    readiness: () => ({ ready: heard && !closed, state: heard ? 'live' : 'catching-up', position: applied, parked: parked(), rebuilding: false, lastError: null }),
    async status(): Promise<ProjectionStatus> {
      const cp = reader.prepare('SELECT position, applied FROM checkpoint WHERE id = 1').get() as { position: string | null; applied: number };
      const head = await store.head();
      const pending = head !== null && (cp.position === null || head > cp.position) ? await store.readAll({ ...(cp.position ? { after: cp.position } : {}), limit: LAG_CAP + 1 }) : [];
      const first = pending[0];
      const events = reader.prepare('SELECT position, event_id AS eventId, type, fact_id AS factId, error FROM parked ORDER BY position LIMIT 100').all() as ParkedEvent[];
      return {
        readModels: PROJECTIONS.map((p) => ({ name: p.name, version: p.version, tables: p.tables.map((t) => t.name) })),
        state: heard ? 'live' : 'catching-up',
        caughtUpOnce: heard,
        checkpoint: cp.position,
        applied: cp.applied,
        head,
        lag: { events: Math.min(pending.length, LAG_CAP), capped: pending.length > LAG_CAP, seconds: first ? Math.max(0, (Date.now() - Date.parse(first.recordedAt)) / 1000) : 0 },
        parked: { count: parked(), events },
        rebuilding: false,
        lastError: null,
      };
    },
    rebuild: () => Promise.reject(new ReadModelsUnavailableError("the read models are applied on the store writer's thread (ANNALS_READ_MODELS=writer): a rebuild is not run by the service in this mode; stop it and run 'annals rebuild'")),
    async close() {
      if (closed) return;
      closed = true;
      waiters.cancelAll();
      queries.invalidate();
      reader.close();
    },
  };
}
