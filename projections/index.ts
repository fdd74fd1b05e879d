/**
 * The read side: opens the read-model file, runs the projections (catch-up, then live),
 * answers queries, waits for positions (read-your-writes), reports status and rebuilds.
 *
 * One shared read-model database and one runner (one checkpoint) for every projection:
 * simpler than one per read model, and a batch is one transaction either way.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { ReadModelWriter, createAppendedIndexes, createIndexes, isStorageFault, makeLater, openDb, type Checkpoint, type LaterIndex, type LogEvent, type ParkedEvent } from './db.js';
import { ReadQueries } from './queries.js';
import { openReader, ReadModelsUnavailableError, RebuildFailedError, RebuildInProgressError, RebuildStoppedError } from './reader.js';
import { PROJECTIONS } from './registry.js';
import { Runner, type LogSource, type RunnerState } from './runner.js';
import { decodeInThread } from './rebuild-decoder.js';
import { SortFilesError, sortOnThreads, sorting } from './bulk-sorts.js';
import { analyzeBefore, analyzeWith, startTerms, type TermsBuild } from './terms-build.js';
import { READ_OUT_SKIPPED_TABLES } from './read-out.js';

/** The tables the terms are made from (offices/terms-index.ts). */
const TERMS_SOURCES = ['appointments', 'departures'];
/** Their sorts and indexes made before the terms' inputs are copied out: the departures' sorted copy, the order the copy reads them in. */
const TERMS_FIRST = ['departures'];
/**
 * Events from which a build makes its terms on a thread of their own by default: a thread's
 * start (its modules loaded, ~0.1-0.3 s built, seconds from TypeScript sources) costs about what
 * a smaller record's terms take (~0.6 s of CPU at 100,000 events, scaled from the
 * 1,000,000-fact record's 5-7 s; an estimate, not measured at that size).
 */
const TERMS_THREAD_EVENTS = 100_000;
import type { Database as Db } from 'better-sqlite3';
import { LogMismatchError, logIdentity, mismatch } from '../src/store/identity.js';
import { ensurePrivateFile } from '../src/store/private-files.js';

export { ReadQueries, everything } from './queries.js';
export type * from './queries.js';
export { PROJECTIONS } from './registry.js';
export { tableNames, indexTableNames } from './db.js';

export type Position = string;

export interface Readiness {
  /** Caught up with the log's head at least once since start, and the runner is not failing. */
  ready: boolean;
  state: RunnerState;
  position: Position | null;
  /** Events a projection could not apply: not the runner's readiness, but /readyz answers 503 while there are any (src/integrity/readiness.ts). */
  parked: number;
  rebuilding: boolean;
  lastError: string | null;
}

export interface ProjectionStatus {
  readModels: { name: string; version: number; tables: string[] }[];
  state: RunnerState;
  caughtUpOnce: boolean;
  checkpoint: Position | null;
  applied: number;
  head: Position | null;
  /** Events recorded but not applied yet (counted up to `capped`), and how old the oldest is. */
  lag: { events: number; capped: boolean; seconds: number };
  parked: { count: number; events: ParkedEvent[] };
  rebuilding: boolean;
  lastError: string | null;
}

export interface RebuildProgress {
  applied: number;
  position: Position | null;
  head: Position | null;
  elapsedMs: number;
  eventsPerSecond: number;
  /**
   * Once the log is applied: the step of the build that just ended (a sort, an index, the
   * terms, the temporal indexes, statistics: RebuildResult.phases' names), reported as each
   * ends, so the tens of seconds after the last event show progress too. Absent while the
   * log is applied.
   */
  stage?: string;
}

export interface RebuildResult {
  events: number;
  elapsedMs: number;
  eventsPerSecond: number;
  position: Position | null;
  /**
   * Where the time went: each phase of the build and its milliseconds, in order (the last ones:
   * sorting, indexes, terms, statistics). A phase with `thread` ran on that thread beside the
   * build's (the terms': their ms and cpuMs are that thread's), not on the build's path; or,
   * `build`, a part of the phase after it, timed apart (the terms made on the build's thread).
   */
  phases: { phase: string; ms: number; cpuMs: number; thread?: 'terms' | 'build' }[];
}

