/**
 * What the audit follower checks before it follows anything, each failure a refusal to start
 * (LogMismatchError) with what to do next. Cheap (a few reads and O(log n) hashes), so it runs
 * at every start; the whole recomputation is verify's.
 * 1. audit.db covers this log (src/store/identity.ts): same identity, the log reaches the
 *    tree's last position, and the event there still hashes to the last leaf.
 * 2. audit.db's latest head is signed by this key and matches the tree stored beside it.
 * 3. The head kept beside the key (kept-head.ts) is of this log, signed by this key, and
 *    either matches the tree at its size or lies ahead of it in a log long enough to reach it.
 */
import { LogMismatchError, logIdentity, mismatch } from '../store/identity.js';
import type { EventStore } from '../store/port.js';
import { readKeptHead, type KeptHead } from './kept-head.js';
import { eventLeafHash } from './leaf.js';
import { rootAt, toHex } from './merkle.js';
import type { AuditKey } from './signing.js';
import type { AuditStorage } from './storage.js';

export interface StartCheck {
  /** The log's identity (null: an empty log without one yet). */
  readonly identity: string | null;
  /** The head kept beside the key, checked; null when there is none. */
  readonly kept: KeptHead | null;
}

const MOVE_ASIDE = "If events.db was lost or replaced, restore a backup ('annals restore'). If this is the log you mean to serve from now on (an EventStoreDB whose data was reset, say), move audit.db aside (keep it: it is the record of what was signed) and start again";

export async function checkTreeAtStart(opts: { store: EventStore; storage: AuditStorage; key: AuditKey; keyFile: string; keptFile: string | null; auditPath: string }): Promise<StartCheck> {
  const { store, storage, key } = opts;
  const refuse = (why: string): never => {
    throw new LogMismatchError(`${why}. Nothing was served or signed`);
  };

  // 1. The tree covers this log.
  const { treeSize, lastPosition } = storage.size();
  const identity = await logIdentity(store);
  const followed = { identity: storage.logIdentity(), position: lastPosition, previous: treeSize >= 2 ? storage.positionAt(treeSize - 2) : null };
  const problem = await mismatch(store, followed, (e) => eventLeafHash(e).equals(storage.node(0, treeSize - 1)));
  if (problem !== null) refuse(`the audit tree in ${opts.auditPath} does not cover this log: ${problem}. ${MOVE_ASIDE}`);

  // 2. Its latest head is this key's and matches what is stored.
  const head = storage.latestHead();
  if (head !== null) {
    if (head.keyId !== key.keyId) {
      refuse(`the heads in ${opts.auditPath} are signed by key ${head.keyId}, and ${opts.keyFile} is key ${key.keyId}: ANNALS_AUDIT_KEY_FILE names another key than the one this tree was signed with. Point it at that key, or move audit.db aside to start a new tree under this one`);
    }
    if (!key.verifyHead(head)) refuse(`the latest head in ${opts.auditPath} does not carry a valid signature: audit.db was altered. ${MOVE_ASIDE}`);
    if (head.treeSize > treeSize || toHex(rootAt(storage, head.treeSize)) !== head.rootHash) {
      refuse(`the tree stored in ${opts.auditPath} does not match its own latest signed head (${head.treeSize} leaves): audit.db was altered. ${MOVE_ASIDE}`);
    }
  }

  // 3. The head kept beside the key.
  const kept = opts.keptFile === null ? null : readKeptHead(opts.keptFile);
  if (kept === null) return { identity, kept: null };
  const file = opts.keptFile as string;
  if (identity !== kept.log) {
    refuse(`the head kept in ${file} is of log ${kept.log}, and this log is ${identity ?? 'empty, without one'}: this data dir or event store is not the one that key signed for. Use the key file that belongs to it, restore a backup ('annals restore'), or, to start a new log under this key, move ${file} aside`);
  }
  if (!key.verifyHead(kept.head)) refuse(`the head kept in ${file} is not signed by ${opts.keyFile}: it was altered, or belongs to another key. Move it aside if you know why`);
  if (kept.head.treeSize <= treeSize) {
    const root = toHex(rootAt(storage, kept.head.treeSize));
    const at = kept.head.treeSize === 0 ? null : storage.positionAt(kept.head.treeSize - 1);
    if (root !== kept.head.rootHash || at !== kept.head.lastPosition) {
      refuse(`${opts.auditPath} is not the tree the head kept in ${file} was signed over (${kept.head.treeSize} leaves): audit.db was replaced, or rebuilt over a rewritten log. Restore a backup ('annals restore')`);
    }
  } else {
    const logHead = await store.head();
    if (kept.head.lastPosition !== null && (logHead === null || logHead < kept.head.lastPosition)) {
      refuse(`the log ends at ${logHead ?? 'nothing (it is empty)'}, before position ${kept.head.lastPosition} of the last head kept in ${file} (${kept.head.treeSize} events): events.db lost events, or was replaced. Restore a backup ('annals restore')`);
    }
  }
  return { identity, kept };
}
