/**
 * ANNALS_READ_MODELS=writer (#19, the embedded store's default): the event loop's side of read
 * models applied on the store writer's thread (projections/writer-apply.ts). Queries run here
 * on a connection of this thread; the position applied comes with the writer's outcomes (or
 * just after them), and answers waitFor (a write's 201, minPosition reads) and the read
 * workers' counter (read-pool.ts asks `applied()`); where the read models stand (catching up,
 * live, failing) comes when it changes, and answers readiness and status.
 *
 * A rebuild while the service runs: built in a thread of its own (writer-rebuild-thread.ts)
 * from the log, while the writer thread goes on applying the commits to the file in use and
 * reads are answered from it; at the log's head the writer thread's apply pauses (its file
 * closed), the build reads the last events and finishes, the fresh file is renamed over the
 * old one here, the readers move to it, and the writer thread's apply resumes on it, catching
 * up from its checkpoint what was committed meanwhile. A write's answer waits for that (up
 * to ANNALS_READ_WAIT_MS) as it would for the runner in thread mode.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import type { Database as Db } from 'better-sqlite3';
import type { Logger } from 'pino';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { SqliteEventStore } from '../src/store/sqlite.js';
import type { WriterModelsState } from '../src/store/sqlite-writer-protocol.js';
import { startWorker } from '../src/store/worker-thread.js';
import { revived } from './crossed-errors.js';
import { ReadModelWriter, openDb, type ParkedEvent } from './db.js';
import {
  ASIDE,
  ReadModelsUnavailableError,
  PROJECTIONS,
  ReadQueries,
  RebuildFailedError,
  RebuildInProgressError,
  RebuildStoppedError,
  WAL_FILES,
  checkFollowedLog,
  openReader,
  type Position,
  type ProjectionStatus,
  type ReadModels,
  type RebuildProgress,
  type RebuildResult,
} from './index.js';
import type { WriterRebuildInit, WriterRebuildReply, WriterRebuildRequest } from './writer-rebuild-thread.js';

const LAG_CAP = 10_000;
const REOPEN_FIRST_MS = 250;
const REOPEN_MAX_MS = 10_000;

export async function openWriterReadModels(store: SqliteEventStore, path: string, log: Logger, logLevel = 'info'): Promise<ReadModels> {
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
  /** Where the writer thread says the read models stand (null: it has not said yet). */
  let state: WriterModelsState | null = null;
  let caughtUpOnce = false;
  let closed = false;
  let rebuilding = false;
  /** Stops the rebuild in flight (close() does, rather than wait for its end), and its end. */
  let stopRebuild: AbortController | null = null;
  let rebuildEnded: Promise<unknown> = Promise.resolve();
  const waiters = new PositionWaiters();
  const caughtUpWaiters: Array<() => void> = [];
  const fileListeners: Array<() => void> = [];
  let reader: Db | null = openReader(path);
  let queries: ReadQueries | null = new ReadQueries(reader);
  /** Why there is no file to read (a rebuild's swap could not open it; retried), or null. */
  let unavailable: string | null = null;
  let reopenTimer: NodeJS.Timeout | null = null;
  const advance = (position: Position | null): void => {
    if (position === null || (applied !== null && position <= applied)) return;
    applied = position;
    // A read after this (a write's answer waits for it) reads a new snapshot.
    queries?.invalidate();
    waiters.reached(position);
  };
  const listening = store.onReadModelsApplied(advance, (s) => {
    state = s;
    if (s.live && !caughtUpOnce) {
      caughtUpOnce = true;
      for (const w of caughtUpWaiters.splice(0)) w();
    }
  });
  if (!listening) {
    reader.close();
    throw new Error('ANNALS_READ_MODELS=writer needs the embedded store with its writer thread (ANNALS_SQLITE_WRITER=thread)');
  }
  const parked = (): number => (reader === null ? 0 : (reader.prepare('SELECT count(*) FROM parked').pluck().get() as number));
  const runnerState = (): ProjectionStatus['state'] => (closed ? 'stopped' : state === null ? 'idle' : state.error !== null ? 'retrying' : state.live ? 'live' : 'catching-up');
  const lastError = (): string | null => unavailable ?? state?.error ?? null;

  /** The readers on the file at the path now; one that fails is tried again with a backoff, reads answer 503 meanwhile. */
  const reopen = (delayMs = REOPEN_FIRST_MS): void => {
    reopenTimer = null;
    if (closed) return;
    try {
      reader = openReader(path);
      queries = new ReadQueries(reader);
      unavailable = null;
    } catch (err) {
      unavailable = `the read models in ${path} could not be opened for reading: ${(err as Error).message}; retrying (check the disk under it: room, permissions)`;
      log.error({ err, retryInMs: delayMs }, 'the read models could not be opened for reading; retrying');
      reopenTimer = setTimeout(() => reopen(Math.min(delayMs * 2, REOPEN_MAX_MS)), delayMs);
      reopenTimer.unref();
    }
    for (const l of fileListeners) l();
  };

  /** The fresh file renamed over the old one (its WAL aside until then, as openReadModels' swap does), the readers moved to it. */
  const swap = (fresh: string): void => {
    queries?.invalidate();
    reader?.close();
    [reader, queries] = [null, null];
    let renamed = false;
    try {
      for (const suffix of WAL_FILES) if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${path}${suffix}${ASIDE}`);
      renameSync(fresh, path);
      renamed = true;
    } finally {
      for (const suffix of WAL_FILES) {
        const aside = `${path}${suffix}${ASIDE}`;
        if (!existsSync(aside)) continue;
        try {
          if (!renamed) renameSync(aside, `${path}${suffix}`);
        } finally {
          rmSync(aside, { force: true });
        }
      }
      if (!renamed) rmSync(fresh, { force: true });
      reopen();
    }
  };

  /** Builds in a thread of its own (writer-rebuild-thread.ts); the writer thread's apply paused for the last events and the swap. */
  const rebuildLive = async (onProgress: ((p: RebuildProgress) => void) | undefined, signal: AbortSignal): Promise<RebuildResult> => {
    const fresh = `${path}.rebuild`;
    const init: WriterRebuildInit = { events: store.path, fresh, logLevel };
    const worker = startWorker(new URL(`./writer-rebuild-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: init }, 'read models rebuild');
    const tell = (m: WriterRebuildRequest): void => worker.postMessage(m);
    const stop = (): void => tell({ kind: 'stop' });
    signal.addEventListener('abort', stop, { once: true });
    let pausing: Promise<void> | null = null;
    try {
      const built = await new Promise<RebuildResult>((resolve, reject) => {
        worker.on('message', (m: WriterRebuildReply) => {
          if (m.kind === 'progress') onProgress?.(m.value);
          else if (m.kind === 'built') resolve(m.value);
          else if (m.kind === 'failed') reject(revived(m.error));
          else {
            pausing = store.readModelsOnWriter('pause');
            pausing.then(() => tell({ kind: 'paused' }), reject);
          }
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new RebuildFailedError(`the rebuild's thread stopped (exit code ${code}) before it finished; the read models in use are as they were`)));
      });
      try {
        swap(fresh);
      } catch (err) {
        throw new RebuildFailedError(`the read models were rebuilt but could not be swapped in: ${(err as Error).message}. The service runs on the read models it had, caught up from the log (nothing acknowledged is lost); check the disk under ${path} (room, permissions) and run the rebuild again`, { cause: err });
      }
      log.info(built, 'read models rebuilt and swapped in');
      return built;
    } catch (err) {
      if (err instanceof RebuildStoppedError) log.warn('rebuild stopped before it completed (asked to: the service is stopping); its fresh file removed, the read models are as they were');
      else log.error({ err }, 'rebuild failed; the service runs on the read models it had');
      throw err;
    } finally {
      signal.removeEventListener('abort', stop);
      await worker.terminate();
      rmSync(fresh, { force: true });
      if (pausing !== null) {
        await (pausing as Promise<void>).catch(() => undefined);
        // The writer thread's apply on the file at the path now (the fresh one, or the old one if the swap did not happen), from its checkpoint.
        await store.readModelsOnWriter('resume').catch((err: unknown) => log.error({ err }, 'the read models on the writer thread could not be resumed after the rebuild; they resume when the writer thread starts again'));
      }
    }
  };

  return {
    get queries() {
      if (closed) throw new ReadModelsUnavailableError('the read models are closed');
      if (queries === null) throw new ReadModelsUnavailableError(unavailable ?? 'the read models are being swapped; retry shortly');
      return queries;
    },
    start: () => undefined,
    caughtUp: () => (caughtUpOnce || closed ? Promise.resolve() : new Promise<void>((resolve) => caughtUpWaiters.push(resolve))),
    waitFor(position, timeoutMs) {
      if (applied !== null && applied >= position) return Promise.resolve(true);
      return closed ? Promise.resolve(false) : waiters.wait(position, timeoutMs);
    },
    applied: () => applied,
    readiness: () => ({ ready: caughtUpOnce && !closed && state?.error == null && unavailable === null, state: runnerState(), position: applied, parked: parked(), rebuilding, lastError: lastError() }),
    async status(): Promise<ProjectionStatus> {
      if (reader === null) throw new ReadModelsUnavailableError(unavailable ?? 'the read models are being swapped; retry shortly');
      const r = reader;
      const cp = r.prepare('SELECT position, applied FROM checkpoint WHERE id = 1').get() as { position: string | null; applied: number };
      const head = await store.head();
      const pending = head !== null && (cp.position === null || head > cp.position) ? await store.readAll({ ...(cp.position ? { after: cp.position } : {}), limit: LAG_CAP + 1 }) : [];
      const first = pending[0];
      const events = r.prepare('SELECT position, event_id AS eventId, type, fact_id AS factId, error FROM parked ORDER BY position LIMIT 100').all() as ParkedEvent[];
      return {
        readModels: PROJECTIONS.map((p) => ({ name: p.name, version: p.version, tables: p.tables.map((t) => t.name) })),
        state: runnerState(),
        caughtUpOnce,
        checkpoint: cp.position,
        applied: cp.applied,
        head,
        lag: { events: Math.min(pending.length, LAG_CAP), capped: pending.length > LAG_CAP, seconds: first ? Math.max(0, (Date.now() - Date.parse(first.recordedAt)) / 1000) : 0 },
        parked: { count: parked(), events },
        rebuilding,
        lastError: lastError(),
      };
    },
    async rebuild(onProgress, signal) {
      if (rebuilding) throw new RebuildInProgressError();
      if (closed || signal?.aborted) throw new RebuildStoppedError();
      rebuilding = true;
      const stop = new AbortController();
      const forward = (): void => stop.abort();
      signal?.addEventListener('abort', forward, { once: true });
      stopRebuild = stop;
      const run = rebuildLive(onProgress, stop.signal).finally(() => {
        signal?.removeEventListener('abort', forward);
        [rebuilding, stopRebuild] = [false, null];
      });
      rebuildEnded = run.catch(() => undefined);
      return run;
    },
    onFileChange: (listener) => void fileListeners.push(listener),
    async close() {
      if (closed) return;
      closed = true;
      waiters.cancelAll();
      // A rebuild in flight stops at its next batch (its fresh file removed) rather than hold the close.
      stopRebuild?.abort();
      await rebuildEnded;
      if (reopenTimer !== null) clearTimeout(reopenTimer);
      queries?.invalidate();
      reader?.close();
      [reader, queries] = [null, null];
    },
  };
}
