/**
 * The audit log: follows the event store (every event, bookkeeping ones too, in global
 * order), appends each event's leaf to the Merkle tree kept in <dataDir>/audit.db, signs a
 * tree head every `checkpointEvents` events, every `checkpointIntervalMs` when the tree grew,
 * on demand and at close, and serves heads, proofs and verify. Knows nothing about HTTP.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EventStore, Position } from '../store/port.js';
import type { Database } from 'better-sqlite3';
import { AuditError } from './errors.js';
import { Feeder, type FeederState, type FeederStatus } from './feeder.js';
import { keyPaths } from './keys.js';
import { LEAF_FORMAT } from './leaf.js';
import { consistencyProof, inclusionProof, rootAt, toHex } from './merkle.js';
import { loadOrCreateKey, type SignedTreeHead } from './signing.js';
import { checkTreeAtStart } from './start-checks.js';
import { AuditStorage, type ParkedAuditEvent } from './storage.js';
import { verifyLog, type VerifyProgress, type VerifyReport } from './verify.js';

export type { SignedTreeHead } from './signing.js';
export type { VerifyProgress, VerifyReport, Divergence, BadHead } from './verify.js';

export interface AuditLogOptions {
  readonly store: EventStore;
  readonly dataDir: string;
  readonly log: Logger;
  /** Sign a head once this many leaves were added since the last head. Default 1000. */
  readonly checkpointEvents?: number;
  /** Sign a head this often if the tree grew since the last head. Default 10000 ms; 0: never on a timer. */
  readonly checkpointIntervalMs?: number;
  /** Leaves written to audit.db per transaction at most. Default 5000. */
  readonly batchSize?: number;
  /** Default: the wall clock. */
  readonly clock?: () => Date;
  /**
   * Default true. false: do not follow the store nor sign (heads, proofs and verify only),
   * e.g. for the CLI beside a running server, which is the one feeding audit.db.
   */
  readonly follow?: boolean;
  /** Following: called with the last audited position whenever leaves were written. */
  readonly onAudited?: (position: Position) => void;
  /** Following: called whenever the follower's state changes (feeder.ts). */
  readonly onStatus?: (status: FeederStatus) => void;
  /**
   * The Ed25519 key's PEM file (keys.ts). Default `<dataDir>/audit-key.pem`. The last signed
   * head is kept beside it (kept-head.ts).
   */
  readonly keyFile?: string;
  /** Create the key when absent. Default true (false: a reader beside the process that made it). */
  readonly createKey?: boolean;
  /** Called with audit.db's connection once opened (tests: PRAGMA max_page_count, to make the file full). */
  readonly onStorageDb?: (db: Database) => void;
  /** First and longest pause between retries after a failed write, and how often a halted follower looks again (feeder.ts). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly recheckMs?: number;
}

/** What the tree is doing, for /readyz and the admin status (feeder.ts's states; `reading`: this process only reads audit.db). */
export interface AuditStatus {
  readonly state: FeederState | 'reading';
  readonly treeSize: number;
  readonly lastPosition: Position | null;
  /** Size of the latest signed head. */
  readonly signedSize: number;
  /** Events the follower would not take in: the tree stops before the first. */
  readonly parked: ParkedAuditEvent[];
  readonly failures: number;
  readonly lastError: string | null;
}

export { AuditError } from './errors.js';

export interface InclusionProofResult {
  readonly leafFormat: typeof LEAF_FORMAT;
  readonly position: Position;
  readonly leafIndex: number;
  readonly treeSize: number;
  /** Hex SHA-256(0x00 || leaf bytes): recompute it from the event to check it. */
  readonly leafHash: string;
  readonly rootHash: string;
  /** Hex hashes, nearest sibling first (RFC 9162 §2.1.3). */
  readonly auditPath: string[];
  /** A signed head at exactly treeSize, if one was signed. */
  readonly head: SignedTreeHead | null;
}

