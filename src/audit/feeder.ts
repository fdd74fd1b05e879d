/**
 * The audit follower's core: follows the store into audit.db (one leaf per event, in log
 * order) and signs heads. One per process that writes audit.db.
 *
 * What it will not do:
 * - take in an event it cannot vouch for. Reading through a store that checks seals
 *   (StoredEvent.integrity), an unsealed or altered event is parked (audit.db, table
 *   `parked`) and the tree stops before it: leaving it out would make the tree cover
 *   something else than the log, taking it in would sign it. Every 10 s the follower looks
 *   again (a row put right is taken in, and the parked entry goes);
 * - sign a tree that differs from the last head kept beside the key (kept-head.ts): a tree
 *   rebuilt below that head's size signs nothing until it reaches it, and is compared then,
 *   before anything at that size is written;
 * - give up on a failed write. A full disk is transient until proven otherwise: it goes back
 *   to what audit.db holds and retries with a growing pause, then catches up by itself.
 */
import type { Logger } from 'pino';
import { logIdentity } from '../store/identity.js';
import { PositionWaiters } from '../store/position-waiters.js';
import type { EventStore, Position, StoredEvent, Subscription } from '../store/port.js';
import { AuditError } from './errors.js';
import { KEPT_HEAD_FORMAT, writeKeptHead, type KeptHead } from './kept-head.js';
import { eventLeafHash, LEAF_FORMAT } from './leaf.js';
import { rootAt, toHex, type CompactTree, type CompletedNode } from './merkle.js';
import { HEAD_FORMAT, type AuditKey, type SignedTreeHead } from './signing.js';
import { ConcurrentFeedError, type AuditStorage, type ParkedAuditEvent } from './storage.js';

/**
 * following: taking the log in; rebuilding: below the head kept beside the key, signing
 * nothing until it matches; retrying: a write failed, retrying; halted: stopped before an
 * event it cannot vouch for (parked); stopped: closed.
 */
export type FeederState = 'following' | 'rebuilding' | 'retrying' | 'halted' | 'stopped';

export interface FeederStatus {
  readonly state: FeederState;
  /** Failed attempts in a row, and the last failure's message. */
  readonly failures: number;
  readonly lastError: string | null;
}

export interface FeederOptions {
  readonly store: EventStore;
  readonly storage: AuditStorage;
  readonly key: AuditKey;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Sign a head once this many leaves were added since the last head. */
  readonly every: number;
  readonly batchSize: number;
  readonly onAudited?: (position: Position) => void;
  /** Called whenever the state, failures or last error change. */
  readonly onStatus?: (status: FeederStatus) => void;
  /** The log's identity, when known at start (src/store/identity.ts). */
  readonly identity: string | null;
  /** Where the last head is kept beside the key, and the head there (checked at start, start-checks.ts). */
  readonly keptFile: string | null;
  readonly kept: KeptHead | null;
  /** First and longest pause between retries after a failed write. Defaults 250 ms and 10 s. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** How often a halted follower looks again at the event it parked. Default 10 s. */
  readonly recheckMs?: number;
}

/** How long received leaves may wait before they are written to audit.db. */
const FLUSH_DELAY_MS = 25;

interface Pending {
  position: Position;
  nodes: CompletedNode[];
}

export class Feeder {
  private tree!: CompactTree;
  private lastPosition: Position | null = null;
  /** Tree size of the latest signed head. */
  private headSize = 0;
  private pending: Pending[] = [];
  /** The pending write of received leaves (a timer: each audit.db commit costs a transaction's work, so leaves are written in batches). */
  private flushTimer: NodeJS.Timeout | null = null;
  private flushTimerSoon = false;
  private sub: Subscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  /** A write that failed outside the loop (a timer's flush): the loop retries on it. */
  private writeFailure: unknown = null;
  /** Bumped whenever the in-memory tree is reloaded from audit.db. */
  private generation = 0;
  private wake: (() => void) | null = null;
  private readonly waiters = new PositionWaiters();
  private identity: string | null;
  private state: FeederState = 'following';
  private failures = 0;
  private lastError: string | null = null;
  /** The tree reached the kept head's size and matched it (or there is none). */
  private keptMatched: boolean;
  private lastParked: string | null = null;

