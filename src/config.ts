/**
 * Configuration from the environment (names fixed in API.md), validated by zod. A bad value
 * stops the process with one line per variable saying what is wrong and what is expected.
 */
import { z } from 'zod';
import { originProblem } from './audit/checkpoint.js';
import { DEFAULT_READ_PAGE_KIB, READ_PAGE_KIB_CHOICES } from '../projections/page-size.js';

const Bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

export const ROLES = ['recorder', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export interface TokenGrant {
  role: Role;
  token: string;
}

const Tokens = z.string().transform((raw, ctx): TokenGrant[] => {
  const grants: TokenGrant[] = [];
  for (const [i, pair] of raw.split(',').map((p) => p.trim()).filter(Boolean).entries()) {
    const at = pair.indexOf(':');
    const role = pair.slice(0, at) as Role;
    const token = pair.slice(at + 1);
    if (at < 0 || !ROLES.includes(role)) {
      ctx.addIssue({ code: 'custom', message: `pair ${i + 1}: expected role:token with role one of ${ROLES.join(', ')}` });
    } else if (token.length === 0) {
      ctx.addIssue({ code: 'custom', message: `pair ${i + 1} (${role}): the token is empty` });
    } else grants.push({ role, token });
  }
  if (grants.length === 0 && raw.trim() !== '') ctx.addIssue({ code: 'custom', message: 'no valid role:token pair' });
  return grants;
});

/** `false`, `true`, a number of proxy hops, or addresses and CIDR ranges of trusted proxies. */
const TrustProxy = z
  .string()
  .regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/, { message: "expected 'false', 'true', a number of proxy hops, or comma-separated proxy addresses (CIDR allowed)" })
  .transform((v): boolean | number | string[] => (v === 'true' ? true : v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v.split(',').map((a) => a.trim())));

const EventStoreSetting = z
  .string()
  .refine((v) => v === 'sqlite' || /^esdb(\+discover)?:\/\//.test(v), {
    message: "expected 'sqlite' or an EventStoreDB connection string such as esdb://host:2113?tls=false",
  });

/** ANNALS_CORS_ORIGINS: `*`, or origins (`https://host[:port]`) separated by commas; empty: no CORS. */
const CorsOrigins = z.string().transform((raw, ctx): string[] => {
  const origins = raw.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of origins) {
    if (o === '*') continue;
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
    } catch {
      ok = false;
    }
    if (!ok) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(o)} is not an origin: expected * or scheme://host[:port] (no path, no trailing slash), e.g. https://explorer.example.org` });
  }
  if (origins.includes('*') && origins.length > 1) ctx.addIssue({ code: 'custom', message: '* allows every origin: give it alone' });
  return origins;
});

