/**
 * The composition root: opens the event store named by the configuration, the read models
 * beside it, the recorder (write side) and the credentials, and closes them in reverse order.
 * Everything below the HTTP layer is reached through a Runtime.
 *
 * It starts only on a consistent whole: the data dir is locked for one writer
 * (integrity/lock.ts) and made the owner's alone (0700, files 0600); a loose audit key is
 * refused; the audit tree and the read models are checked against the log they follow before
 * anything is served (store/identity.ts, audit/start-checks.ts). A refusal is a
 * LogMismatchError (or DataDirBusyError, LooseKeyError) whose message says what to do.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Database } from 'better-sqlite3';
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import { openReadModels, type ReadModels } from '../projections/index.js';
import { openThreadedReadModels } from '../projections/threaded.js';
import { openWriterReadModels } from '../projections/writer-applied.js';
import { ReadPool } from '../projections/read-pool.js';
import { openAuditLog, type AuditLog } from './audit/tree-head.js';
import { startAuditFollower, withFollower } from './audit/follower.js';
import { keyPaths, loadKeys, type AuditKeys } from './audit/keys.js';
import { startWitness, type Witness } from './audit/witness.js';
import { checkpoints, type Checkpoints } from './audit/checkpoint.js';
import { logIdentity } from './store/identity.js';
import { lockDataDir } from './integrity/lock.js';
import { ensurePrivateDir, ensurePrivateFile } from './store/private-files.js';
import { resolveTokens } from './auth/tokens.js';
import type { Config, TokenGrant } from './config.js';
import { seedExample } from './example/seed.js';
import { lagBehind } from './metrics/lag.js';
import { createMetrics, type Metrics } from './metrics/prometheus.js';
import { createRecorder, type Recorder } from './record/index.js';
import type { EventStore } from './store/port.js';
import { openSqliteStore, type SqliteEventStore } from './store/sqlite.js';

export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly store: EventStore;
  readonly readModels: ReadModels;
  /** Worker threads answering read questions off the event loop; absent: reads run on it. */
  readonly reads: ReadPool | null;
  readonly recorder: Recorder;
  /** The Merkle tree over the log and its signed tree heads. */
  readonly audit: AuditLog;
  /** Pushes signed heads to ANNALS_AUDIT_WITNESS_URL; null when none is configured. */
  readonly witness: Witness | null;
  /** The latest head as a C2SP checkpoint (signed note), its origin and verifier key. */
  readonly checkpoints: Checkpoints;
  readonly tokens: readonly TokenGrant[];
  /** What /metrics serves; the store, the recorder and the worker threads report to it. */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface RuntimeDeps {
  log: Logger;
  /** Who holds the data dir's lock, for the message a second writer gets. Default "the service". */
  holder?: string;
  /**
   * Tests: called with the connection that writes readmodels.db or audit.db, when that work
   * runs on this thread (inline), e.g. to set PRAGMA max_page_count and make the file full.
   */
  onWriterDb?: (file: 'readmodels.db' | 'audit.db', db: Database) => void;
  /** A store opened by the caller (tests); default: the one `config.eventStore` names. */
  store?: EventStore;
  /**
   * What the store stamps `recordedAt` from and the recorder dates the factIds it makes up
   * by (tests pass a clock they move by hand). Default: the wall clock. The embedded store
   * takes it only with the inline writer (ANNALS_SQLITE_WRITER=inline); EventStoreDB stamps
   * with its own.
   */
  clock?: () => Date;
  /**
   * Tests: sign a tree head every `events` events and `intervalMs` after the tree grew
   * (default 1000 and 10 s), when the audit tree is fed on this thread.
   */
  auditHeads?: { events: number; intervalMs: number };
}

/**
 * Opens the store `config.eventStore` names: `sqlite` (events.db in the data dir, sealing
 * with `sealKey`; `readOnly`: an existing log, for commands that only read; `clock`: what
 * `recordedAt` is read from, inline writer only) or EventStoreDB.
 */
export async function openStore(config: Config, options: { sealKey?: Uint8Array; readOnly?: boolean; metrics?: Metrics; clock?: () => Date; cacheSizeKiB?: number; log?: Logger } = {}): Promise<EventStore> {
  if (config.eventStore === 'sqlite') {
    if (!options.readOnly) ensurePrivateDir(config.dataDir);
    const onWriter = config.readModels === 'writer' || config.readModels === 'writer-split';
    const readModels = onWriter && !options.readOnly ? { readModels: { path: join(config.dataDir, 'readmodels.db'), logLevel: config.logLevel, replyFirst: config.readModels === 'writer-split' } } : {};
    return openSqliteStore(join(config.dataDir, 'events.db'), { writer: config.sqliteWriter, ...options, ...readModels });
  }
  // Loaded only when asked for: the EventStoreDB client and gRPC take ~1 s to load here.
  const { openEsdbStore } = await import('./store/esdb.js');
  return await openEsdbStore(config.eventStore);
}