export interface ReadModels {
  /** The query facade on the current read-model file (replaced by a rebuild). */
  readonly queries: ReadQueries;
  /** Starts the runner (openReadModels already did; idempotent). */
  start(): void;
  /** Resolves once every read model applied `position`. */
  caughtUp(): Promise<void>;
  waitFor(position: Position, timeoutMs: number): Promise<boolean>;
  applied(): Position | null;
  readiness(): Readiness;
  status(): Promise<ProjectionStatus>;
  /**
   * Rebuilds every read model from the log into a fresh file and swaps it in. `signal` (the
   * service stopping) stops it at its next batch or finishing step, before the swap: the
   * fresh file is removed, the read models stay as they were, and it throws RebuildStoppedError.
   */
  rebuild(onProgress?: (p: RebuildProgress) => void, signal?: AbortSignal): Promise<RebuildResult>;
  /** Calls `listener` whenever the file at the path may have changed or stopped opening (the threaded read models, for the read workers: read-pool.ts release). */
  onFileChange?(listener: () => void): void;
  close(): Promise<void>;
}

export interface OpenReadModelsOptions {
  store: LogSource;
  /** The read-model SQLite file, e.g. `<dataDir>/readmodels.db`. */
  path: string;
  log: Logger;
  /** Events per transaction. Default 2000. */
  batchSize?: number;
  /** Called after every applied batch with the position applied (e.g. to tell another thread). */
  onApplied?: (position: Position) => void;
  /** Called with each connection that writes the read-model file, once opened (tests: PRAGMA max_page_count, to make the file full). */
  onWriterDb?: (db: Db) => void;
  /** First and longest pause between retries after a failure (Runner options). Defaults 250 ms and 10 s. */
  retryMs?: number;
  maxRetryMs?: number;
}

// A reader's connection and its refusal are reader.ts's (the read workers load that, not this runner).
export { openReader, ReadModelsUnavailableError, RebuildFailedError, RebuildInProgressError, RebuildStoppedError } from './reader.js';

const LAG_CAP = 10_000;
/** The old file's WAL and WAL index, and where a live rebuild's swap puts them until the rename is done. */
export const WAL_FILES = ['-wal', '-shm'] as const;
export const ASIDE = '.swapped-out';

