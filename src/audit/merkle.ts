/**
 * The Merkle tree of the audit log, as RFC 9162 (Certificate Transparency v2) §2.1 defines it,
 * with SHA-256: leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right),
 * the hash of an empty tree = SHA-256(""), and a list of n > 1 leaves split at the largest
 * power of two smaller than n. Pure functions over hashes: what the leaves are is leaf.ts,
 * where the nodes live is the caller's (a NodeSource).
 *
 * Node addressing: node(level, index) is the root of the perfect subtree over the leaves
 * [index * 2^level, (index + 1) * 2^level); level 0 is the leaf hashes themselves. Only
 * perfect subtrees are ever stored: every other subtree hash on a proof path is folded from
 * at most log2(n) of them, so proofs cost O(log² n) lookups and no rehashing of the log.
 */
import { createHash, hash } from 'node:crypto';

export const HASH_SIZE = 32;

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function hashLeaf(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

/** One call into the hash (no Hash object, which costs more than hashing 65 bytes). */
const children = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  children.set(left, 1);
  children.set(right, 1 + HASH_SIZE);
  return hash('sha256', children, 'buffer') as unknown as Buffer;
}

/** The largest power of two strictly smaller than n (n >= 2): the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0 && Number.isSafeInteger(n);
/** Works past 2^31 where bit operators do not. */
const log2 = (n: number): number => Math.round(Math.log2(n));

/** Where perfect-subtree hashes come from: memory, SQLite, … */
export interface NodeSource {
  node(level: number, index: number): Uint8Array;
}

/** MTH(D[start:end]) from the perfect subtrees that make it up. */
export function subtreeHash(src: NodeSource, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && start % n === 0) return src.node(log2(n), start / n);
  const k = splitPoint(n);
  return hashChildren(subtreeHash(src, start, start + k), subtreeHash(src, start + k, end));
}

/** The root of the first `size` leaves. */
export function rootAt(src: NodeSource, size: number): Uint8Array {
  return subtreeHash(src, 0, size);
}

/**
 * The audit path PATH(m, D[n]) of leaf `index` in the tree of the first `size` leaves
 * (RFC 9162 §2.1.3.1), nearest sibling first.
 */
