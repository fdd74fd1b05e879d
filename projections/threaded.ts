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
import { startWorker } from '../src/store/worker-thread.js';
import { ReadModelsUnavailableError, RebuildInProgressError, openReader, type Position, type ProjectionStatus, type Readiness, type ReadModels, type RebuildProgress, type RebuildResult } from './index.js';
import { ReadQueries } from './queries.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

interface Asked {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  progress?: (p: RebuildProgress) => void;
}

/** Where a follower thread gets the writer's commits from (SqliteEventStore.handCommitted). */
export interface CommittedSource {
  handCommitted(name: string, deliver: (port: MessagePort) => void): boolean;
}

export async function openThreadedReadModels(init: ReadModelThreadInit, log: Logger, metrics?: MetricsSink): Promise<ReadModels & { poke(): void; feedFrom(source: CommittedSource): boolean; worker(): Worker }> {
  const url = new URL(`./thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  let worker!: Worker;
  /** The current thread said it is ready and has not exited since. */
  let alive = false;
  let readiness: Readiness = { ready: false, state: 'idle', position: null, parked: 0, rebuilding: false, lastError: null };
  let applied: Position | null = null;
  let caughtUp = false;
  let closed = false;
  let seq = 0;
  const asked = new Map<number, Asked>();
  const waiters = new PositionWaiters();
  const caughtUpWaiters: Array<() => void> = [];
  let db: Db | null = null;
  let queries: ReadQueries | null = null;
  let source: CommittedSource | null = null;
  /** Connects the current thread to the writer's commits (again after either restarts). */
  const connect = (w: Worker): boolean => source?.handCommitted('read models', (port) => w.postMessage({ kind: 'feed', port } satisfies ReadModelRequest, [port])) ?? false;

  const advance = (position: Position | null): void => {
    if (position === null || (applied !== null && position <= applied)) return;
    applied = position;
    // A read after this (a write's answer waits for it) reads a new snapshot.
    queries?.invalidate();
    waiters.reached(position);
  };
  const fail = (error: Error): void => {
    for (const a of asked.values()) a.reject(error);
    asked.clear();
  };

  /** Starts the thread; resolves once it is ready. A thread that dies later is started again. */
  const start = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const w = startWorker(url, { workerData: init }, 'read models', metrics);
      worker = w;
      connect(w);
      w.on('message', (m: ReadModelReply) => {
        switch (m.kind) {
          case 'ready':
            alive = true;
            readiness = m.readiness;
            advance(m.readiness.position);
            resolve();
            break;
          case 'failed':
            reject(m.mismatch ? new LogMismatchError(m.message) : new Error(`the read-model thread could not start: ${m.message}`));
            break;
          case 'applied':
            advance(m.position);
            break;
          case 'readiness':
            readiness = m.readiness;
            advance(m.readiness.position);
            break;
          case 'caught-up':
            caughtUp = true;
            for (const w of caughtUpWaiters.splice(0)) w();
            break;
          case 'status':
            asked.get(m.seq)?.resolve(m.value);
            asked.delete(m.seq);
            break;
          case 'progress':
            asked.get(m.seq)?.progress?.(m.value);
            break;
          case 'rebuilt': {
            // The thread swapped the fresh file in: read it from now on.
            const old = db;
            queries?.invalidate();
            db = openReader(init.path);
            queries = new ReadQueries(db);
            old?.close();
            asked.get(m.seq)?.resolve(m.value);
            asked.delete(m.seq);
            break;
          }
          case 'request-failed':
            asked.get(m.seq)?.reject(m.inProgress ? new RebuildInProgressError() : new Error(m.message));
            asked.delete(m.seq);
            break;
          default:
            break;
        }
      });
      w.on('error', (e) => {
        log.error({ err: e }, 'read-model thread failed');
        reject(e);
      });
      w.on('exit', (code) => {
        alive = false;
        readiness = { ...readiness, ready: false, state: 'stopped' };
        fail(new ReadModelsUnavailableError(`the read-model thread exited (${code}); retry shortly`));
        reject(new Error(`the read-model thread exited (${code}) before it was ready`));
        if (closed) return;
        // Reads go on from the file as it is; writes wait (up to their bound) for the next
        // thread, which resumes from the checkpoint.
        log.error({ code }, 'read-model thread exited; starting another in 1 s');
        setTimeout(() => {
          if (!closed) start().catch((e: unknown) => log.error({ err: e }, 'read-model thread did not restart'));
        }, 1000).unref();
      });
    });
  await start();
  db = openReader(init.path);
  queries = new ReadQueries(db);

  const ask = <T>(request: ReadModelRequest & { seq: number }, progress?: (p: RebuildProgress) => void): Promise<T> =>
    new Promise((resolve, reject) => {
      // Between a thread's exit and its successor's start, nobody would answer.
      if (!alive) return reject(new ReadModelsUnavailableError('the read-model thread is restarting; retry shortly'));
      asked.set(request.seq, { resolve: resolve as (v: unknown) => void, reject, ...(progress ? { progress } : {}) });
      worker.postMessage(request);
    });

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
    status: () => ask<ProjectionStatus>({ kind: 'status', seq: ++seq }),
    rebuild: (onProgress) => ask<RebuildResult>({ kind: 'rebuild', seq: ++seq }, onProgress),
    poke: () => worker.postMessage({ kind: 'poke' } satisfies ReadModelRequest),
    /** The writer hands its commits to this thread (and to each thread started after it); false: it cannot (inline writer), poke instead. */
    feedFrom(s) {
      source = s;
      return connect(worker);
    },
    /** The current thread (tests terminate it to see a restart). */
    worker: () => worker,
    async close() {
      if (closed) return;
      closed = true;
      waiters.cancelAll();
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.postMessage({ kind: 'close' } satisfies ReadModelRequest);
      });
      queries?.invalidate();
      db?.close();
    },
  };
}
