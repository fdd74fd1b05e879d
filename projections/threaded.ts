/**
 * ReadModels whose projection runner works in a thread of its own (thread.ts). Queries run
 * here on a connection of this thread to the same file; what the thread applied arrives as
 * messages, which answer waitFor (the write's 201, minPosition reads), drop the cache of the
 * current record and keep readiness. A rebuild runs in the thread; after it, whatever its
 * outcome, queries move to a connection on the file at the path (the old one keeps reading
 * the file it opened until then, so no read fails in between), or answer 503 while the
 * thread cannot open that file (a failed rebuild's reopen, retried there) or this thread
 * cannot (retried here with a backoff): never a replaced file, which the runner no longer
 * writes. Errors of a request keep their class across (crossed-errors.ts).
 */
import type { Database as Db } from 'better-sqlite3';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { LogMismatchError } from '../src/store/identity.js';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { MetricsSink } from '../src/metrics/sink.js';
import { ThreadClient } from '../src/store/thread-client.js';
import { revived } from './crossed-errors.js';
import { ReadModelsUnavailableError, RebuildStoppedError, openReader, type Position, type ProjectionStatus, type Readiness, type ReadModels, type RebuildProgress, type RebuildResult } from './index.js';
import { ReadQueries } from './queries.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

/** This thread's reopen of the file after a failure: first after, and at most every (ms). */
const REOPEN_FIRST_MS = 250;
const REOPEN_MAX_MS = 10_000;

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
  /** Why there is no file to read (the thread cannot open it, or this thread cannot), or null. */
  let unavailable: string | null = null;
  let reopenTimer: NodeJS.Timeout | null = null;
  let reopenMs = REOPEN_FIRST_MS;
  /** Drops this thread's connection (it may be on a file no longer at the path). */
  const drop = (): void => {
    if (reopenTimer !== null) clearTimeout(reopenTimer);
    reopenTimer = null;
    queries?.invalidate();
    db?.close();
    [db, queries] = [null, null];
  };
  /** A connection on the file at the path now; one that fails is tried again with a backoff, reads answer 503 meanwhile. */
  const reopen = (): void => {
    drop();
    if (closed) return;
    try {
      db = openReader(init.path);
      queries = new ReadQueries(db);
      unavailable = null;
      reopenMs = REOPEN_FIRST_MS;
    } catch (err) {
      unavailable = `the read models in ${init.path} could not be opened for reading: ${(err as Error).message}; retrying (check the disk under it: room, permissions)`;
      log.error({ err, retryInMs: reopenMs }, 'the read models could not be opened for reading; retrying');
      reopenTimer = setTimeout(reopen, reopenMs);
      reopenTimer.unref();
      reopenMs = Math.min(reopenMs * 2, REOPEN_MAX_MS);
    }
  };
  let source: CommittedSource | null = null;
  const fileListeners: Array<() => void> = [];
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
          // A thread (re)started has its file open: one this thread could not read before (a restart after a failed rebuild) is read again.
          if (unavailable !== null) {
            reopen();
            for (const l of fileListeners) l();
          }
          readiness = m.readiness;
          advance(m.readiness.position);
          break;
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
        case 'file':
          // Before a rebuild's answer (so a read after it reads the file at the path), and when the thread's file opens or stops opening.
          if (m.unavailable === null) reopen();
          else {
            drop();
            unavailable = m.unavailable;
          }
          for (const l of fileListeners) l();
          break;
        case 'rebuilt':
          client.settle(m.seq, m.value);
          break;
        case 'request-failed':
          client.fail(m.seq, revived(m.error));
          break;
        default:
          break;
      }
    },
  });
  await client.start();
  if (db === null && unavailable === null) reopen();

  return {
    get queries() {
      if (queries === null) throw new ReadModelsUnavailableError(unavailable ?? 'the read models are not open; retry shortly');
      return queries;
    },
    start: () => undefined,
    caughtUp: () => (caughtUp || closed ? Promise.resolve() : new Promise<void>((resolve) => caughtUpWaiters.push(resolve))),
    waitFor(position, timeoutMs) {
      if (applied !== null && applied >= position) return Promise.resolve(true);
      return closed ? Promise.resolve(false) : waiters.wait(position, timeoutMs);
    },
    applied: () => applied,
    readiness: () => ({ ...readiness, position: applied ?? readiness.position, ready: readiness.ready && !closed && unavailable === null, lastError: unavailable ?? readiness.lastError }),
    status: () => client.request<ProjectionStatus>((seq) => ({ kind: 'status', seq })),
    async rebuild(onProgress, signal) {
      if (signal?.aborted) throw new RebuildStoppedError();
      // The service stopping: the thread stops the rebuild at its next batch, and answers RebuildStoppedError.
      const stop = (): void => client.post({ kind: 'stop-rebuild' });
      signal?.addEventListener('abort', stop, { once: true });
      try {
        return await client.request<RebuildResult>((seq) => ({ kind: 'rebuild', seq }), onProgress as ((p: unknown) => void) | undefined);
      } finally {
        signal?.removeEventListener('abort', stop);
      }
    },
    poke: () => client.post({ kind: 'poke' }),
    onFileChange: (listener) => void fileListeners.push(listener),
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
      drop();
    },
  };
}