const Env = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ANNALS_DATA_DIR: z.string().min(1).default('./data'),
  ANNALS_EVENT_STORE: EventStoreSetting.default('sqlite'),
  ANNALS_TOKENS: Tokens.optional(),
  ANNALS_SEED: z.enum(['example', 'none']).default('example'),
  ANNALS_PRIVATE_READS: Bool.default(false),
  ANNALS_BODY_LIMIT: z.coerce.number().int().min(1024).default(1024 * 1024),
  ANNALS_BATCH_BODY_LIMIT: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  ANNALS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  ANNALS_READ_WAIT_MS: z.coerce.number().int().min(0).default(2_000),
  ANNALS_GROUP_LINGER_MS: z.coerce.number().min(0).max(50).default(0),
  ANNALS_SQLITE_WRITER: z.enum(['thread', 'inline']).default('thread'),
  ANNALS_AUDIT_FOLLOWER: z.enum(['thread', 'inline']).default('thread'),
  ANNALS_READ_MODELS: z.enum(['thread', 'inline', 'writer', 'writer-split']).optional(),
  ANNALS_CORS_ORIGINS: CorsOrigins.optional(),
  ANNALS_AUDIT_KEY_FILE: z.string().min(1).optional(),
  ANNALS_AUDIT_WITNESS_URL: z.string().url().refine((u) => /^https?:/.test(u), 'an http or https URL').optional(),
  ANNALS_AUDIT_ORIGIN: z
    .string()
    .max(200)
    .superRefine((v, ctx) => {
      const problem = originProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, e.g. records.example.org/annals` });
    })
    .optional(),
  ANNALS_READY_MAX_LAG_MS: z.coerce.number().int().min(0).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ANNALS_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(1024),
  ANNALS_RATE_LIMIT_ANONYMOUS: z.coerce.number().int().min(0).default(1200),
  ANNALS_RATE_LIMIT_FAILED_AUTH: z.coerce.number().int().min(0).default(30),
  ANNALS_SHED_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(50),
  ANNALS_SHED_EVENT_LOOP_UTILIZATION: z.coerce.number().min(0).max(1).default(0),
  ANNALS_READ_TURN_BUDGET_MS: z.coerce.number().min(0).default(20),
  ANNALS_READ_WORKERS: z.coerce.number().int().min(0).max(16).default(1),
  ANNALS_READ_QUEUE: z.coerce.number().int().min(1).default(64),
  ANNALS_READ_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(5),
  // SQLite maps at most 0x7fff0000 bytes (SQLITE_MAX_MMAP_SIZE): 2,047 MiB and a little.
  ANNALS_READ_MMAP_MIB: z.coerce.number().int().min(0).max(2047).default(0),
  // The read-model file's SQLite page size, KiB (projections/page-size.ts readPageBytes, read where a file is made: db.ts setPageSize).
  ANNALS_READ_PAGE_KIB: z.coerce.number().int().refine((v) => (READ_PAGE_KIB_CHOICES as readonly number[]).includes(v), { message: `expected one of ${READ_PAGE_KIB_CHOICES.join(', ')} (KiB)` }).default(DEFAULT_READ_PAGE_KIB),
  ANNALS_WARM_UP_QUESTIONS: z.coerce.number().int().min(0).default(500),
  ANNALS_WARM_UP_MS: z.coerce.number().int().min(0).default(1000),
  ANNALS_TRUST_PROXY: TrustProxy.default(false),
  ANNALS_FEED_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  ANNALS_FEED_BUFFER_BYTES: z.coerce.number().int().min(65_536).default(1024 * 1024),
});

/** Tokens shorter than this are accepted (API.md sets no minimum) but warned about at start. */
export const SHORT_TOKEN = 16;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `sqlite`, or an EventStoreDB connection string. */
  eventStore: string;
  /** Unset: a recorder token is generated once and kept in the data dir. */
  tokens: TokenGrant[] | undefined;
  seed: 'example' | 'none';
  privateReads: boolean;
  bodyLimit: number;
  batchBodyLimit: number;
  requestTimeoutMs: number;
  /** How long a read with `minPosition` (and a write, for its read models) waits. */
  readWaitMs: number;
  /** Single facts: how long a group may wait for as many facts as the last group held (ms; 0: never). */
  groupLingerMs: number;
  /** The embedded store commits on a worker thread (`thread`) or on the event loop (`inline`). */
  sqliteWriter: 'thread' | 'inline';
  /** The audit tree is fed by a worker thread (`thread`) or on the event loop (`inline`). */
  auditFollower: 'thread' | 'inline';
  /**
   * `writer` (the default with the embedded store and its writer thread, #19): the read models
   * are applied on the store writer's thread after each COMMIT, the outcomes and the position
   * applied in one message; `writer-split`: the same, the outcomes sent before the apply and
   * the position after it; `thread` (the default with EventStoreDB): the projection runner
   * works in a worker thread of its own; `inline`: on the event loop.
   */
  readModels: 'thread' | 'inline' | 'writer' | 'writer-split';
  /** Origins browsers may read answers from (`*`: any); empty: no CORS headers. */
  corsOrigins: string[];
  /** The audit key's PEM file (seals and signed heads), best outside the data dir; unset: `<dataDir>/audit-key.pem`. */
  auditKeyFile: string | undefined;
  /** Where each newly signed tree head is POSTed (src/audit/witness.ts); unset: nowhere. */
  auditWitnessUrl: string | undefined;
  /** The origin line (and key name) of the C2SP checkpoints (src/audit/checkpoint.ts); unset: `annals/<the log's identity>`. */
  auditOrigin: string | undefined;
  /** /readyz answers 503 once the read models or the audit tree are further behind the log than this (age of the oldest event not taken in). */
  readyMaxLagMs: number;
  logLevel: string;
  /** Open connections beyond this are closed as they arrive (the server's maxConnections). */
  maxConnections: number;
  /** Requests a minute one client may make without a valid credential; 0: no limit. */
  rateLimitAnonymous: number;
  /** Requests a minute one client may make with a credential that is not valid; 0: no limit. */
  rateLimitFailedAuth: number;
  /** Shed reads (503) while the event loop's mean delay is above this many ms; 0: never. */
  shedEventLoopDelayMs: number;
  /** Shed reads while the event loop is busier than this fraction (0..1); 0: never. */
  shedEventLoopUtilization: number;
  /** Event-loop time a turn may run before the reads still arriving in it are shed (503); 0: never. */
  readTurnBudgetMs: number;
  /** Worker threads answering read questions off the event loop (projections/read-pool.ts), with the read models in their thread; 0: on the event loop. */
  readWorkers: number;
  /** Read questions the workers may hold at once; one more is a 503. */
  readQueue: number;
  /** Holder questions the server asks its own routes before /readyz says 200 (src/http/warm-up.ts); 0: none. */
  warmUpQuestions: number;
  /** The warm-up asks no new question once this much time has passed (ms), whatever is left of its questions; those in flight are waited for. */
  warmUpMs: number;
  /** Added to each read worker thread's nice value (Linux), so the event loop wins the CPU; 0: the process's priority. */
  readWorkerNice: number;
  /** MiB of readmodels.db each read worker reads through a memory map (PRAGMA mmap_size); 0: none. */
  readMmapMib: number;
  /** The SQLite page size (KiB) of a read-model file when it is made (a new file, a rebuild's); an existing file keeps its own. */
  readPageKib: number;
  /** Whom to believe about the client's address (X-Forwarded-For): Fastify's trustProxy. */
  trustProxy: boolean | number | string[];
  /** How often each /v1/feed stream gets a comment line, so proxies keep idle streams open. */
  feedHeartbeatMs: number;
  /** A /v1/feed consumer whose unsent bytes pass this is cut off, told where to resume. */
  feedBufferBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir: e.ANNALS_DATA_DIR,
    eventStore: e.ANNALS_EVENT_STORE,
    tokens: e.ANNALS_TOKENS,
    seed: e.ANNALS_SEED,
    privateReads: e.ANNALS_PRIVATE_READS,
    bodyLimit: e.ANNALS_BODY_LIMIT,
    batchBodyLimit: e.ANNALS_BATCH_BODY_LIMIT,
    requestTimeoutMs: e.ANNALS_REQUEST_TIMEOUT_MS,
    readWaitMs: e.ANNALS_READ_WAIT_MS,
    groupLingerMs: e.ANNALS_GROUP_LINGER_MS,
    sqliteWriter: e.ANNALS_SQLITE_WRITER,
    auditFollower: e.ANNALS_AUDIT_FOLLOWER,
    // Per store: the embedded one with its writer thread applies the read models there (#19); EventStoreDB (or the inline writer) keeps the runner's thread.
    readModels: e.ANNALS_READ_MODELS ?? (e.ANNALS_EVENT_STORE === 'sqlite' && e.ANNALS_SQLITE_WRITER === 'thread' ? 'writer' : 'thread'),
    corsOrigins: e.ANNALS_CORS_ORIGINS ?? [],
    auditKeyFile: e.ANNALS_AUDIT_KEY_FILE,
    auditWitnessUrl: e.ANNALS_AUDIT_WITNESS_URL,
    auditOrigin: e.ANNALS_AUDIT_ORIGIN,
    readyMaxLagMs: e.ANNALS_READY_MAX_LAG_MS,
    logLevel: e.LOG_LEVEL,
    maxConnections: e.ANNALS_MAX_CONNECTIONS,
    rateLimitAnonymous: e.ANNALS_RATE_LIMIT_ANONYMOUS,
    rateLimitFailedAuth: e.ANNALS_RATE_LIMIT_FAILED_AUTH,
    shedEventLoopDelayMs: e.ANNALS_SHED_EVENT_LOOP_DELAY_MS,
    shedEventLoopUtilization: e.ANNALS_SHED_EVENT_LOOP_UTILIZATION,
    readTurnBudgetMs: e.ANNALS_READ_TURN_BUDGET_MS,
    readWorkers: e.ANNALS_READ_WORKERS,
    readQueue: e.ANNALS_READ_QUEUE,
    readWorkerNice: e.ANNALS_READ_WORKER_NICE,
    readMmapMib: e.ANNALS_READ_MMAP_MIB,
    readPageKib: e.ANNALS_READ_PAGE_KIB,
    warmUpQuestions: e.ANNALS_WARM_UP_QUESTIONS,
    warmUpMs: e.ANNALS_WARM_UP_MS,
    trustProxy: e.ANNALS_TRUST_PROXY,
    feedHeartbeatMs: e.ANNALS_FEED_HEARTBEAT_MS,
    feedBufferBytes: e.ANNALS_FEED_BUFFER_BYTES,
  };
}