export async function openRuntime(config: Config, deps: RuntimeDeps): Promise<Runtime> {
  const { log } = deps;
  const metrics = createMetrics();
  ensurePrivateDir(config.dataDir);
  const lock = lockDataDir(config.dataDir, deps.holder ?? 'the service');
  const closing: Array<() => Promise<void>> = [async () => lock.release()];
  try {
    const keys = loadKeys(keyPaths(config.dataDir, config.auditKeyFile), log);
    if (!keys.paths.outsideDataDir) {
      // Said once by the service; a command run beside it need not repeat it on every run.
      log[deps.holder === undefined ? 'warn' : 'debug']({ keyFile: keys.paths.keyFile }, 'the audit key is in the data dir: whoever can rewrite the data dir can also seal rows and sign heads; set ANNALS_AUDIT_KEY_FILE to a file outside it');
    }
    const store = deps.store ?? (await openStore(config, { sealKey: keys.sealKey, metrics, log, ...(deps.clock ? { clock: deps.clock } : {}) }));
    closing.unshift(() => store.close());
    const tokens = await resolveTokens(config, log);
    // The audit follower, the read models and the read workers start their threads side by
    // side (each loads its modules and opens its connections), not one after the other. The
    // read workers only load theirs until the read models are open and checked against the
    // log (`held`): none opens the file, says ready or answers before that.
    ensurePrivateFile(join(config.dataDir, 'readmodels.db'), { sqlite: true });
    let openedModels: ReadModels | null = null;
    const reads = startReadPool(config, () => openedModels as ReadModels, log, deps, metrics);
    if (reads) closing.unshift(() => reads.close());
    const [opened, models] = await Promise.allSettled([openAudit(config, store, keys, log, deps, metrics), openModels(config, store, log, deps, metrics)]);
    // Closed after the read workers (`closing` runs from the front, the workers' close at 0): the workers close first.
    if (opened.status === 'fulfilled') closing.splice(reads ? 1 : 0, 0, () => opened.value.close());
    if (models.status === 'fulfilled') closing.splice(reads ? 1 : 0, 0, () => models.value.close());
    if (opened.status === 'rejected') throw opened.reason;
    if (models.status === 'rejected') throw models.reason;
    const audit = opened.value;
    const readModels = (openedModels = models.value);
    if (reads) {
      // After a rebuild the workers let go of the file they read at once (its room, and a reopen of it, wait for that).
      readModels.onFileChange?.(() => reads.release());
      reads.open();
    }
    const witness = config.auditWitnessUrl ? startWitness({ url: config.auditWitnessUrl, head: () => audit.head(), publicKey: { keyId: audit.keyId, pem: audit.publicKeyPem }, log }) : null;
    if (witness) closing.unshift(() => witness.stop());
    const recorder = createRecorder({
      store,
      readModels,
      ...(deps.clock ? { clock: deps.clock } : {}),
      newId: monotonicFactory(pooledPrng()),
      readWaitMs: config.readWaitMs,
      groupLingerMs: config.groupLingerMs,
      log,
      metrics,
    });
    closing.unshift(() => recorder.close());
    // ANNALS_SEED=example: the bundled press release, into an empty store (fixed factIds: never twice).
    if (config.seed === 'example') await seedExample({ store, recorder, log });
    metrics.watch({
      readModelLag: () => lagBehind(store, readModels.applied()),
      auditLag: async () => lagBehind(store, (await audit.state()).lastPosition),
      parkedEvents: () => readModels.readiness().parked,
    });
    log.info({ store: store.name, dataDir: config.dataDir, keyFile: keys.paths.keyFile }, 'runtime open');
    return {
      config,
      log,
      store,
      readModels,
      reads,
      recorder,
      audit,
      witness,
      checkpoints: checkpoints({ key: keys.signing, head: () => audit.head(), origin: config.auditOrigin, identity: () => logIdentity(store) }),
      tokens,
      metrics,
      async close() {
        for (const close of closing) await close();
      },
    };
  } catch (err) {
    for (const close of closing) await close().catch(() => undefined);
    throw err;
  }
}

