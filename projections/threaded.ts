/**
 * ReadModels whose projection runner works in a thread of its own (thread.ts). Queries run
 * here on a connection of this thread to the same file; what the thread applied arrives as
 * messages, which answer waitFor (the write's 201, minPosition reads), drop the cache of the
 * current record and keep readiness. A rebuild runs in the thread; once it swapped the fresh
 * file in, queries move to a connection on it (the old one keeps reading the file it opened
 * until then, so no read fails in between).
 */
import type { Database as Db } from 'better-sqlite3';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { LogMismatchError } from '../src/store/identity.js';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { MetricsSink } from '../src/metrics/sink.js';
import { ThreadClient } from '../src/store/thread-client.js';
import { ReadModelsUnavailableError, RebuildInProgressError, openReader, type Position, type ProjectionStatus, type Readiness, type ReadModels, type RebuildProgress, type RebuildResult } from './index.js';
import { ReadQueries } from './queries.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

/** Where a follower thread gets the writer's commits from (SqliteEventStore.handCommitted). */
export interface CommittedSource {
  handCommitted(name: string, deliver: (port: MessagePort) => void): boolean;
}

export async function openThreadedReadModels(init: ReadModelThreadInit, log: Logger, metrics?: MetricsSink): Promise<ReadModels & { poke(): void; feedFrom(source: CommittedSource): boolean; worker(): Worker }> {
  let readiness: Readiness = { ready: false, state: 'idle', position: null, parked: 0, rebuilding: false, lastError: null };
  let applied: Position | null = null;
  let caughtUp = false;
  let closed = false;
  const waiters = new PositionWaiters();
  const caughtUpWaiters: Array<() => void> = [];
  let db: Db | null = null;
  let queries: ReadQueries | null = null;
  let source: CommittedSource | null = null;
  /** Connects a thread to the writer's commits (again after either restarts). */
  const connect = (w: Worker): boolean => source?.handCommitted('read models', (port) => w.postMessage({ kind: 'feed', port } satisfies ReadModelRequest, [port])) ?? false;

  const advance = (position: Position | null): void => {
    if (position === null || (applied !== null && position <= applied)) return;
    applied = position;
    // A read after this (a write's answer waits for it) reads a new snapshot.
    queries?.invalidate();
    waiters.reached(position);
  };

  // Reads go on from the file as it is while a thread restarts; writes wait (up to their
  // bound) for the next thread, which resumes from the checkpoint.
  const client: ThreadClient<ReadModelRequest, ReadModelReply> = new ThreadClient<ReadModelRequest, ReadModelReply>({
    module: new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
    workerData: init,
    label: 'read models',
    metrics,
    log,
    restart: 'later',
    unavailable: (reason) => new ReadModelsUnavailableError(`${reason}; retry shortly`),
    handshake: (m) => (m.kind === 'ready' ? { ready: true } : m.kind === 'failed' ? { failed: m.mismatch ? new LogMismatchError(m.message) : new Error(`the read-model thread could not start: ${m.message}`) } : null),
    onStart: (w) => connect(w),
    onExit: (code) => {
      readiness = { ...readiness, ready: false, state: 'stopped' };
      if (!closed) log.error({ code }, 'read-model thread exited; starting another in 1 s');
    },
    onError: (e) => log.error({ err: e }, 'read-model thread failed'),
    onRestartFailed: (e) => log.error({ err: e }, 'read-model thread did not restart'),
    onMessage: (m) => {
      switch (m.kind) {
        case 'ready':
        case 'readiness':
          readiness = m.readiness;
          advance(m.readiness.position);
          break;
        case 'applied':
          advance(m.position);
          break;
        case 'caught-up':
          caughtUp = true;
          for (const w of caughtUpWaiters.splice(0)) w();
          break;
        case 'status':
          client.settle(m.seq, m.value);
          break;
        case 'progress':
          client.progress(m.seq, m.value);
          break;
        case 'rebuilt': {
          // The thread swapped the fresh file in: read it from now on.
          const old = db;
          queries?.invalidate();
          db = openReader(init.path);
          queries = new ReadQueries(db);
          old?.close();
          client.settle(m.seq, m.value);
          break;
        }
        case 'request-failed':
          client.fail(m.seq, m.inProgress ? new RebuildInProgressError() : new Error(m.message));
          break;
        default:
          break;
      }
    },
  });
  await client.start();
  db = openReader(init.path);
  queries = new ReadQueries(db);

  return {
    get queries() {
      return queries as ReadQueries;
    },
    start: () => undefined,
    caughtUp: () => (caughtUp || closed ? Promise.resolve() : new Promise<void>((resolve) => caughtUpWaiters.push(resolve))),
    waitFor(position, timeoutMs) {
      if (applied !== null && applied >= position) return Promise.resolve(true);
      return closed ? Promise.resolve(false) : waiters.wait(position, timeoutMs);
    },
    applied: () => applied,
    readiness: () => ({ ...readiness, position: applied ?? readiness.position, ready: readiness.ready && !closed }),
    status: () => client.request<ProjectionStatus>((seq) => ({ kind: 'status', seq })),
    rebuild: (onProgress) => client.request<RebuildResult>((seq) => ({ kind: 'rebuild', seq }), onProgress as ((p: unknown) => void) | undefined),
    poke: () => client.post({ kind: 'poke' }),
    /** The writer hands its commits to this thread (and to each thread started after it); false: it cannot (inline writer), poke instead. */
    feedFrom(s) {
      source = s;
      const w = client.worker;
      return w !== null && connect(w);
    },
    /** The current thread (tests terminate it to see a restart). */
    worker: () => client.worker as Worker,
    async close() {
      if (closed) return;
      closed = true;
      waiters.cancelAll();
      await client.close({ kind: 'close' });
      queries?.invalidate();
      db?.close();
    },
  };
}