export function inclusionProof(src: NodeSource, index: number, size: number): Uint8Array[] {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  }
  const path: Uint8Array[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(subtreeHash(src, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(subtreeHash(src, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/**
 * The consistency proof PROOF(m, D[n]) between the trees of the first `from` and `to` leaves
 * (RFC 9162 §2.1.4.1). Empty when from is 0 or equals to.
 */
export function consistencyProof(src: NodeSource, from: number, to: number): Uint8Array[] {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to)) {
    throw new RangeError(`no consistency proof from ${from} to ${to}`);
  }
  if (from === 0 || from === to) return [];
  const proof: Uint8Array[] = [];
  const sub = (m: number, start: number, end: number, whole: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!whole) proof.push(subtreeHash(src, start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, whole);
      proof.push(subtreeHash(src, start + k, end));
    } else {
      sub(m - k, start + k, end, false);
      proof.push(subtreeHash(src, start, start + k));
    }
  };
  sub(from, 0, to, true);
  return proof;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
const wellFormed = (hashes: readonly Uint8Array[]): boolean => hashes.every((h) => h.length === HASH_SIZE);

/**
 * The root an audit path leads to (RFC 9162 §2.1.3.2, steps 1–4), or null when the path
 * cannot belong to that index and size (too long, too short, malformed).
 */
export function rootFromInclusionProof(index: number, size: number, leafHash: Uint8Array, path: readonly Uint8Array[]): Uint8Array | null {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return null;
  if (leafHash.length !== HASH_SIZE || !wellFormed(path)) return null;
  // BigInt: the shifts must stay exact past 2^31.
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r: Uint8Array = leafHash;
  for (const p of path) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** RFC 9162 §2.1.3.2: true when `path` proves leaf `index` is in the tree of `size` with `root`. */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, path: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusionProof(index, size, leafHash, path);
  return r !== null && root.length === HASH_SIZE && equal(r, root);
}

/**
 * RFC 9162 §2.1.4.2: true when `proof` shows the tree of `from` leaves with `fromRoot` is a
 * prefix of the tree of `to` leaves with `toRoot`. The trivial cases the RFC leaves to the
 * caller: from = 0 is consistent with anything (with an empty proof); from = to needs an
 * empty proof and equal roots; from > to never holds.
 */
export function verifyConsistency(from: number, to: number, proof: readonly Uint8Array[], fromRoot: Uint8Array, toRoot: Uint8Array): boolean {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to)) return false;
  if (!wellFormed(proof)) return false;
  if (from === 0) return proof.length === 0;
  if (fromRoot.length !== HASH_SIZE || toRoot.length !== HASH_SIZE) return false;
  if (from === to) return proof.length === 0 && equal(fromRoot, toRoot);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = BigInt(from - 1);
  let sn = BigInt(to - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(fr, fromRoot) && equal(sr, toRoot);
}

/** A perfect subtree completed by an append: its address and hash, for the caller to store. */
export interface CompletedNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Buffer;
}

/**
 * The incremental tree (a compact range over [0, size)): the roots of the perfect subtrees
 * that the binary decomposition of `size` names, largest first. Appending a leaf is O(log n)
 * amortised O(1) hashes; the root is a fold of at most log2(n) hashes.
 */
export class CompactTree {
  private readonly stack: Buffer[] = [];
  private count = 0;

  /**
   * Restores the tree of `size` leaves from the roots of its perfect subtrees, largest first
   * (one per set bit of size, high to low), e.g. read back from storage.
   */
  static restore(size: number, roots: readonly Uint8Array[]): CompactTree {
    const bits = size.toString(2).split('').filter((b) => b === '1').length;
    if (roots.length !== bits) throw new RangeError(`a tree of ${size} has ${bits} subtree roots, got ${roots.length}`);
    const t = new CompactTree();
    t.count = size;
    for (const r of roots) t.stack.push(Buffer.from(r));
    return t;
  }

  /** The perfect subtrees a tree of `size` leaves decomposes into, largest first. */
  static decomposition(size: number): Array<{ level: number; index: number }> {
    const out: Array<{ level: number; index: number }> = [];
    let start = 0;
    for (let level = Math.floor(Math.log2(Math.max(1, size))) + 1; level >= 0; level--) {
      const width = 2 ** level;
      if (start + width <= size) {
        out.push({ level, index: start / width });
        start += width;
      }
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  /** Appends a leaf hash; returns the perfect subtrees it completed (level 0, the leaf, first). */
  append(leafHash: Buffer): CompletedNode[] {
    const index = this.count;
    const done: CompletedNode[] = [{ level: 0, index, hash: leafHash }];
    let h = leafHash;
    let level = 0;
    // A trailing 1 bit of the old size is a subtree of that level waiting for its right sibling.
    while (Math.floor(index / 2 ** level) % 2 === 1) {
      const left = this.stack.pop() as Buffer;
      h = hashChildren(left, h);
      level++;
      done.push({ level, index: Math.floor(index / 2 ** level), hash: h });
    }
    this.stack.push(h);
    this.count++;
    return done;
  }

  /** The subtree roots, largest first (what `restore` takes). */
  roots(): Buffer[] {
    return [...this.stack];
  }

  root(): Buffer {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1] as Buffer;
    for (let i = this.stack.length - 2; i >= 0; i--) r = hashChildren(this.stack[i] as Buffer, r);
    return r;
  }
}

export const toHex = (h: Uint8Array): string => Buffer.from(h).toString('hex');
export function fromHex(s: string): Buffer {
  if (!/^(?:[0-9a-f]{2})*$/i.test(s)) throw new RangeError('not a hex string');
  return Buffer.from(s, 'hex');
}
