/**
 * The audit checked from files alone (`annals audit verify`): an export of the log (NDJSON,
 * the lines of GET /v1/audit/events or `annals export`), one or more signed heads (the answer
 * of GET /v1/audit/tree-head, which carries the public key), no data dir, no service, no key.
 *
 * A head may also be a C2SP checkpoint (a signed note, checkpoint.ts) with the public key given
 * apart; it is checked like a JSON head but for the last position, which it does not name.
 *
 * What it checks, and what each failure names:
 * - each head: its key id is the SHA-256 of the public key it comes with, its Ed25519
 *   signature holds (`bad-signature`), and every head is of one key (`another-key`; also
 *   against a pinned key id);
 * - each line: JSON with every member of the leaf (`unreadable-line`, `incomplete-line`),
 *   positions rising (`out-of-order`) and, on the embedded store whose positions are
 *   1, 2, 3…, without a gap (`missing-event`); each stream's revisions 0, 1, 2… in log order
 *   (`missing-event`, `out-of-order`): these name the exact position;
 * - the root of the first treeSize leaves equals each head's (`root-mismatch`) and the event
 *   at treeSize is the head's lastPosition: a change that keeps the lines well formed (a byte
 *   in a value) is placed between the last head that still agrees and the first that does not
 *   (more heads, from GET /v1/audit/tree-heads, narrow it); an export shorter than a head is
 *   `export-short`;
 * - an earlier head: it must be a prefix of the later one. Both roots are recomputed from the
 *   same leaves, which is the RFC 9162 consistency relation itself; an earlier head whose root
 *   the export does not give while the later one's it does is `inconsistent`.
 *
 * Memory: the incremental tree (log2 n hashes) and one revision per stream; the export is
 * read a line at a time.
 */
import { createPublicKey } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseCheckpoint, rawPublicKey, verifyCheckpoint } from './checkpoint.js';
import { leafBytes, LEAF_FORMAT } from './leaf.js';
import { CompactTree, hashLeaf, toHex } from './merkle.js';
import { HEAD_FORMAT, keyIdOf, verifyHeadWith, type SignedTreeHead } from './signing.js';
import type { StoredEvent } from '../store/port.js';

export type ProblemKind =
  | 'bad-signature'
  | 'another-key'
  | 'unreadable-line'
  | 'incomplete-line'
  | 'out-of-order'
  | 'missing-event'
  | 'root-mismatch'
  | 'export-short'
  | 'inconsistent';

export interface OfflineProblem {
  readonly kind: ProblemKind;
  readonly message: string;
  /** The store position the problem is at, when one is known. */
  readonly position?: string;
  /** The export's line (from 1), when the problem is on one. */
  readonly line?: number;
  /** A root mismatch: the positions between which the first changed event lies (inclusive). */
  readonly between?: readonly [string | null, string | null];
}

export interface HeadWithKey {
  readonly head: SignedTreeHead;
  /** SPKI PEM. */
  readonly publicKeyPem: string;
  /** Where it came from, for messages ("--head head.json"). */
  readonly label: string;
  /**
   * A C2SP checkpoint (checkpoint.ts) rather than a JSON head: its note is what is signed
   * (under `name`, else its origin), and it names no last position. `head` then holds its
   * size and root, and the key id of `publicKeyPem`.
   */
  readonly checkpoint?: { readonly note: string; readonly name: string | null };
}

/** Reads a C2SP checkpoint file, to be checked with a public key given apart (PEM; `name`: the key name, null: its origin). */
export function parseCheckpointFile(text: string, label: string, key: { publicKeyPem: string; name: string | null }): HeadWithKey {
  let c;
  try {
    c = parseCheckpoint(text);
  } catch (e) {
    throw new Error(`${label}: not a signed tree head nor a C2SP checkpoint (${e instanceof Error ? e.message : String(e)})`);
  }
  const keyId = keyIdOf(createPublicKey(key.publicKeyPem));
  const head: SignedTreeHead = { format: HEAD_FORMAT, leafFormat: LEAF_FORMAT, treeSize: c.treeSize, rootHash: c.rootHash, lastPosition: null, timestamp: '', keyId, signature: '' };
  return { head, publicKeyPem: key.publicKeyPem, label, checkpoint: { note: text, name: key.name } };
}

/** Does the head's signature hold with its key? */
function signatureHolds(h: HeadWithKey): boolean {
  if (!h.checkpoint) return verifyHeadWith(h.publicKeyPem, h.head);
  try {
    verifyCheckpoint(h.checkpoint.note, { name: h.checkpoint.name, publicKey: rawPublicKey(createPublicKey(h.publicKeyPem)) });
    return true;
  } catch {
    return false;
  }
}

