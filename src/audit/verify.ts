/**
 * Verify: re-reads the whole log from the store, recomputes every leaf and the root, and
 * checks every signed head. It trusts nothing in audit.db but the signatures: leaf hashes
 * and subtree nodes stored there are compared with the recomputation, never used in it.
 */
import type { EventStore } from '../store/port.js';
import { eventLeafHash } from './leaf.js';
import { CompactTree, EMPTY_ROOT, rootAt, toHex } from './merkle.js';
import type { AuditKey, SignedTreeHead } from './signing.js';
import { STORED_LEVEL, type AuditStorage } from './storage.js';

export interface VerifyProgress {
  /** Events read from the store so far. */
  readonly eventsRead: number;
  /** Leaves in the audit tree: the events that verify compares with what was recorded. */
  readonly treeSize: number;
}

export type DivergenceReason =
  /** The event at this position no longer hashes to the leaf recorded for it: altered (or reordered). */
  | 'leaf-hash-mismatch'
  /** The audited event at this position is gone from the store (deleted, or moved to another position). */
  | 'missing-event'
  /** The store holds an event at a position the tree never saw, amid audited ones (inserted). */
  | 'unexpected-event'
  /** The event carries no seal: the service did not write it (embedded store, read with seals checked). */
  | 'unsealed-event'
  /** The event no longer matches its seal: changed after the service wrote it. */
  | 'altered-event';

export interface Divergence {
  readonly reason: DivergenceReason;
  /** 0-based leaf index where the log and the tree part ways. */
  readonly leafIndex: number;
  /** The position the tree recorded at that index (for unexpected-event: the intruder's). */
  readonly position: string;
  /** Leaf hash recorded in the tree, and the one recomputed from the store (hex), where both exist. */
  readonly recorded?: string;
  readonly recomputed?: string;
  readonly detail: string;
}

export type BadHeadReason = 'root-mismatch' | 'last-position-mismatch' | 'bad-signature' | 'unknown-key' | 'beyond-log' | 'stored-tree-mismatch';

export interface BadHead {
  readonly reason: BadHeadReason;
  readonly head: SignedTreeHead;
  /** The root recomputed from the store at head.treeSize, where the log is that long. */
  readonly recomputedRootHash?: string;
  readonly detail: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Events in the store, all read and hashed. */
  readonly eventsRead: number;
  /** Leaves in the audit tree when verify began. */
  readonly treeSize: number;
  /** Root recomputed over every event read (hex). */
  readonly rootHash: string;
  /** Events in the store after the tree's last leaf: recorded since, not yet audited. */
  readonly unaudited: number;
  readonly headsChecked: number;
  readonly headsFailed: number;
  readonly leavesFailed: number;
  /** The first place the log and the recorded tree disagree; null when they agree. */
  readonly firstDivergence: Divergence | null;
  /** The first signed head (by tree size) the log no longer matches; null when all hold. */
  readonly firstBadHead: BadHead | null;
  /**
   * The first subtree hash stored in audit.db (what proofs are served from) that differs
   * from the recomputation, checked up to the first divergence; null when all agree.
   */
  readonly firstBadNode: { readonly level: number; readonly index: number; readonly detail: string } | null;
}

const PAGE = 5000;