export async function openReadModels(opts: OpenReadModelsOptions): Promise<ReadModels> {
  const log = opts.log.child({ component: 'projections' });
  let parked = 0;
  const onParked = (_p: ParkedEvent) => {
    parked += 1;
  };
  let db: Db = openDb(opts.path);
  let writer = new ReadModelWriter(db, log, onParked);
  try {
    await checkFollowedLog(opts.store, writer, opts.path);
  } catch (err) {
    db.close();
    throw err;
  }
  opts.onWriterDb?.(db);
  parked = writer.parkedCount();
  let reader = openReader(opts.path);
  let queries = new ReadQueries(reader);
  const onApplied = (_events: readonly LogEvent[]): void => {
    queries.invalidate();
    // A store that had no identity yet (an empty EventStoreDB log) has one once it holds an event.
    if (writer.checkpoint().log === null) {
      const w = writer;
      logIdentity(opts.store).then((id) => w.followLog(id), () => undefined);
    }
    if (opts.onApplied) {
      const position = writer.checkpoint().position;
      if (position !== null) opts.onApplied(position);
    }
  };
  const runnerOptions = { batchSize: opts.batchSize ?? 2000, onApplied, ...(opts.retryMs === undefined ? {} : { retryMs: opts.retryMs }), ...(opts.maxRetryMs === undefined ? {} : { maxRetryMs: opts.maxRetryMs }) };
  let runner = new Runner(writer, opts.store, log, runnerOptions);
  let rebuilding = false;
  /** Stops the rebuild in flight (close() does, rather than wait for it), or null. */
  let stopRebuild: AbortController | null = null;
  let rebuildEnded: Promise<unknown> = Promise.resolve();
  let closed = false;
  /** Why no read-model file is open (a rebuild closed the old one and could not open one since), or null. */
  let detached: string | null = null;
  let reopenTimer: NodeJS.Timeout | null = null;
  runner.start();

  /** Opens the file at opts.path for the runner and the queries, all or nothing: a failure leaves the state as it was. */
  const attach = (): void => {
    const nextDb = openDb(opts.path);
    let nextReader: Db | null = null;
    try {
      const nextWriter = new ReadModelWriter(nextDb, log, onParked);
      opts.onWriterDb?.(nextDb);
      const nextParked = nextWriter.parkedCount();
      nextReader = openReader(opts.path);
      [db, writer, parked, reader] = [nextDb, nextWriter, nextParked, nextReader];
      queries = new ReadQueries(reader);
      runner = new Runner(writer, opts.store, log, runnerOptions);
      detached = null;
      runner.start();
    } catch (err) {
      nextReader?.close();
      nextDb.close();
      throw err;
    }
  };
  /** A file that would not open: tried again with the runner's backoff until it opens (or close()); reads answer 503 meanwhile. */
  const reattachLater = (delayMs: number): void => {
    reopenTimer = setTimeout(() => {
      reopenTimer = null;
      try {
        attach();
        log.info({ path: opts.path }, 'read models reopened; catching up from the log');
      } catch (err) {
        detached = `the read models in ${opts.path} could not be opened: ${(err as Error).message}; retrying`;
        log.error({ err, retryInMs: delayMs }, 'read models could not be reopened; retrying');
        reattachLater(Math.min(delayMs * 2, opts.maxRetryMs ?? 10_000));
      }
    }, delayMs);
  };

  const models: ReadModels = {
    get queries() {
      if (detached !== null) throw new ReadModelsUnavailableError(detached);
      return queries;
    },
    start: () => runner.start(),
    caughtUp: () => runner.caughtUp(),
    async waitFor(position, timeoutMs) {
      // Survives a rebuild's swap: the old runner answers false when stopped, the new one is asked.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = runner;
        if (await r.waitFor(position, Math.max(0, deadline - Date.now()))) return true;
        if (closed || Date.now() >= deadline || (r === runner && !rebuilding)) return false;
        await new Promise((res) => setTimeout(res, 5));
      }
    },
    applied: () => runner.applied(),
    readiness() {
      const ready = runner.caughtUpOnce && runner.state !== 'retrying' && !closed && detached === null;
      return { ready, state: runner.state, position: runner.applied(), parked, rebuilding, lastError: detached ?? runner.lastError };
    },
    async status() {
      if (detached !== null) throw new ReadModelsUnavailableError(detached);
      const cp: Checkpoint = writer.checkpoint();
      const head = await opts.store.head();
      const pending = head !== null && (cp.position === null || head > cp.position) ? await opts.store.readAll({ ...(cp.position ? { after: cp.position } : {}), limit: LAG_CAP + 1 }) : [];
      const first = pending[0];
      const events = db.prepare('SELECT position, event_id AS eventId, type, fact_id AS factId, error FROM parked ORDER BY position LIMIT 100').all() as ParkedEvent[];
      return {
        readModels: PROJECTIONS.map((p) => ({ name: p.name, version: p.version, tables: p.tables.map((t) => t.name) })),
        state: runner.state,
        caughtUpOnce: runner.caughtUpOnce,
        checkpoint: cp.position,
        applied: cp.applied,
        head,
        lag: { events: Math.min(pending.length, LAG_CAP), capped: pending.length > LAG_CAP, seconds: first ? Math.max(0, (Date.now() - Date.parse(first.recordedAt)) / 1000) : 0 },
        parked: { count: parked, events },
        rebuilding,
        lastError: runner.lastError,
      };
    },
    rebuild(onProgress, signal) {
      if (rebuilding) return Promise.reject(new RebuildInProgressError());
      if (closed) return Promise.reject(new RebuildStoppedError());
      const stop = new AbortController();
      const forward = (): void => stop.abort();
      signal?.addEventListener('abort', forward, { once: true });
      if (signal?.aborted) stop.abort();
      stopRebuild = stop;
      const run = rebuildInto(onProgress, stop.signal).finally(() => {
        signal?.removeEventListener('abort', forward);
        stopRebuild = null;
      });
      rebuildEnded = run.catch(() => undefined);
      return run;
    },
    async close() {
      if (closed) return;
      closed = true;
      // A rebuild in flight stops at its next batch (its fresh file removed) rather than hold the close.
      stopRebuild?.abort();
      await rebuildEnded;
      if (reopenTimer !== null) clearTimeout(reopenTimer);
      await runner.stop();
      queries.invalidate();
      reader.close();
      db.close();
    },
  };

  async function rebuildInto(onProgress: ((p: RebuildProgress) => void) | undefined, signal: AbortSignal): Promise<RebuildResult> {
    rebuilding = true;
    // Read models left closed by a failed rebuild: this one opens them instead of the timer.
    if (reopenTimer !== null) clearTimeout(reopenTimer);
    reopenTimer = null;
    const fresh = `${opts.path}.rebuild`;
    let swapping = false;
    let renamed = false;
    try {
      const built = await buildFresh(
        opts.store,
        fresh,
        log,
        onProgress,
        async () => {
          // Pause the live runner: the last events go into the fresh file, then it is swapped in.
          await runner.stop();
        },
        { signal },
      );
      swapping = true;
      queries.invalidate();
      reader.close();
      db.close();
      // The old file's WAL and its index go aside, not away: if the rename fails they come
      // back, so that other connections of this process (the read workers, the event loop's
      // reader, with the read models in their thread) and the reopen share them again; SQLite
      // shares a file's WAL index within a process, and a reopen beside a connection still
      // holding a removed one fails (SQLITE_IOERR_SHORT_READ).
      for (const suffix of WAL_FILES) if (existsSync(`${opts.path}${suffix}`)) renameSync(`${opts.path}${suffix}`, `${opts.path}${suffix}${ASIDE}`);
      renameSync(fresh, opts.path);
      renamed = true;
      for (const suffix of WAL_FILES) rmSync(`${opts.path}${suffix}${ASIDE}`, { force: true });
      attach();
      log.info(built, 'read models rebuilt and swapped in');
      return built;
    } catch (err) {
      if (!swapping) {
        // The old file is untouched until the rename: resume following it (or keep trying to open it).
        if (err instanceof RebuildStoppedError) log.warn('rebuild stopped before it completed (asked to: the service is stopping); its fresh file removed, the read models are as they were');
        if (closed) throw err;
        if (detached !== null) reattachLater(opts.retryMs ?? 250);
        else if (runner.state === 'stopped') {
          runner = new Runner(writer, opts.store, log, runnerOptions);
          runner.start();
        }
        throw err;
      }
      // The old connections are closed: open what is at opts.path now (the old file if the
      // rename failed, the rebuilt one if it succeeded); the runner catches up from the log.
      rmSync(fresh, { force: true });
      for (const suffix of WAL_FILES) {
        const aside = `${opts.path}${suffix}${ASIDE}`;
        if (!existsSync(aside)) continue;
        try {
          if (!renamed) renameSync(aside, `${opts.path}${suffix}`);
        } finally {
          // Not back (or not to be): the old file opens without it, as it would after a crash here.
          rmSync(aside, { force: true });
        }
      }
      const which = renamed ? 'the rebuilt read models' : 'the read models it had';
      const what = renamed ? `the rebuilt read models were swapped in but could not be opened: ${(err as Error).message}` : `the read models were rebuilt but could not be swapped in: ${(err as Error).message}`;
      let reopenError: unknown = null;
      try {
        attach();
      } catch (again) {
        reopenError = again;
      }
      if (reopenError === null) {
        log.error({ err }, `rebuild failed; the service runs on ${which}`);
        throw new RebuildFailedError(`${what}. The service runs on ${which}, caught up from the log (nothing acknowledged is lost); check the disk under ${opts.path} (room, permissions) and run the rebuild again`, { cause: err });
      }
      detached = `${what}; opening ${opts.path} again failed: ${(reopenError as Error).message}`;
      log.error({ err, reopenError }, 'rebuild failed and the read models could not be reopened; retrying');
      reattachLater(opts.retryMs ?? 250);
      throw new RebuildFailedError(`${detached}. Reads answer 503 while it is tried again with a backoff (up to every ${(opts.maxRetryMs ?? 10_000) / 1000} s); nothing acknowledged is lost (the read models catch up from the log once open). Check the disk under ${opts.path} (room, permissions); 'annals rebuild' rebuilds the file if it stays unreadable`, { cause: err });
    } finally {
      rebuilding = false;
    }
  }
  return models;
}