export interface OfflineReport {
  readonly ok: boolean;
  readonly events: number;
  readonly heads: Array<{ label: string; treeSize: number; rootHash: string; computedRoot: string | null; signature: boolean }>;
  readonly problems: OfflineProblem[];
}

/** Reads a head file: the answer of GET /v1/audit/tree-head (`{ head, publicKey: { pem } }`), or a head with `publicKey` (PEM) beside its members. */
export function parseHeadFile(text: string, label: string): HeadWithKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${label}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const o = doc as { head?: unknown; publicKey?: unknown };
  const head = (o && typeof o.head === 'object' && o.head !== null ? o.head : o) as Record<string, unknown>;
  const pk = o?.publicKey;
  const pem = typeof pk === 'string' ? pk : typeof pk === 'object' && pk !== null && typeof (pk as { pem?: unknown }).pem === 'string' ? (pk as { pem: string }).pem : null;
  if (head.format !== HEAD_FORMAT) throw new Error(`${label}: not a signed tree head (format ${JSON.stringify(head.format)}, expected ${HEAD_FORMAT}); save the answer of GET /v1/audit/tree-head`);
  if (!Number.isSafeInteger(head.treeSize) || typeof head.rootHash !== 'string' || typeof head.signature !== 'string' || typeof head.keyId !== 'string') {
    throw new Error(`${label}: a head needs treeSize, rootHash, keyId and signature`);
  }
  if (pem === null) throw new Error(`${label}: no public key (publicKey.pem): save the whole answer of GET /v1/audit/tree-head, which carries it`);
  return { head: head as unknown as SignedTreeHead, publicKeyPem: pem, label };
}

const EMBEDDED = /^[0-9]{20}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The leaf members of an export line, or the name of the first one missing. */
function eventOf(v: unknown): StoredEvent | string {
  if (!isObject(v)) return 'the line is not a JSON object';
  for (const [k, ok] of [
    ['position', typeof v.position === 'string'],
    ['id', typeof v.id === 'string'],
    ['stream', typeof v.stream === 'string'],
    ['revision', Number.isSafeInteger(v.revision)],
    ['type', typeof v.type === 'string'],
    ['recordedAt', typeof v.recordedAt === 'string'],
    ['data', 'data' in v],
    ['metadata', isObject(v.metadata)],
  ] as const) {
    if (!ok) return k;
  }
  return v as unknown as StoredEvent;
}