  constructor(private readonly o: FeederOptions) {
    this.identity = o.identity;
    this.keptMatched = o.kept === null;
  }

  async start(): Promise<void> {
    this.reload();
    if (this.o.kept !== null && this.tree.size >= this.o.kept.head.treeSize) this.keptMatched = true;
    try {
      if (this.identity !== null && this.o.storage.logIdentity() === null) this.o.storage.setLogIdentity(this.identity);
      // What was parked is found again if it is still there.
      this.o.storage.clearParked();
    } catch (e) {
      // A full disk at start: the follower's first write retries, as any other.
      this.o.log.error({ err: e }, 'audit log: could not update audit.db at start; going on');
    }
    this.setState(this.keptMatched ? 'following' : 'rebuilding');
    this.loop = this.run();
  }

  status(): FeederStatus {
    return { state: this.state, failures: this.failures, lastError: this.lastError };
  }

  private setState(state: FeederState, error?: unknown): void {
    const lastError = error === undefined ? (state === 'following' || state === 'rebuilding' ? null : this.lastError) : error instanceof Error ? error.message : String(error);
    if (state === this.state && lastError === this.lastError) return;
    this.state = state;
    this.lastError = lastError;
    this.o.onStatus?.(this.status());
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const generation = this.generation;
      let halted = false;
      this.sub = this.o.store.subscribe(this.lastPosition === null ? {} : { after: this.lastPosition });
      try {
        for await (const e of this.sub) {
          // A resync (another process wrote audit.db first) reloaded the tree: start over from it.
          if (generation !== this.generation) break;
          const last = this.pending.at(-1)?.position ?? this.lastPosition;
          if (last !== null && e.position <= last) throw new Error(`store yielded ${e.position} after ${last}: out of order`);
          if (e.integrity === 'unsealed' || e.integrity === 'altered') {
            this.flush();
            this.park(e, e.integrity);
            halted = true;
            break;
          }
          if (this.identity === null && this.tree.size === 0) await this.learnIdentity();
          const nodes = this.tree.append(eventLeafHash(e));
          this.pending.push({ position: e.position, nodes });
          // At the kept head's size, or at its last position with another size (events lost before it): compare.
          const kept = this.keptMatched ? null : (this.o.kept as KeptHead).head;
          if (kept !== null && (this.tree.size === kept.treeSize || (kept.lastPosition !== null && e.position >= kept.lastPosition))) {
            if (!this.matchesKept(e)) {
              halted = true;
              break;
            }
            this.flush();
            continue;
          }
          // Flushing at exactly `every` leaves puts heads at predictable sizes, even in catch-up.
          if (this.pending.length >= this.o.batchSize || (this.keptMatched && this.tree.size - this.headSize >= this.o.every)) {
            this.flush();
            // A catch-up over a long log may arrive as microtasks only: let requests through.
            await new Promise((r) => setImmediate(r));
          } else this.scheduleFlush();
        }
        if (this.writeFailure !== null) {
          const e = this.writeFailure;
          this.writeFailure = null;
          throw e;
        }
        if (halted) {
          await this.pause(this.o.recheckMs ?? 10_000);
        } else if (!this.stopped && generation === this.generation) {
          // The store ended the subscription (closing?): do not spin on it.
          this.o.log.warn('audit log: the store ended the subscription; resubscribing in 1 s');
          await this.pause(1000);
        }
      } catch (e) {
        if (this.stopped) break;
        this.failures++;
        const delayMs = Math.min(this.o.maxRetryMs ?? 10_000, (this.o.retryMs ?? 250) * 2 ** Math.min(this.failures - 1, 20));
        this.o.log.error({ err: e, failures: this.failures, retryInMs: delayMs }, 'audit log: following the store or writing audit.db failed; retrying from what audit.db holds');
        this.discardPending();
        this.setState('retrying', e);
        await this.pause(delayMs);
      } finally {
        await this.sub?.close();
      }
    }
  }

  /** The log had no identity at start (an empty EventStoreDB log): its first event gives it one. */
  private async learnIdentity(): Promise<void> {
    this.identity = await logIdentity(this.o.store);
    if (this.identity !== null) this.o.storage.setLogIdentity(this.identity);
  }

  /** Compares the tree, grown to the kept head's size, with it before writing anything at that size. */
  private matchesKept(e: StoredEvent): boolean {
    const kept = (this.o.kept as KeptHead).head;
    const root = toHex(this.tree.root());
    if (this.tree.size === kept.treeSize && root === kept.rootHash && e.position === kept.lastPosition) {
      this.keptMatched = true;
      this.o.log.info({ treeSize: kept.treeSize }, 'audit tree rebuilt up to the head kept beside the key, and it matches');
      this.setState('following');
      return true;
    }
    const detail = `the first ${this.tree.size} events of the log hash to ${root} (the last at ${e.position}); the head kept in ${this.o.keptFile} signed ${kept.treeSize} events hashing to ${kept.rootHash} (the last at ${kept.lastPosition}): the log was rewritten before this position since that head was signed`;
    this.discardPending();
    this.parkEntry({ position: e.position, eventId: e.id, type: e.type, reason: 'kept-head-mismatch', detail, seenAt: this.o.clock().toISOString() });
    return false;
  }

  private park(e: StoredEvent, reason: 'unsealed' | 'altered'): void {
    const detail =
      reason === 'unsealed'
        ? `the event at ${e.position} carries no seal: this service did not write it (appended to events.db by something else)`
        : `the event at ${e.position} does not match its seal: it was changed after this service wrote it`;
    this.parkEntry({ position: e.position, eventId: e.id, type: e.type, reason, detail, seenAt: this.o.clock().toISOString() });
  }

  private parkEntry(p: ParkedAuditEvent): void {
    const key = `${p.position}:${p.reason}`;
    if (this.lastParked !== key) {
      this.lastParked = key;
      this.o.log.error({ position: p.position, reason: p.reason, eventId: p.eventId }, `audit log: ${p.detail}. The tree stops before it and nothing after it is signed; restore a backup ('annals restore') or remove the row, and the tree goes on by itself`);
    }
    try {
      this.o.storage.park(p);
    } catch (err) {
      // Parked in memory still: the state says halted; the table catches up at the next look.
      this.o.log.error({ err }, 'audit log: could not record the parked event in audit.db');
    }
    this.setState('halted', new Error(p.detail));
  }

  /** Waits before a retry; stop() cuts it short, and after stop() it does not wait at all (stop() may come while the loop is between its pauses, e.g. closing a subscription). */
  private pause(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
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
   * (one transaction, without an fsync: storage.ts) at most FLUSH_DELAY_MS later, so a busy
   * store's many small commits share one audit.db commit. Whoever waits for a leaf (waitFor, proofs, verify,
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
      this.flushOrRetry();
    }, soon ? 0 : FLUSH_DELAY_MS);
  }

  /** A flush outside the loop: a failure makes the loop start over from audit.db, with a pause. */
  private flushOrRetry(): void {
    try {
      this.flush();
    } catch (e) {
      this.writeFailure ??= e;
      void this.sub?.close();
    }
  }

  /** Writes what was received; signs a head when `every` leaves passed since the last. */
  flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const before = this.tree.size - batch.length;
    try {
      this.o.storage.appendBatch(before, batch);
    } catch (e) {
      // The in-memory tree already holds the batch: go back to what is on disk.
      this.discardPending();
      if (e instanceof ConcurrentFeedError) {
        // Another process (a second server on this data dir) wrote these leaves first, from
        // the same log: go on from its tree. verify would catch any difference.
        this.o.log.warn({ err: e }, 'audit log: another process feeds audit.db; resynchronising');
        return;
      }
      throw e;
    }
    this.pending = [];
    this.lastPosition = (batch[batch.length - 1] as Pending).position;
    if (this.failures > 0 || this.state === 'retrying' || this.state === 'halted') {
      if (this.failures > 0) this.o.log.info({ failures: this.failures }, 'audit log: writing audit.db works again; catching up');
      if (this.state === 'halted') this.o.storage.clearParked();
      this.failures = 0;
      this.lastParked = null;
      this.setState(this.keptMatched ? 'following' : 'rebuilding');
    }
    this.notifyWaiters();
    if (this.keptMatched && this.tree.size - this.headSize >= this.o.every) this.checkpoint(true);
  }

  /** Back to the tree audit.db holds. */
  private discardPending(): void {
    this.generation++;
    this.pending = [];
    this.reload();
    this.notifyWaiters();
  }

  private reload(): void {
    this.tree = this.o.storage.loadTree();
    this.lastPosition = this.o.storage.size().lastPosition;
    this.headSize = this.o.storage.latestHead()?.treeSize ?? 0;
  }

  private notifyWaiters(): void {
    const last = this.lastPosition;
    if (last === null) return;
    this.o.onAudited?.(last);
    this.waiters.reached(last);
  }

  /**
   * Signs a head over the stored tree (`force` false: only if it grew since the last head),
   * and keeps it beside the key. Below the kept head's size a rebuilt tree signs nothing.
   */
  checkpoint(force: boolean): SignedTreeHead | null {
    try {
      this.flush();
      if (!this.keptMatched) {
        const kept = (this.o.kept as KeptHead).head;
        throw new AuditError('unavailable', `the audit tree is being rebuilt (${this.tree.size} of the ${kept.treeSize} leaves of the head kept in ${this.o.keptFile}); heads are signed once it matches that head`);
      }
      const { treeSize, lastPosition } = this.o.storage.size();
      if (!force && treeSize === this.headSize) return null;
      const head = this.o.key.signHead({
        format: HEAD_FORMAT,
        leafFormat: LEAF_FORMAT,
        treeSize,
        rootHash: toHex(rootAt(this.o.storage, treeSize)),
        lastPosition,
        timestamp: this.o.clock().toISOString(),
        keyId: this.o.key.keyId,
      });
      this.o.storage.addHead(head);
      this.headSize = treeSize;
      this.keep(head);
      this.o.log.debug({ treeSize, rootHash: head.rootHash }, 'audit tree head signed');
      return head;
    } catch (e) {
      if (force) throw e;
      this.o.log.error({ err: e }, 'audit log: signing a tree head failed');
      return null;
    }
  }

  /** The head beside the key; a failure there (its disk full) leaves the head signed in audit.db and is retried at the next head. */
  private keep(head: SignedTreeHead): void {
    if (this.o.keptFile === null || this.identity === null || head.treeSize === 0) return;
    try {
      writeKeptHead(this.o.keptFile, { format: KEPT_HEAD_FORMAT, log: this.identity, head });
    } catch (e) {
      this.o.log.error({ err: e, file: this.o.keptFile }, 'audit log: could not keep the signed head beside the key; kept at the next head');
    }
  }

  waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    if (this.lastPosition !== null && this.lastPosition >= position) return Promise.resolve(true);
    const received = this.pending.at(-1)?.position;
    if (received !== undefined && received >= position) {
      // Received, not yet written: write it now.
      this.flushOrRetry();
      if (this.lastPosition !== null && this.lastPosition >= position) return Promise.resolve(true);
    }
    return this.waiters.wait(position, timeoutMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.sub?.close();
    await this.loop;
    this.waiters.cancelAll();
    // What was received is written, and the last state signed, so a restart starts from a head.
    try {
      if (this.keptMatched) this.checkpoint(false);
      else this.flush();
    } catch (e) {
      this.o.log.error({ err: e }, 'audit log: could not write the last leaves at close; the next start takes them in again');
    }
    this.setState('stopped');
  }
}
