/**
 * The composition root: opens the event store named by the configuration, the read models
 * beside it, the recorder (write side) and the credentials, and closes them in reverse order.
 * Everything below the HTTP layer is reached through a Runtime.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import { openReadModels, type ReadModels } from '../projections/index.js';
import { openThreadedReadModels } from '../projections/threaded.js';
import { openAuditLog, type AuditLog } from './audit/tree-head.js';
import { startAuditFollower, withFollower } from './audit/follower.js';
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
  readonly recorder: Recorder;
  /** The Merkle tree over the log and its signed tree heads. */
  readonly audit: AuditLog;
  readonly tokens: readonly TokenGrant[];
  /** What /metrics serves; the store, the recorder and the worker threads report to it. */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

export interface RuntimeDeps {
  log: Logger;
  /** A store opened by the caller (tests); default: the one `config.eventStore` names. */
  store?: EventStore;
  /**
   * What the store stamps `recordedAt` from and the recorder dates the factIds it makes up
   * by (tests pass a clock they move by hand). Default: the wall clock. The embedded store
   * takes it only with the inline writer (ANNALS_SQLITE_WRITER=inline); EventStoreDB stamps
   * with its own.
   */
  clock?: () => Date;
}

/** Opens the store `config.eventStore` names: `sqlite` (events.db in the data dir) or EventStoreDB. */
export async function openStore(config: Config, clock?: () => Date, metrics?: Metrics): Promise<EventStore> {
  if (config.eventStore === 'sqlite') {
    await mkdir(config.dataDir, { recursive: true });
    return openSqliteStore(join(config.dataDir, 'events.db'), { writer: config.sqliteWriter, ...(clock ? { clock } : {}), ...(metrics ? { metrics } : {}) });
  }
  // Loaded only when asked for: the EventStoreDB client and gRPC take ~1 s to load here.
  const { openEsdbStore } = await import('./store/esdb.js');
  return await openEsdbStore(config.eventStore);
}

export async function openRuntime(config: Config, deps: RuntimeDeps): Promise<Runtime> {
  const { log } = deps;
  const metrics = createMetrics();
  await mkdir(config.dataDir, { recursive: true });
  const store = deps.store ?? (await openStore(config, deps.clock, metrics));
  const closing: Array<() => Promise<void>> = [() => store.close()];
  try {
    const tokens = await resolveTokens(config, log);
    // The audit follower and the read models start their threads side by side (each loads
    // its modules and opens its connections: ~0.3 s apiece here), not one after the other.
    const [opened, models] = await Promise.allSettled([openAudit(config, store, log, deps.store !== undefined, metrics), openModels(config, store, log, deps.store !== undefined, metrics)]);
    if (opened.status === 'fulfilled') closing.unshift(() => opened.value.close());
    if (models.status === 'fulfilled') closing.unshift(() => models.value.close());
    if (opened.status === 'rejected') throw opened.reason;
    if (models.status === 'rejected') throw models.reason;
    const audit = opened.value;
    const readModels = models.value;
    const recorder = createRecorder({
      store,
      readModels,
      ...(deps.clock ? { clock: deps.clock } : {}),
      newId: monotonicFactory(pooledPrng()),
      readWaitMs: config.readWaitMs,
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
    log.info({ store: store.name, dataDir: config.dataDir }, 'runtime open');
    return {
      config,
      log,
      store,
      readModels,
      recorder,
      audit,
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
async function openAudit(config: Config, store: EventStore, log: Logger, injected: boolean, metrics: Metrics): Promise<AuditLog> {
  if (config.auditFollower === 'inline' || injected) return openAuditLog({ store, dataDir: config.dataDir, log });
  const reader = await openAuditLog({ store, dataDir: config.dataDir, log, follow: false });
  try {
    const follower = await startAuditFollower({ dataDir: config.dataDir, eventStore: config.eventStore, logLevel: config.logLevel }, log, metrics);
    (store as Partial<SqliteEventStore>).onCommitted?.(() => follower.poke());
    return withFollower(reader, follower);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/**
 * The read models: the projection runner in a thread of its own with its own store
 * connection, poked after each commit, this thread querying the same file; or, with
 * ANNALS_READ_MODELS=inline or a store handed in by the caller, all on this thread.
 */
async function openModels(config: Config, store: EventStore, log: Logger, injected: boolean, metrics: Metrics): Promise<ReadModels> {
  const path = join(config.dataDir, 'readmodels.db');
  if (config.readModels === 'inline' || injected) return openReadModels({ store, path, log });
  const models = await openThreadedReadModels({ path, dataDir: config.dataDir, eventStore: config.eventStore, logLevel: config.logLevel }, log, metrics);
  (store as Partial<SqliteEventStore>).onCommitted?.(() => models.poke());
  return models;
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