/** Checks an export (its lines, in order) against signed heads. `keyId`: the key the heads must be of. */
export async function verifyOffline(lines: AsyncIterable<string> | Iterable<string>, heads: readonly HeadWithKey[], options: { keyId?: string } = {}): Promise<OfflineReport> {
  const problems: OfflineProblem[] = [];
  const signature = heads.map((h) => {
    let keyId: string | null = null;
    try {
      keyId = keyIdOf(createPublicKey(h.publicKeyPem));
    } catch {
      keyId = null;
    }
    const ok = keyId !== null && keyId === h.head.keyId && signatureHolds(h);
    if (!ok) problems.push({ kind: 'bad-signature', message: `${h.label}: the signature does not verify with the public key it comes with (key id ${h.head.keyId})` });
    return ok;
  });
  const pinned = options.keyId ?? heads[0]?.head.keyId;
  for (const h of heads) {
    if (h.head.keyId !== pinned) {
      problems.push({ kind: 'another-key', message: `${h.label}: signed by another key (${h.head.keyId}) than ${options.keyId ? 'the one given (--key-id)' : `${heads[0]?.label} (${pinned})`}` });
    }
  }

  // The sizes at which a root is wanted, smallest first.
  const sizes = [...new Set(heads.map((h) => h.head.treeSize))].sort((a, b) => a - b);
  const roots = new Map<number, { root: string; position: string | null }>();
  if (sizes[0] === 0) roots.set(0, { root: toHex(new CompactTree().root()), position: null });
  const tree = new CompactTree();
  const revisions = new Map<string, number>();
  let previous: string | null = null;
  let n = 0;
  let line = 0;
  let structural = false;
  const wanted = new Set(sizes);
  const add = (leaf: Buffer, position: string | null): void => {
    tree.append(leaf);
    n += 1;
    if (wanted.has(n)) roots.set(n, { root: toHex(tree.root()), position });
  };
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const at = /"position":"([^"]*)"/.exec(text)?.[1];
      problems.push({ kind: 'unreadable-line', line, ...(at ? { position: at } : {}), message: `line ${line}${at ? ` (position ${at})` : ''}: not JSON (${e instanceof Error ? e.message : String(e)})` });
      structural = true;
      add(hashLeaf(Buffer.from(text, 'utf8')), at ?? null);
      continue;
    }
    const e = eventOf(value);
    if (typeof e === 'string') {
      const at = isObject(value) && typeof value.position === 'string' ? value.position : undefined;
      const why = e.startsWith('the line') ? e : `no "${e}"${e === 'id' ? ' (an export made before lines carried the event id: export again)' : ''}`;
      problems.push({ kind: 'incomplete-line', line, ...(at ? { position: at } : {}), message: `line ${line}${at ? ` (position ${at})` : ''}: ${why}` });
      structural = true;
      add(hashLeaf(Buffer.from(text, 'utf8')), at ?? null);
      continue;
    }
    const p = e.position;
    if (previous !== null) {
      if (EMBEDDED.test(p) && EMBEDDED.test(previous)) {
        const d = Number(p) - Number(previous);
        if (d <= 0) {
          problems.push({ kind: 'out-of-order', line, position: p, message: `line ${line}: position ${p} comes after ${previous}: events out of order` });
          structural = true;
        } else if (d > 1) {
          const gap = d === 2 ? `position ${String(Number(previous) + 1).padStart(20, '0')}` : `positions ${String(Number(previous) + 1).padStart(20, '0')} to ${String(Number(p) - 1).padStart(20, '0')}`;
          problems.push({ kind: 'missing-event', line, position: p, message: `line ${line}: no event at ${gap} (the export goes from ${previous} to ${p}): events removed` });
          structural = true;
        }
      } else if (p <= previous) {
        problems.push({ kind: 'out-of-order', line, position: p, message: `line ${line}: position ${p} does not come after ${previous}` });
        structural = true;
      }
    }
    const expected = revisions.get(e.stream) ?? 0;
    if (e.revision !== expected) {
      const kind = e.revision > expected ? 'missing-event' : 'out-of-order';
      problems.push({
        kind,
        line,
        position: p,
        message:
          kind === 'missing-event'
            ? `line ${line} (position ${p}): stream ${e.stream} goes from revision ${expected - 1} to ${e.revision}: events removed`
            : `line ${line} (position ${p}): stream ${e.stream} revision ${e.revision} after revision ${expected - 1}: events out of order`,
      });
      structural = true;
    }
    revisions.set(e.stream, Math.max(expected, e.revision + 1));
    previous = p;
    add(hashLeaf(leafBytes(e)), p);
  }

  // Roots, smallest head first: the first that disagrees, after the last that agrees, places the change.
  let agreed: { size: number; position: string | null } = { size: 0, position: null };
  const computed = new Map<HeadWithKey, string | null>();
  const sorted = [...heads].sort((a, b) => a.head.treeSize - b.head.treeSize);
  let firstBad: HeadWithKey | null = null;
  for (const h of sorted) {
    const r = roots.get(h.head.treeSize);
    computed.set(h, r?.root ?? null);
    if (!r) {
      problems.push({ kind: 'export-short', message: `${h.label} covers ${h.head.treeSize} events${h.head.lastPosition === null ? '' : ` (to position ${h.head.lastPosition})`}; the export holds ${n}${previous ? `, to position ${previous}` : ''}: events after it are missing` });
      continue;
    }
    // A checkpoint names no last position: its root alone says which events it covers.
    const samePosition = h.checkpoint !== undefined || r.position === h.head.lastPosition;
    if (r.root === h.head.rootHash && samePosition) {
      if (firstBad) {
        problems.push({
          kind: 'inconsistent',
          message: `${firstBad.label} (${firstBad.head.treeSize} events) is not a prefix of ${h.label} (${h.head.treeSize} events), which the export matches: the earlier head is of another history`,
        });
      }
      agreed = { size: h.head.treeSize, position: r.position };
      continue;
    }
    firstBad ??= h;
    const where = !samePosition ? `; the head's last event is at ${h.head.lastPosition}, the export's event #${h.head.treeSize} at ${r.position}` : '';
    problems.push({
      kind: 'root-mismatch',
      between: [agreed.position, r.position],
      message: `${h.label}: the first ${h.head.treeSize} events give root ${r.root}, the head says ${h.head.rootHash}${where}; ${agreed.size > 0 ? `the first ${agreed.size} agree (to position ${agreed.position}), so the first changed event is after ${agreed.position} and at or before ${r.position}` : `the first changed event is at or before ${r.position}`}`,
    });
  }
  if (structural) problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  return {
    ok: problems.length === 0,
    events: n,
    heads: heads.map((h, i) => ({ label: h.label, treeSize: h.head.treeSize, rootHash: h.head.rootHash, computedRoot: computed.get(h) ?? null, signature: signature[i] as boolean })),
    problems,
  };
}

/** The lines of a file, read a line at a time. */
export function fileLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
}