/**
 * Refuses read models that follow another log, or a log that lost what they applied
 * (src/store/identity.ts); otherwise records the log's identity in them.
 */
export async function checkFollowedLog(store: LogSource, writer: ReadModelWriter, path: string): Promise<void> {
  const cp = writer.checkpoint();
  // Read models older than the checkpoint's event id: only the position can be checked.
  const previous = cp.position !== null && cp.eventId === null ? undefined : cp.previous;
  const problem = await mismatch(store, { identity: cp.log, position: cp.position, previous }, (e) => cp.eventId === null || e.id === cp.eventId);
  if (problem !== null) {
    throw new LogMismatchError(`the read models in ${path} do not follow this log: ${problem}. Nothing was served. Stop here, check ANNALS_DATA_DIR and ANNALS_EVENT_STORE, then run 'annals rebuild' (it rebuilds them from the log) and start again`);
  }
  writer.followLog(await logIdentity(store));
}

export interface BuildOptions {
  /** Events read from the log at a time. Default 5000; on the decoding thread at most DECODED_BATCH (1,000). */
  readonly pageSize?: number;
  /** Only the events recorded at or before this moment (`annals replay`): the read models as they stood then. */
  readonly knownAt?: string;
  /**
   * Sorts and index builds spill to temporary files instead of memory (`annals replay`:
   * memory that does not grow with the record). Default false (temp_store = MEMORY).
   */
  readonly tempOnDisk?: boolean;
  /**
   * Reads and decodes the log on a thread of its own (rebuild-decoder.ts), when it is the
   * embedded store's file (`store.path`): the writer's thread then only inserts rows.
   * Default: when the log's first page is full (a small log is not worth a thread's start);
   * with `tempOnDisk` (a replay) only when built (from `dist/`: a thread running TypeScript
   * sources loads their compiler too, ~50 MB), with 4 batches ahead and a 16 MB young
   * generation instead of 6 and 64 (2 and 8 from session 36 to 40: bench/RESULTS.md, "Replay
   * and export", session 36, and session 41).
   */
  readonly decodeThread?: boolean;
  /**
   * Cuts the terms and builds their indexes on a thread of its own (terms-build.ts) while the
   * other tables' indexes are built. Default: with 100,000 events or more, with `tempOnDisk`
   * only when built (the thread bounded: terms-build.ts BOUNDED_TERMS), not from a worker
   * running TypeScript sources. Without it the same steps run
   * on the build's thread, after the others; the file is the same either way.
   */
  readonly termsThread?: boolean;
  /**
   * A replay's fold (read-out.ts, with `tempOnDisk`): only the tables and indexes its read-out
   * reads are built (no timeline, names, spans nor temporal index, 13 of the query indexes),
   * the kept ones as a rebuild builds them. The file is not a read model a server could use.
   */
  readonly readOutOnly?: boolean;
  /**
   * Stops the build at its next batch or finishing step with RebuildStoppedError, its file
   * removed (the service stopping, `annals rebuild` interrupted). With one, the build also
   * lets the event loop turn between batches, so that what aborts it (a message, a signal) is heard.
   */
  readonly signal?: AbortSignal;
}