export interface ConsistencyProofResult {
  readonly fromSize: number;
  readonly toSize: number;
  readonly fromRootHash: string;
  readonly toRootHash: string;
  /** Hex hashes (RFC 9162 §2.1.4). */
  readonly proof: string[];
  readonly fromHead: SignedTreeHead | null;
  readonly toHead: SignedTreeHead | null;
}

export interface TreeState {
  readonly treeSize: number;
  readonly lastPosition: Position | null;
  readonly rootHash: string;
}

export interface AuditLog {
  /** SPKI PEM of the Ed25519 key that signs heads, and its id (SHA-256 of the DER, hex). */
  readonly publicKeyPem: string;
  readonly keyId: string;
  /** The follower's state and the tree's size (for /readyz). */
  status(): Promise<AuditStatus>;
  /** The latest signed head; null before the first. */
  head(): Promise<SignedTreeHead | null>;
  /** The tree as it stands now (maybe ahead of the latest signed head). */
  state(): Promise<TreeState>;
  /** Heads with fromSize <= treeSize <= toSize, in signing order. Defaults: all; limit 1000. */
  heads(range?: { fromSize?: number; toSize?: number; limit?: number }): Promise<SignedTreeHead[]>;
  /** Signs a head over the tree as it stands now (first writing what was received). */
  signHead(): Promise<SignedTreeHead>;
  /** Proof that the event at `position` is in the tree of `treeSize` leaves (default: the latest signed head's). */
  inclusionProof(position: Position, treeSize?: number): Promise<InclusionProofResult>;
  /** Proof that the tree of fromSize leaves is a prefix of that of toSize (default: the latest signed head's). */
  consistencyProof(fromSize: number, toSize?: number): Promise<ConsistencyProofResult>;
  /**
   * Re-reads the whole log and checks the tree and every signed head against it. A call
   * while one runs shares its result (onProgress then reports to the first caller only).
   */
  verify(onProgress?: (p: VerifyProgress) => void): Promise<VerifyReport>;
  /** Resolves true once the event at `position` is in the tree, false after timeoutMs. */
  waitFor(position: Position, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function openAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const { store, log } = opts;
  const clock = opts.clock ?? (() => new Date());
  const follow = opts.follow ?? true;
  const every = Math.max(1, opts.checkpointEvents ?? 1000);
  const intervalMs = opts.checkpointIntervalMs ?? 10_000;
  const batchSize = Math.max(1, opts.batchSize ?? 5000);
  const paths = keyPaths(opts.dataDir, opts.keyFile);
  const key = loadOrCreateKey(paths.keyFile, log, { create: opts.createKey ?? true });
  const auditPath = join(opts.dataDir, 'audit.db');
  const storage = AuditStorage.open(auditPath);
  const nodes = storage.cached();
  let feeder: Feeder | null = null;
  try {
    opts.onStorageDb?.(storage.connection());
    if (follow) {
      const checked = await checkTreeAtStart({ store, storage, key, keyFile: paths.keyFile, keptFile: paths.headFile, auditPath });
      feeder = new Feeder({
        store,
        storage,
        key,
        log,
        clock,
        every,
        batchSize,
        identity: checked.identity,
        keptFile: paths.headFile,
        kept: checked.kept,
        ...(opts.onAudited ? { onAudited: opts.onAudited } : {}),
        ...(opts.onStatus ? { onStatus: opts.onStatus } : {}),
        ...(opts.retryMs === undefined ? {} : { retryMs: opts.retryMs }),
        ...(opts.maxRetryMs === undefined ? {} : { maxRetryMs: opts.maxRetryMs }),
        ...(opts.recheckMs === undefined ? {} : { recheckMs: opts.recheckMs }),
      });
      await feeder.start();
    }
  } catch (e) {
    storage.close();
    throw e;
  }
  const timer = feeder && intervalMs > 0 ? setInterval(() => feeder?.checkpoint(false), intervalMs) : null;
  timer?.unref();

  const signedSize = (): number => {
    const h = storage.latestHead();
    if (h) return h.treeSize;
    throw new AuditError('unavailable', 'no tree head has been signed yet; POST /v1/audit/tree-head or retry shortly');
  };
  const checkSize = (size: number, field: string): void => {
    const { treeSize } = storage.size();
    if (size > treeSize) throw new AuditError('invalid', `${field} ${size} is beyond the tree (${treeSize} leaves)`, field);
  };
  let closed: Promise<void> | null = null;
  let running: Promise<VerifyReport> | null = null;

  return {
    publicKeyPem: key.publicKeyPem,
    keyId: key.keyId,
    async head() {
      return storage.latestHead();
    },
    async status() {
      const { treeSize, lastPosition } = storage.size();
      const f = feeder?.status() ?? { state: 'reading' as const, failures: 0, lastError: null };
      return { ...f, treeSize, lastPosition, signedSize: storage.latestHead()?.treeSize ?? 0, parked: storage.parked() };
    },
    async state() {
      const { treeSize, lastPosition } = storage.size();
      return { treeSize, lastPosition, rootHash: toHex(rootAt(storage, treeSize)) };
    },
    async heads(range = {}) {
      return storage.heads(range.fromSize ?? 0, range.toSize ?? Number.MAX_SAFE_INTEGER, range.limit ?? 1000);
    },
    async signHead() {
      if (!feeder) throw new AuditError('unavailable', 'this audit log is open read-only (follow: false); the process that follows the store signs heads');
      try {
        return feeder.checkpoint(true) as SignedTreeHead;
      } catch (e) {
        // Not the caller's fault: a tree being rebuilt, or audit.db failing to take a write.
        if (e instanceof AuditError) throw e;
        throw new AuditError('unavailable', `cannot sign a head now: ${e instanceof Error ? e.message : String(e)}; retry shortly`);
      }
    },
    async inclusionProof(position, treeSize) {
      // Read-your-writes: a position just recorded may be a flush away from the tree.
      let index = storage.indexOf(position);
      if (index === null && feeder && (await feeder.waitFor(position, 500))) index = storage.indexOf(position);
      const size = treeSize ?? signedSize();
      checkSize(size, 'treeSize');
      if (index === null) throw new AuditError('not_found', `no audited event at position ${position}`, 'position');
      if (index >= size) throw new AuditError('invalid', `the event at ${position} is leaf ${index}, not in a tree of ${size}`, 'treeSize');
      return {
        leafFormat: LEAF_FORMAT,
        position,
        leafIndex: index,
        treeSize: size,
        leafHash: toHex(storage.node(0, index)),
        rootHash: toHex(rootAt(nodes, size)),
        auditPath: inclusionProof(nodes, index, size).map(toHex),
        head: storage.headAt(size),
      };
    },
    async consistencyProof(fromSize, toSize) {
      const to = toSize ?? signedSize();
      checkSize(to, 'to');
      if (fromSize > to) throw new AuditError('invalid', `from (${fromSize}) is after to (${to})`, 'from');
      return {
        fromSize,
        toSize: to,
        fromRootHash: toHex(rootAt(nodes, fromSize)),
        toRootHash: toHex(rootAt(nodes, to)),
        proof: consistencyProof(nodes, fromSize, to).map(toHex),
        fromHead: storage.headAt(fromSize),
        toHead: storage.headAt(to),
      };
    },
    verify(onProgress) {
      // One verify at a time: a second caller shares the running one (it reads the whole log).
      running ??= (async () => {
        try {
          feeder?.flush();
          return await verifyLog({ store, storage, key, clock, ...(onProgress ? { onProgress } : {}) });
        } finally {
          running = null;
        }
      })();
      return running;
    },
    async waitFor(position, timeoutMs) {
      if (feeder) return feeder.waitFor(position, timeoutMs);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = storage.size().lastPosition;
        if (last !== null && last >= position) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        await feeder?.stop();
        storage.close();
      })();
      return closed;
    },
  };
}