export async function verifyLog(opts: {
  store: EventStore;
  storage: AuditStorage;
  key: AuditKey;
  clock: () => Date;
  onProgress?: (p: VerifyProgress) => void;
}): Promise<VerifyReport> {
  const { store, storage, key, onProgress } = opts;
  const startedAt = opts.clock().toISOString();
  const { treeSize } = storage.size();
  const heads = storage.allHeads();
  let nextHead = 0;
  const tree = new CompactTree();
  let firstDivergence: Divergence | null = null;
  let firstBadHead: BadHead | null = null;
  let leavesFailed = 0;
  let headsFailed = 0;
  let recorded: ReturnType<AuditStorage['leavesFrom']> = [];
  let recordedAt = 0; // index of recorded[0]
  let unaudited = 0;
  let firstBadNode: VerifyReport['firstBadNode'] = null;

  const diverge = (d: Divergence): void => {
    leavesFailed++;
    firstDivergence ??= d;
  };
  const badHead = (b: BadHead): void => {
    headsFailed++;
    firstBadHead ??= b;
  };
  const recordedLeaf = (index: number): { position: string; hash: Buffer } | null => {
    if (index >= treeSize) return null;
    if (index < recordedAt || index >= recordedAt + recorded.length) {
      recorded = storage.leavesFrom(index, PAGE);
      recordedAt = index;
    }
    return recorded[index - recordedAt] ?? null;
  };
  const checkHeadsAt = (size: number, lastPosition: string | null): void => {
    while (nextHead < heads.length && (heads[nextHead] as SignedTreeHead).treeSize === size) {
      const head = heads[nextHead++] as SignedTreeHead;
      const root = toHex(size === 0 ? EMPTY_ROOT : tree.root());
      if (head.keyId !== key.keyId) badHead({ reason: 'unknown-key', head, detail: `signed by key ${head.keyId}, not this log's key ${key.keyId}` });
      else if (!key.verifyHead(head)) badHead({ reason: 'bad-signature', head, detail: 'the signature does not match the head' });
      else if (head.rootHash !== root) {
        badHead({ reason: 'root-mismatch', head, recomputedRootHash: root, detail: `the first ${size} events now hash to ${root}, the head signed ${head.rootHash}` });
      } else if (head.lastPosition !== lastPosition) {
        badHead({ reason: 'last-position-mismatch', head, recomputedRootHash: root, detail: `event ${size} is now at ${lastPosition}, the head signed ${head.lastPosition}` });
      } else if (size <= treeSize && toHex(rootAt(storage, size)) !== head.rootHash) {
        badHead({ reason: 'stored-tree-mismatch', head, recomputedRootHash: root, detail: 'audit.db subtree hashes disagree with the head: proofs served from it are wrong' });
      }
    }
  };

  checkHeadsAt(0, null);
  let eventsRead = 0;
  let lastPosition: string | null = null;
  let after: string | undefined;
  // A merge by position of the store's events with the recorded leaves (both in log order),
  // so a deleted or inserted event is reported once, not as a shift of every later leaf.
  let j = 0;
  for (;;) {
    const page = await store.readAll({ ...(after === undefined ? {} : { after }), limit: PAGE });
    for (const e of page) {
      const hash = eventLeafHash(e);
      if (e.integrity === 'unsealed' || e.integrity === 'altered') {
        const detail = e.integrity === 'unsealed' ? `the event at ${e.position} carries no seal: the service did not write it` : `the event at ${e.position} does not match its seal: changed after it was written`;
        diverge({ reason: `${e.integrity}-event`, leafIndex: j, position: e.position, recomputed: toHex(hash), detail });
      }
      let r = recordedLeaf(j);
      while (r && r.position < e.position) {
        diverge({ reason: 'missing-event', leafIndex: j, position: r.position, recorded: toHex(r.hash), detail: `the audited event at ${r.position} is no longer in the store` });
        r = recordedLeaf(++j);
      }
      if (r && r.position === e.position) {
        if (!r.hash.equals(hash)) {
          diverge({ reason: 'leaf-hash-mismatch', leafIndex: j, position: e.position, recorded: toHex(r.hash), recomputed: toHex(hash), detail: `the event at ${e.position} no longer hashes to the leaf recorded for it: altered after it was audited` });
        }
        j++;
      } else if (r) {
        diverge({ reason: 'unexpected-event', leafIndex: j, position: e.position, recomputed: toHex(hash), detail: `an event at ${e.position} was never audited (inserted before ${r.position})` });
      } else {
        unaudited++;
      }
      for (const n of tree.append(hash)) {
        // Past a divergence the stored nodes differ by necessity; before it they must not.
        // Levels 1 to STORED_LEVEL - 1 are not stored: folded from the leaves checked above.
        if (n.level < STORED_LEVEL || firstDivergence !== null || firstBadNode !== null || (n.index + 1) * 2 ** n.level > treeSize) continue;
        if (!storage.node(n.level, n.index).equals(n.hash)) {
          firstBadNode = { level: n.level, index: n.index, detail: `audit.db node ${n.level}/${n.index} differs from the recomputed subtree: proofs through it are wrong` };
        }
      }
      eventsRead++;
      lastPosition = e.position;
      checkHeadsAt(eventsRead, lastPosition);
      if (onProgress && eventsRead % 10_000 === 0) onProgress({ eventsRead, treeSize });
    }
    if (page.length < PAGE) break;
    after = (page[page.length - 1] as { position: string }).position;
    // Reading and hashing the whole log takes a while: let requests through between pages.
    await new Promise((r) => setImmediate(r));
  }
  // Audited leaves past the end of the store: deleted from the tail.
  for (let r = recordedLeaf(j); r; r = recordedLeaf(++j)) {
    diverge({ reason: 'missing-event', leafIndex: j, position: r.position, recorded: toHex(r.hash), detail: `the audited event at ${r.position} is no longer in the store` });
  }
  for (; nextHead < heads.length; nextHead++) {
    const head = heads[nextHead] as SignedTreeHead;
    badHead({ reason: 'beyond-log', head, detail: `signed over ${head.treeSize} events, the store holds ${eventsRead}` });
  }
  if (eventsRead % 10_000 !== 0 || eventsRead === 0) onProgress?.({ eventsRead, treeSize });
  return {
    ok: firstDivergence === null && firstBadHead === null && firstBadNode === null,
    startedAt,
    finishedAt: opts.clock().toISOString(),
    eventsRead,
    treeSize,
    rootHash: toHex(tree.root()),
    unaudited,
    headsChecked: heads.length,
    headsFailed,
    leavesFailed,
    firstDivergence,
    firstBadHead,
    firstBadNode,
  };
}