/**
 * Builds every read model from the log into a fresh file at `path` (replacing any leftover),
 * calling `beforeLastPage` once the log's head seen at the start is reached, then reading to
 * the end again. Used by ReadModels.rebuild and by `annals rebuild` on a stopped service.
 */
/** Events a decoded batch holds at most (rebuild-decoder.ts). */
const DECODED_BATCH = 1000;
/** Decoded batches (1,000 events each) a bulk build applies in one transaction. */
const COMMIT_BATCHES = 10;

export async function buildFresh(
  store: LogSource,
  path: string,
  log: Logger,
  onProgress?: (p: RebuildProgress) => void,
  beforeLastPage?: () => Promise<void>,
  options: BuildOptions = {},
): Promise<RebuildResult> {
  const { pageSize = 5000, knownAt, signal, readOutOnly = false } = options;
  /** Between batches and steps: stopped when asked (after a turn of the event loop, where the asking arrives). */
  const checkStop = async (): Promise<void> => {
    if (signal === undefined) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal.aborted) throw new RebuildStoppedError();
  };
  const stopIfAsked = (): void => {
    if (signal?.aborted) throw new RebuildStoppedError();
  };
  for (const suffix of ['', '-wal', '-shm', '-journal', '.terms']) rmSync(`${path}${suffix}`, { force: true });
  // 0600 before SQLite makes it: the file is renamed over the data dir's read models.
  ensurePrivateFile(path);
  let db: Db;
  try {
    db = openDb(path, { bulk: true });
  } catch (err) {
    // Its schema is written here already: a full disk can stop it as well as the build.
    throw buildFailed(path, err);
  }
  // A replay's fold: a 16 MiB page cache instead of 64 (its file is read once, then dropped).
  if (options.tempOnDisk) db.pragma('temp_store = FILE');
  if (options.tempOnDisk) db.pragma('cache_size = -16384');
  const started = performance.now();
  let events = 0;
  let lastReport = 0;
  let terms: TermsBuild | null = null;
  try {
    // The indexes whose keys rise with the log, kept up while it is applied (db.ts).
    createAppendedIndexes(db, readOutOnly);
    const writer = new ReadModelWriter(db, log, undefined, { deferCloses: true, boundedMemory: options.tempOnDisk === true, readOutOnly });
    writer.followLog(await logIdentity(store));
    const head = await store.head();
    const report = (force = false, stage?: string) => {
      const elapsedMs = performance.now() - started;
      if (!force && elapsedMs - lastReport < 1000) return;
      lastReport = elapsedMs;
      onProgress?.({ applied: events, position: writer.checkpoint().position, head, elapsedMs, eventsPerSecond: events / Math.max(elapsedMs / 1000, 1e-9), ...(stage === undefined ? {} : { stage }) });
    };
    let after = writer.checkpoint().position;
    // Not by default from a worker running TypeScript sources (the read-model thread's rebuild under tsx or tap): its
    // execArgv lacks the loader a thread it starts would need (src/store/worker-thread.ts). Built, it starts one.
    // For a replay (tempOnDisk), whose memory must stay bounded, only when built: a thread under tsx loads tsx too
    // (the replay's fold 253 MB at 300,000 events, against ~200 without the thread; built, 183 MB with the bounds below).
    const built = !import.meta.url.endsWith('.ts');
    const file = typeof store.path === 'string' && (options.decodeThread ?? (options.tempOnDisk ? built : isMainThread || built)) ? store.path : null;
    // A replay's: 4 batches ahead and a 16 MB young generation (were 2 and 8: session 41 measured the fold's CPU
    // 48.2 / 49.0 s against 51.1 / 62.1 with them, its peak no higher, 207-209 MB against 208-219, the peak being the finishing steps').
    const bounded = options.tempOnDisk === true ? { ahead: 4, youngMb: 16 } : { ahead: 6 };
    // The terms on a thread of their own likewise, once the log is large enough (decided after it is applied, below); for a
    // replay only when built, the thread's memory bounded (terms-build.ts BOUNDED_TERMS): its fold peaked at 210 MB so on the
    // 1,000,000-fact record against 236 MB with the terms cut on this thread after the rest (session 41).
    const termsThreadAllowed = options.termsThread ?? (options.tempOnDisk ? built : isMainThread || built);
    // The log from `after` on, decoded on the second core; the events after the end it read go through drain().
    const drainThreaded = async (path: string) => {
      // Pages of one batch at most: a page's rows are alive until its last batch is decoded, and
      // rows kept through young-generation collections there are copied, then promoted.
      const decoded = decodeInThread({ path, after, pageSize: Math.min(pageSize, DECODED_BATCH), batchSize: DECODED_BATCH, ...bounded, ...(knownAt === undefined ? {} : { knownAt }), ...(readOutOnly ? { skipTables: READ_OUT_SKIPPED_TABLES } : {}) }, signal);
      // Said once a rebuild: which path it took shows in the service's log (test/projections-rebuild-built.test.ts reads it).
      log.info({ after }, 'the rest of the log is read and decoded on a thread of its own');
      // Several batches a transaction: the file has no journal, so a COMMIT only writes the
      // dirty pages out, and each wrote again the last, partly filled page of every table.
      // Each batch still runs in its own savepoint, its checkpoint with it.
      let open = 0;
      db.exec('BEGIN');
      try {
        for await (const b of decoded) {
          if (b.kind === 'batch') {
            writer.applyDecoded(b);
            events += b.events;
            if (++open >= COMMIT_BATCHES) {
              db.exec('COMMIT; BEGIN');
              open = 0;
            }
          }
          after = b.after;
          report();
          await checkStop();
        }
        // Only once every batch is in: a failure leaves the transaction to close(), the file to be removed.
        db.exec('COMMIT');
      } finally {
        await decoded.close();
      }
    };
    const drain = async (threaded = false) => {
      for (let pages = 0, full = false; ; pages++) {
        if (threaded && file !== null && (options.decodeThread === true || (pages === 1 && full))) return drainThreaded(file);
        const page: readonly LogEvent[] = await store.readAll({ ...(after ? { after } : {}), limit: pageSize });
        if (page.length === 0) return;
        after = page[page.length - 1]!.position;
        // Filtered, not stopped at the first later event: a store's recordedAt need not rise with the position.
        const kept = knownAt === undefined ? page : page.filter((e) => e.recordedAt <= knownAt);
        // With a stop to hear, in batches of the decoded ones' size with a turn between: a page of
        // 5,000 applied at once held a stop for its whole time (1.7 s at load 26 in the service's
        // read-model thread: the first page of every rebuild is applied here). The same
        // checkpoint results (applyBatch's `previous` is the page's second-to-last event either way).
        if (signal === undefined) {
          if (kept.length > 0) writer.applyBatch(kept);
        } else {
          for (let i = 0; i < kept.length; i += DECODED_BATCH) {
            if (i > 0) await checkStop();
            writer.applyBatch(kept.slice(i, i + DECODED_BATCH));
          }
        }
        events += kept.length;
        report();
        await checkStop();
        full = page.length === pageSize;
      }
    };
    // Each phase's wall time and this process's CPU time (user + system): on a shared machine the CPU is the figure to compare.
    const phases: RebuildResult['phases'] = [];
    let mark = performance.now();
    let cpuMark = process.cpuUsage();
    const phase = (name: string): void => {
      // Each finishing step is synchronous: a stop asked meanwhile is seen by the next one (up to a step's time, seconds on a large record).
      stopIfAsked();
      const now = performance.now();
      const cpu = process.cpuUsage(cpuMark);
      phases.push({ phase: name, ms: Math.round(now - mark), cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
      // Each step after the log is reported as it ends (a few dozen, some taking seconds).
      if (phases.length > 1) report(true, name);
      mark = now;
      cpuMark = process.cpuUsage();
    };
    await drain(true);
    await checkStop();
    if (beforeLastPage) {
      await beforeLastPage();
      await drain();
    }
    phase('read and apply the log');
    // Once the log is applied, a rebuild reads the file through a memory map (up to SQLite's
    // 2 GiB cap): the closes, the sorted copies and the index builds read back pages the
    // 64 MiB cache let go, each a page fault then, not a read() call. Not while applying: the
    // map follows the growing file (apply +2-4 µs of CPU an event with it, 150,000 events
    // alternately, load 23-25). The mapped pages count in the process's RSS but are the
    // kernel's file cache, not its heap. Not for a replay, whose memory must stay bounded.
    if (!options.tempOnDisk) db.pragma('mmap_size = 2147418112');
    // The sorts of the sorted copies and index builds below on the other cores too (SQLite's
    // sorter threads). SQLite starts them only with its runs in files, not with temp_store =
    // MEMORY (which had made this pragma idle): so the index builds and the terms' indexes run
    // with runs on files and a small cache (bulk-sorts.ts). Not for a replay.
    if (!options.tempOnDisk) {
      db.pragma(`threads = ${Math.max(1, availableParallelism() - 1)}`);
      sortOnThreads(db, log, events);
    }
    // The terms (offices/terms-index.ts) are made from the appointments and departures alone,
    // once closed: those closes first, the departures' sorted copy (the order their copy reads
    // them in), then the terms' inputs go to a file of their own, where a second connection
    // (on a thread of its own, or once the rest is done) cuts them and builds their indexes
    // while this one makes the other tables' (terms-build.ts). The appointments' own index
    // comes with the others': the copy reads them NOT INDEXED, so the terms' thread need not
    // wait for it.
    const termsThread = options.termsThread ?? (termsThreadAllowed && events >= TERMS_THREAD_EVENTS);
    writer.closeBulk(phase, (t) => TERMS_SOURCES.includes(t));
    sorting(db, () => createIndexes(db, phase, { terms: false, only: TERMS_FIRST, readOutOnly }), 'the index builds and sorted copies');
    terms = startTerms(db, termsThread, phase, options.tempOnDisk === true, readOutOnly);
    // The other tables' closes next, while the terms' thread starts on its file: one thread on
    // each core (no sort: SQLite's sorter threads not yet wanted). They need no index but those
    // kept during the log (a table's key in IN (...) is one pass over it without one), and made
    // before the index builds they update no index entry of known_to. A close sets a row's
    // known_to only: the sorted copies, indexes and temporal indexes made after read the same
    // rows. Left for finishBulk's end before (closes of timeline ~1.5 s of CPU, quiet), where
    // the terms' thread had finished and the other core idled.
    writer.closeBulk(phase, (t) => !TERMS_SOURCES.includes(t));
    // The indexes holding a column finishBulk writes (`earliest`, the stored items) after it (db.ts IndexOptions.later).
    const later: LaterIndex[] = [];
    sorting(db, () => createIndexes(db, phase, { terms: false, except: TERMS_FIRST, readOutOnly, later }), 'the index builds and sorted copies');
    writer.finishBulk(phase, { terms: false });
    sorting(db, () => makeLater(db, later, phase), 'the index builds and sorted copies');
    stopIfAsked();
    // The other tables' statistics before waiting for the terms' thread (terms-build.ts
    // analyzeBefore): their rows are put in a whole-file ANALYZE's order once the terms are in.
    const analyzed = termsThread ? analyzeBefore(db) : undefined;
    if (analyzed !== undefined) phase('statistics (ANALYZE) of the other tables, beside the terms\' thread');
    const made = await terms.made();
    // The terms' own steps, as their thread timed them (beside this thread's: not on its path).
    for (const p of made.phases) {
      phases.push({ phase: p.phase, ms: p.ms, cpuMs: p.cpuMs, thread: termsThread ? 'terms' : 'build' });
      report(true, p.phase);
    }
    phase(termsThread ? 'terms: waited for their thread' : 'terms: cut and indexed on this thread (the steps above)');
    terms.copyIn();
    terms = null;
    phase('terms: copied in from their file');
    // Table statistics for the planner, without sqlite_stat4: with its samples, SQLite
    // re-prepares a statement whenever a parameter bound to a range on an indexed column
    // changes (knownAt, always), which cost 10-60 µs a query on the 1,000,000-fact record.
    // The terms were analyzed in their own file, on their thread (terms-build.ts analyzeWith): the
    // same sqlite_stat1 rows as a whole-file ANALYZE here, in the same order.
    analyzeWith(db, made.stats, analyzed);
    db.exec('DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;');
    phase('statistics (ANALYZE)');
    stopIfAsked();
    const elapsedMs = performance.now() - started;
    db.pragma('journal_mode = DELETE');
    return { events, elapsedMs: Math.round(elapsedMs), eventsPerSecond: Math.round(events / Math.max(elapsedMs / 1000, 1e-9)), position: writer.checkpoint().position, phases };
  } catch (err) {
    await terms?.abandon();
    // A bulk build writes without a journal, so a failed transaction leaves the file
    // half-written: it is never swapped in, and removed so that a full disk gets its room back.
    db.close();
    throw buildFailed(path, err);
  } finally {
    if (db.open) db.close();
  }
}

/** A build's failure, its partial file removed (its room given back); a storage fault says what to do. */
function buildFailed(path: string, err: unknown): unknown {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
  // A sort's temporary directory (bulk-sorts.ts): its message says which and what to do.
  if (err instanceof SortFilesError) return new RebuildFailedError(`the read models could not be built into ${path}: ${err.message}. The read models in use are untouched and the partial file was removed`, { cause: err });
  if (!isStorageFault(err)) return err;
  return new RebuildFailedError(`the read models could not be built into ${path}: ${(err as Error).message}. The read models in use are untouched and the partial file was removed; free space on that disk (a build needs about the read models' size again) and run it again`, { cause: err });
}

/**
 * `annals rebuild` on a stopped service: builds a fresh file beside `path` and renames it over
 * the old one (atomic on one file system); the next start follows the log from there.
 */
export async function rebuildReadModels(opts: { store: LogSource; path: string; log: Logger; onProgress?: (p: RebuildProgress) => void; signal?: AbortSignal }): Promise<RebuildResult> {
  const fresh = `${opts.path}.rebuild`;
  const result = await buildFresh(opts.store, fresh, opts.log, opts.onProgress, undefined, opts.signal === undefined ? {} : { signal: opts.signal });
  for (const suffix of ['-wal', '-shm']) if (existsSync(`${opts.path}${suffix}`)) rmSync(`${opts.path}${suffix}`, { force: true });
  renameSync(fresh, opts.path);
  return result;
}