/**
 * The audit tree: fed by a follower thread with its own store connection (hashing and
 * audit.db's commits off the event loop), the server reading audit.db itself; or, with
 * ANNALS_AUDIT_FOLLOWER=inline or a store handed in by the caller (which a thread cannot
 * open again), fed on this thread.
 */
async function openAudit(config: Config, store: EventStore, keys: AuditKeys, log: Logger, deps: RuntimeDeps, metrics: Metrics): Promise<AuditLog> {
  const keyFile = keys.paths.keyFile;
  if (config.auditFollower === 'inline' || deps.store !== undefined) {
    const hook = deps.onWriterDb;
    const heads = deps.auditHeads ? { checkpointEvents: deps.auditHeads.events, checkpointIntervalMs: deps.auditHeads.intervalMs } : {};
    return openAuditLog({ store: sealChecked(store), dataDir: config.dataDir, keyFile, log, ...heads, ...(hook ? { onStorageDb: (db: Database) => hook('audit.db', db) } : {}) });
  }
  const reader = await openAuditLog({ store: sealChecked(store), dataDir: config.dataDir, keyFile, log, follow: false });
  try {
    const follower = await startAuditFollower({ dataDir: config.dataDir, eventStore: config.eventStore, logLevel: config.logLevel, keyFile }, log, metrics);
    // The writer thread hands its commits to the follower; else it is poked to read them.
    if (!feedable(store) || !follower.feedFrom(store)) (store as Partial<SqliteEventStore>).onCommitted?.(() => follower.poke());
    return withFollower(reader, follower);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** A store whose writer can hand its commits to the follower threads (the embedded one). */
function feedable(store: EventStore): store is SqliteEventStore {
  return typeof (store as Partial<SqliteEventStore>).handCommitted === 'function';
}

/** The embedded store read with its seals checked, when it seals (the audit tree reads it so); any other store as it is. */
function sealChecked(store: EventStore): EventStore {
  const checked = (store as Partial<SqliteEventStore>).checked;
  if (checked === undefined) return store;
  try {
    return checked.call(store);
  } catch {
    // Opened without a seal key (a store a test hands in): nothing to check against.
    return store;
  }
}

/**
 * The read models: the projection runner in a thread of its own with its own store
 * connection, poked after each commit, this thread querying the same file; or, with
 * ANNALS_READ_MODELS=inline or a store handed in by the caller, all on this thread.
 */
async function openModels(config: Config, store: EventStore, log: Logger, deps: RuntimeDeps, metrics: Metrics): Promise<ReadModels> {
  const path = join(config.dataDir, 'readmodels.db');
  if (config.readModels === 'inline' || deps.store !== undefined) {
    const hook = deps.onWriterDb;
    return openReadModels({ store, path, log, ...(hook ? { onWriterDb: (db: Database) => hook('readmodels.db', db) } : {}) });
  }
  if (config.readModels === 'writer' || config.readModels === 'writer-split') {
    if (!feedable(store)) throw new Error('ANNALS_READ_MODELS=writer needs the embedded store (ANNALS_EVENT_STORE=sqlite)');
    return openWriterReadModels(store, path, log, config.logLevel);
  }
  const models = await openThreadedReadModels({ path, dataDir: config.dataDir, eventStore: config.eventStore, logLevel: config.logLevel }, log, metrics);
  if (!feedable(store) || !models.feedFrom(store)) (store as Partial<SqliteEventStore>).onCommitted?.(() => models.poke());
  return models;
}

/**
 * Read workers (projections/read-pool.ts) beside read models that run in their own thread
 * (the service as `npm start` runs it); inline read models (the CLI, most tests) read on this thread.
 * Started held (`open()` once the read models are open): `readModels` is not called before.
 */
function startReadPool(config: Config, readModels: () => ReadModels, log: Logger, deps: RuntimeDeps, metrics: Metrics): ReadPool | null {
  if (config.readWorkers === 0 || config.readModels === 'inline' || deps.store !== undefined) return null;
  return new ReadPool({ path: join(config.dataDir, 'readmodels.db'), size: config.readWorkers, queueLimit: config.readQueue, nice: config.readWorkerNice, mmapBytes: config.readMmapMib * 1_048_576, log, metrics, applied: () => readModels().applied(), queries: () => readModels().queries, held: true });
}

/**
 * The ulid package's default PRNG asks crypto.getRandomValues for one byte per character (16
 * calls per new id): ~2.5% of the server thread recording single facts. Same bytes, same
 * use (byte / 256), drawn from a pool refilled 4 KiB at a time.
 */
function pooledPrng(): () => number {
  const pool = new Uint8Array(4096);
  let at = pool.length;
  return () => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    return (pool[at++] as number) / 256;
  };
}
