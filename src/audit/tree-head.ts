/**
 * The audit log: follows the event store (every event, bookkeeping ones too, in global
 * order), appends each event's leaf to the Merkle tree kept in <dataDir>/audit.db, signs a
 * tree head every `checkpointEvents` events, every `checkpointIntervalMs` when the tree grew,
 * on demand and at close, and serves heads, proofs and verify. Knows nothing about HTTP.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EventStore, Position, Subscription } from '../store/port.js';
import { eventLeafHash, LEAF_FORMAT } from './leaf.js';
import { consistencyProof, inclusionProof, rootAt, toHex, type CompactTree, type CompletedNode } from './merkle.js';
import { HEAD_FORMAT, loadOrCreateKey, type AuditKey, type SignedTreeHead } from './signing.js';
import { AuditStorage, ConcurrentFeedError } from './storage.js';
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
}

/** Thrown for a request the log cannot answer; `kind` says how HTTP should answer it. */
export class AuditError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'unavailable',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AuditError';
  }
}

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

/** How long received leaves may wait before they are written to audit.db. */
const FLUSH_DELAY_MS = 25;

interface Pending {
  position: Position;
  nodes: CompletedNode[];
}

export async function openAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const { store, log } = opts;
  const clock = opts.clock ?? (() => new Date());
  const follow = opts.follow ?? true;
  const every = Math.max(1, opts.checkpointEvents ?? 1000);
  const intervalMs = opts.checkpointIntervalMs ?? 10_000;
  const batchSize = Math.max(1, opts.batchSize ?? 5000);
  const key = loadOrCreateKey(opts.dataDir, log);
  const storage = AuditStorage.open(join(opts.dataDir, 'audit.db'));
  const nodes = storage.cached();
  const feeder = follow ? new Feeder(store, storage, key, log, clock, every, batchSize, opts.onAudited) : null;
  try {
    await feeder?.start();
  } catch (e) {
    storage.close();
    throw e;
  }
  const timer = feeder && intervalMs > 0 ? setInterval(() => feeder.checkpoint(false), intervalMs) : null;
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
    async state() {
      const { treeSize, lastPosition } = storage.size();
      return { treeSize, lastPosition, rootHash: toHex(rootAt(storage, treeSize)) };
    },
    async heads(range = {}) {
      return storage.heads(range.fromSize ?? 0, range.toSize ?? Number.MAX_SAFE_INTEGER, range.limit ?? 1000);
    },
    async signHead() {
      if (!feeder) throw new AuditError('unavailable', 'this audit log is open read-only (follow: false); the process that follows the store signs heads');
      return feeder.checkpoint(true) as SignedTreeHead;
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

/** Follows the store into audit.db, and signs heads. One per process that writes audit.db. */
class Feeder {
  private tree!: CompactTree;
  private lastPosition: Position | null = null;
  /** Tree size of the latest signed head. */
  private headSize = 0;
  private pending: Pending[] = [];
  /** The pending write of received leaves (a timer: audit.db commits with an fsync, so leaves are written in batches). */
  private flushTimer: NodeJS.Timeout | null = null;
  private flushTimerSoon = false;
  private sub: Subscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private failed: Error | null = null;
  /** Bumped whenever the in-memory tree is reloaded from audit.db. */
  private generation = 0;
  private wake: (() => void) | null = null;
  private readonly waiters = new Set<{ position: Position; resolve: (ok: boolean) => void }>();

  constructor(
    private readonly store: EventStore,
    private readonly storage: AuditStorage,
    private readonly key: AuditKey,
    private readonly log: Logger,
    private readonly clock: () => Date,
    private readonly every: number,
    private readonly batchSize: number,
    private readonly onAudited?: (position: Position) => void,
  ) {}

  async start(): Promise<void> {
    this.tree = this.storage.loadTree();
    this.lastPosition = this.storage.size().lastPosition;
    this.headSize = this.storage.latestHead()?.treeSize ?? 0;
    const head = await this.store.head();
    if (this.lastPosition !== null && (head === null || head < this.lastPosition)) {
      this.log.error({ audited: this.lastPosition, storeHead: head }, 'audit tree covers events the store no longer has: run verify');
    }
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.failed) {
      const generation = this.generation;
      this.sub = this.store.subscribe(this.lastPosition === null ? {} : { after: this.lastPosition });
      try {
        for await (const e of this.sub) {
          // A resync (another process wrote audit.db first) reloaded the tree: start over from it.
          if (generation !== this.generation) break;
          const last = this.pending.at(-1)?.position ?? this.lastPosition;
          if (last !== null && e.position <= last) throw new Error(`store yielded ${e.position} after ${last}: out of order`);
          this.pending.push({ position: e.position, nodes: this.tree.append(eventLeafHash(e)) });

          // Flushing at exactly `every` leaves puts heads at predictable sizes, even in catch-up.
          if (this.pending.length >= this.batchSize || this.tree.size - this.headSize >= this.every) {
            this.flush();
            // A catch-up over a long log may arrive as microtasks only: let requests through.
            await new Promise((r) => setImmediate(r));
          } else this.scheduleFlush();
        }
        if (!this.stopped && generation === this.generation) {
          // The store ended the subscription (closing?): do not spin on it.
          this.log.warn('audit log: the store ended the subscription; resubscribing in 1 s');
          await this.pause(1000);
        }
      } catch (e) {
        if (this.stopped || this.failed) break;
        this.log.error({ err: e }, 'audit log: following the store failed; resubscribing in 1 s');
        this.discardPending();
        await this.pause(1000);
      }
    }
  }

  /** Waits before a retry; stop() cuts it short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(), ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * The audit tree is not on the path of an acknowledgement: received leaves are written
   * (one transaction, one fsync) at most FLUSH_DELAY_MS later, so a busy store's many small
   * commits share one audit.db commit. Whoever waits for a leaf (waitFor, proofs, verify,
   * signing) flushes at once.
   */
  private scheduleFlush(): void {
    // Someone waits for a leaf: write at the next turn rather than after the delay.
    const soon = this.waiters.size > 0;
    if (this.flushTimer !== null) {
      if (this.flushTimerSoon || !soon) return;
      clearTimeout(this.flushTimer);
    }
    this.flushTimerSoon = soon;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      try {
        this.flush();
      } catch (e) {
        this.log.error({ err: e }, 'audit log: writing audit.db failed');
      }
    }, soon ? 0 : FLUSH_DELAY_MS);
  }

  /** Writes what was received; signs a head when `every` leaves passed since the last. */
  flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.failed) throw this.failed;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const before = this.tree.size - batch.length;
    try {
      this.storage.appendBatch(before, batch);
    } catch (e) {
      // The in-memory tree already holds the batch: go back to what is on disk.
      this.discardPending();
      if (e instanceof ConcurrentFeedError) {
        // Another process (a second server on this data dir) wrote these leaves first, from
        // the same log: go on from its tree. verify would catch any difference.
        this.log.warn({ err: e }, 'audit log: another process feeds audit.db; resynchronising');
        return;
      }
      // A broken disk or file is not something to retry blindly.
      this.failed = e as Error;
      void this.sub?.close();
      throw e;
    }
    this.pending = [];
    this.lastPosition = (batch[batch.length - 1] as Pending).position;
    this.notifyWaiters();
    if (this.tree.size - this.headSize >= this.every) this.checkpoint(true);
  }

  private discardPending(): void {
    this.generation++;
    this.pending = [];
    this.tree = this.storage.loadTree();
    this.lastPosition = this.storage.size().lastPosition;
    this.headSize = this.storage.latestHead()?.treeSize ?? 0;
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    const last = this.lastPosition;
    if (last === null) return;
    this.onAudited?.(last);
    for (const w of [...this.waiters]) {
      if (last >= w.position) {
        this.waiters.delete(w);
        w.resolve(true);
      }
    }
  }

  /** Signs a head over the stored tree; `force` false: only if it grew since the last head. */
  checkpoint(force: boolean): SignedTreeHead | null {
    try {
      this.flush();
      const { treeSize, lastPosition } = this.storage.size();
      if (!force && treeSize === this.headSize) return null;
      const head = this.key.signHead({
        format: HEAD_FORMAT,
        leafFormat: LEAF_FORMAT,
        treeSize,
        rootHash: toHex(rootAt(this.storage, treeSize)),
        lastPosition,
        timestamp: this.clock().toISOString(),
        keyId: this.key.keyId,
      });
      this.storage.addHead(head);
      this.headSize = treeSize;
      this.log.debug({ treeSize, rootHash: head.rootHash }, 'audit tree head signed');
      return head;
    } catch (e) {
      if (force) throw e;
      this.log.error({ err: e }, 'audit log: signing a tree head failed');
      return null;
    }
  }

  waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.lastPosition !== null && this.lastPosition >= position) return Promise.resolve(true);
    const received = this.pending.at(-1)?.position;
    if (received !== undefined && received >= position) {
      // Received, not yet written: write it now.
      try {
        this.flush();
      } catch (e) {
        this.log.error({ err: e }, 'audit log: writing audit.db failed');
      }
      if (this.lastPosition !== null && this.lastPosition >= position) return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const w = {
        position,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.sub?.close();
    await this.loop;
    for (const w of this.waiters) w.resolve(false);
    this.waiters.clear();
    if (this.failed) return;
    // What was received is written, and the last state signed, so a restart starts from a head.
    this.checkpoint(false);
  }
}
