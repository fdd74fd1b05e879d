/**
 * audit.db: the audit tree's own SQLite file (WAL), apart from the event store so that it
 * works the same over either adapter. It holds every leaf hash with the position it was
 * computed from, every completed perfect subtree of level >= STORED_LEVEL (the levels
 * between are folded from the at most 2^(STORED_LEVEL-1) leaves under them when read), so
 * proofs are O(log² n) lookups without reading the log, and every signed head. Leaves and
 * nodes of a batch are written in one transaction: the tree on disk is always the tree of
 * some prefix of the log.
 *
 * Durability: a batch of leaves commits without an fsync (synchronous=NORMAL: a power cut
 * may take the last batches back, never half of one), a head commits with one
 * (synchronous=FULL), and that fsync of the WAL also makes every batch before it durable: a
 * signed head never outlives a power cut while the leaves it covers do not. Leaves lost are
 * taken in again from the log, which is the source of truth (and the head kept beside the
 * key, kept-head.ts, is compared with the tree rebuilt up to it).
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CompactTree, hashChildren, type CompletedNode, type NodeSource } from './merkle.js';
import type { SignedTreeHead } from './signing.js';
import { HEAD_FORMAT } from './signing.js';
import { LEAF_FORMAT } from './leaf.js';
import { migrateVersioned } from '../store/sqlite-schema.js';
import { ensurePrivateFile } from '../store/private-files.js';

/**
 * 2: the log's identity (meta) and parked events. 3: no index on leaves' position (a
 * position is found by a binary search over idx: positions grow with it), and no nodes below
 * STORED_LEVEL. Files of 1 and 2 are rewritten at the first open by a follower (open()).
 */
const SCHEMA_VERSION = 3;

/**
 * The lowest level of interior node stored: one row for every 16 leaves (with the levels above,
 * 1/8 of a row a leaf) instead of one a leaf. A node below it is folded from its leaves (at
 * most 8 read in one range, 7 hashes) when a proof or the tree's restore needs it.
 */
export const STORED_LEVEL = 4;

const POSITION_20 = /^[0-9]{20}$/;

const DDL = `
CREATE TABLE IF NOT EXISTS leaves (
  idx      INTEGER PRIMARY KEY,          -- 0-based leaf index = order in the log
  position TEXT    NOT NULL,             -- the store position the leaf was computed from (grows with idx)
  hash     BLOB    NOT NULL              -- SHA-256(0x00 || leaf bytes)
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,                -- >= STORED_LEVEL: root of leaves [idx * 2^level, (idx + 1) * 2^level)
  idx   INTEGER NOT NULL,
  hash  BLOB    NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heads (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  tree_size     INTEGER NOT NULL,
  root_hash     TEXT    NOT NULL,
  last_position TEXT,
  timestamp     TEXT    NOT NULL,
  key_id        TEXT    NOT NULL,
  signature     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS heads_by_size ON heads (tree_size, seq);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parked (
  position TEXT PRIMARY KEY,             -- the event the tree stopped before
  event_id TEXT,
  type     TEXT,
  reason   TEXT NOT NULL,                -- unsealed | altered | kept-head-mismatch
  detail   TEXT NOT NULL,
  seen_at  TEXT NOT NULL
);
`;

/**
 * From schema 1 or 2: leaves without the unique index on position (a new table, filled in
 * idx order, renamed over the old), nodes below STORED_LEVEL dropped. Run inside the
 * migration's transaction: a file is either migrated whole or left as it was.
 */
const MIGRATE_TO_3 = `
CREATE TABLE leaves_v3 (
  idx      INTEGER PRIMARY KEY,
  position TEXT    NOT NULL,
  hash     BLOB    NOT NULL
);
INSERT INTO leaves_v3 (idx, position, hash) SELECT idx, position, hash FROM leaves ORDER BY idx;
DROP TABLE leaves;
ALTER TABLE leaves_v3 RENAME TO leaves;
DELETE FROM nodes WHERE level < ${STORED_LEVEL};
`;

/** An event the follower would not take into the tree (feeder.ts): the tree stops before it. */
export interface ParkedAuditEvent {
  readonly position: string;
  readonly eventId: string | null;
  readonly type: string | null;
  readonly reason: 'unsealed' | 'altered' | 'kept-head-mismatch';
  readonly detail: string;
  readonly seenAt: string;
}

/** audit.db grew under us: another process follows the same store into it. */
export class ConcurrentFeedError extends Error {
  override readonly name = 'ConcurrentFeedError';
}

export interface LeafRow {
  readonly index: number;
  readonly position: string;
  readonly hash: Buffer;
}

type HeadRow = [treeSize: number, rootHash: string, lastPosition: string | null, timestamp: string, keyId: string, signature: string];

const toHead = (r: HeadRow): SignedTreeHead => ({
  format: HEAD_FORMAT,
  leafFormat: LEAF_FORMAT,
  treeSize: r[0],
  rootHash: r[1],
  lastPosition: r[2],
  timestamp: r[3],
  keyId: r[4],
  signature: r[5],
});

export class AuditStorage implements NodeSource {
  private readonly leafStmt: Statement<[number], [Buffer]>;
  private readonly nodeStmt: Statement<[number, number], [Buffer]>;
  private readonly sizeStmt: Statement<[], [number | null, string | null]>;
  private readonly insertLeaf: Statement<[number, string, Buffer]>;
  private readonly insertNode: Statement<[number, number, Buffer]>;
  private readonly insertHead: Statement<[number, string, string | null, string, string, string]>;
  private readonly positionOf: Statement<[number], [string]>;
  private readonly leafRange: Statement<[number, number], [number, string, Buffer]>;
  private readonly leafHashes: Statement<[number, number], [Buffer]>;
  private readonly latestHeadStmt: Statement<[], HeadRow>;
  private readonly headAtStmt: Statement<[number], HeadRow>;
  private readonly headsStmt: Statement<[number, number, number], HeadRow>;
  private readonly allHeadsStmt: Statement<[], HeadRow>;

  constructor(private readonly db: Db) {
    this.leafStmt = db.prepare<[number], [Buffer]>('SELECT hash FROM leaves WHERE idx = ?').raw();
    this.nodeStmt = db.prepare<[number, number], [Buffer]>('SELECT hash FROM nodes WHERE level = ? AND idx = ?').raw();
    this.sizeStmt = db.prepare<[], [number | null, string | null]>('SELECT idx, position FROM leaves ORDER BY idx DESC LIMIT 1').raw();
    this.insertLeaf = db.prepare('INSERT INTO leaves (idx, position, hash) VALUES (?, ?, ?)');
    this.insertNode = db.prepare('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)');
    const cols = 'tree_size, root_hash, last_position, timestamp, key_id, signature';
    this.insertHead = db.prepare(`INSERT INTO heads (${cols}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.latestHeadStmt = db.prepare<[], HeadRow>(`SELECT ${cols} FROM heads ORDER BY seq DESC LIMIT 1`).raw();
    this.headAtStmt = db.prepare<[number], HeadRow>(`SELECT ${cols} FROM heads WHERE tree_size = ? ORDER BY seq DESC LIMIT 1`).raw();
    this.headsStmt = db.prepare<[number, number, number], HeadRow>(`SELECT ${cols} FROM heads WHERE tree_size BETWEEN ? AND ? ORDER BY seq LIMIT +?`).raw();
    this.allHeadsStmt = db.prepare<[], HeadRow>(`SELECT ${cols} FROM heads ORDER BY tree_size, seq`).raw();
    this.positionOf = db.prepare<[number], [string]>('SELECT position FROM leaves WHERE idx = ?').raw();
    this.leafRange = db.prepare<[number, number], [number, string, Buffer]>('SELECT idx, position, hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT +?').raw();
    this.leafHashes = db.prepare<[number, number], [Buffer]>('SELECT hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT +?').raw();
  }

  /** Opens (creating 0600 if needed) audit.db; `readOnly`: an existing file, nothing created or migrated. */
  static open(path: string, options: { readOnly?: boolean } = {}): AuditStorage {
    if (!options.readOnly) ensurePrivateFile(path, { sqlite: true });
    const db = new Database(path, { timeout: 5000, fileMustExist: options.readOnly === true });
    try {
      if (options.readOnly) {
        db.pragma('query_only = ON');
        return new AuditStorage(db);
      }
      db.pragma('busy_timeout = 5000');
      const mode = String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase();
      if (mode !== 'wal') throw new Error(`could not switch ${path} to WAL (got ${mode})`);
      // Leaves commit without an fsync, heads with one (addHead): see the file header.
      db.pragma('synchronous = NORMAL');
      // Rewriting a file of schema 1 or 2 holds the write lock for seconds (1,000,000 leaves:
      // ~1 s of CPU, ~5 s at a load of 15): another connection opening it meanwhile (the
      // server's reader beside the follower thread) waits for it rather than failing.
      db.pragma('busy_timeout = 120000');
      migrateVersioned(db, DDL, SCHEMA_VERSION, path, (from) => {
        if (from >= 1 && from < 3) db.exec(MIGRATE_TO_3);
      });
      db.pragma('busy_timeout = 5000');
    } catch (e) {
      db.close();
      throw e;
    }
    return new AuditStorage(db);
  }

  node(level: number, index: number): Buffer {
    if (level > 0 && level < STORED_LEVEL) return this.folded(level, index);
    const row = level === 0 ? this.leafStmt.get(index) : this.nodeStmt.get(level, index);
    if (!row) throw new Error(`audit tree node ${level}/${index} is missing from audit.db`);
    return row[0];
  }

  /** A node below STORED_LEVEL: the root of its 2^level leaves, read in one range. */
  private folded(level: number, index: number): Buffer {
    const width = 2 ** level;
    const rows = this.leafHashes.all(index * width, width);
    if (rows.length !== width) throw new Error(`audit tree node ${level}/${index} is missing from audit.db (${rows.length} of its ${width} leaves)`);
    let hashes = rows.map((r) => r[0]);
    while (hashes.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(hashChildren(hashes[i] as Buffer, hashes[i + 1] as Buffer));
      hashes = up;
    }
    return hashes[0] as Buffer;
  }

  /**
   * The same nodes through a cache of the upper levels, for serving proofs: every proof
   * passes through them, and a perfect subtree never changes once written. verify reads
   * around it, so tampering with audit.db is seen however long the process has run.
   */
  cached(minLevel = 6, maxEntries = 200_000): NodeSource {
    const cache = new Map<number, Map<number, Buffer>>();
    let entries = 0;
    return {
      node: (level, index) => {
        if (level < minLevel) return this.node(level, index);
        let byIndex = cache.get(level);
        const hit = byIndex?.get(index);
        if (hit) return hit;
        const h = this.node(level, index);
        if (entries < maxEntries) {
          if (!byIndex) cache.set(level, (byIndex = new Map()));
          byIndex.set(index, h);
          entries++;
        }
        return h;
      },
    };
  }

  /** Leaves stored and the position of the last one. */
  size(): { treeSize: number; lastPosition: string | null } {
    const r = this.sizeStmt.get();
    return r && r[0] !== null ? { treeSize: r[0] + 1, lastPosition: r[1] } : { treeSize: 0, lastPosition: null };
  }

  /** The incremental tree as stored, to go on appending. */
  loadTree(): CompactTree {
    const { treeSize } = this.size();
    return CompactTree.restore(treeSize, CompactTree.decomposition(treeSize).map(({ level, index }) => this.node(level, index)));
  }

  /**
   * Writes a batch of leaves and the subtrees they completed, atomically. `expectedSize` is
   * the size the batch was built on: a mismatch means another process fed this file.
   */
  appendBatch(expectedSize: number, leaves: ReadonlyArray<{ position: string; nodes: readonly CompletedNode[] }>): void {
    this.db.transaction(() => {
      const { treeSize } = this.size();
      if (treeSize !== expectedSize) throw new ConcurrentFeedError(`audit.db holds ${treeSize} leaves, expected ${expectedSize}: is another process feeding it?`);
      for (const leaf of leaves) {
        for (const n of leaf.nodes) {
          if (n.level === 0) this.insertLeaf.run(n.index, leaf.position, n.hash);
          else if (n.level >= STORED_LEVEL) this.insertNode.run(n.level, n.index, n.hash);
        }
      }
    }).immediate();
  }

  /** Commits with an fsync of the WAL, which makes the leaves' batches before it durable too (the file header). */
  addHead(h: SignedTreeHead): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.insertHead.run(h.treeSize, h.rootHash, h.lastPosition, h.timestamp, h.keyId, h.signature);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  latestHead(): SignedTreeHead | null {
    const r = this.latestHeadStmt.get();
    return r ? toHead(r) : null;
  }

  /** The latest head signed at exactly this size. */
  headAt(treeSize: number): SignedTreeHead | null {
    const r = this.headAtStmt.get(treeSize);
    return r ? toHead(r) : null;
  }

  /** Heads with from <= treeSize <= to, in signing order, at most `limit`. */
  heads(from: number, to: number, limit: number): SignedTreeHead[] {
    return this.headsStmt.all(from, to, limit).map(toHead);
  }

  /** Every head, by tree size then signing order (for verify). */
  allHeads(): SignedTreeHead[] {
    return this.allHeadsStmt.all().map(toHead);
  }

  /**
   * The leaf computed from `position`: a binary search over idx (positions grow with it, as
   * the follower takes them in log order), ~log2(n) lookups of the rowid, no index to keep.
   */
  indexOf(position: string): number | null {
    let lo = 0;
    let hi = this.size().treeSize - 1;
    // The embedded store's positions (20 digits, src/store/positions.ts) are 1, 2, 3…: the leaf
    // is at position - 1 unless the log has gaps, and never after leaf `position` (distinct
    // integers from 0 up: the i-th is at least i).
    const n = POSITION_20.test(position) ? Number(position) : Number.NaN;
    if (Number.isSafeInteger(n)) {
      if (n >= 1 && n - 1 <= hi && this.positionAt(n - 1) === position) return n - 1;
      hi = Math.min(hi, n);
    }
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const at = this.positionAt(mid);
      if (at === null) return null;
      if (at === position) return mid;
      if (at < position) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  positionAt(index: number): string | null {
    return this.positionOf.get(index)?.[0] ?? null;
  }

  leavesFrom(index: number, limit: number): LeafRow[] {
    return this.leafRange.all(index, limit).map(([i, position, hash]) => ({ index: i, position, hash }));
  }

  /** The identity of the log this tree covers (src/store/identity.ts); null until known. */
  logIdentity(): string | null {
    if (!this.hasTable('meta')) return null;
    return (this.db.prepare("SELECT v FROM meta WHERE k = 'log'").pluck().get() as string | undefined) ?? null;
  }

  setLogIdentity(identity: string): void {
    this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('log', ?)").run(identity);
  }

  parked(limit = 100): ParkedAuditEvent[] {
    if (!this.hasTable('parked')) return [];
    return this.db.prepare('SELECT position, event_id AS eventId, type, reason, detail, seen_at AS seenAt FROM parked ORDER BY position LIMIT +?').all(limit) as ParkedAuditEvent[];
  }

  park(p: ParkedAuditEvent): void {
    this.db.prepare('INSERT OR REPLACE INTO parked (position, event_id, type, reason, detail, seen_at) VALUES (?, ?, ?, ?, ?, ?)').run(p.position, p.eventId, p.type, p.reason, p.detail, p.seenAt);
  }

  /** Forgets what was parked: the follower finds it again if it is still there. */
  clearParked(): void {
    this.db.exec('DELETE FROM parked');
  }

  /** The connection (tests: PRAGMA max_page_count, to make the file full). */
  connection(): Db {
    return this.db;
  }

  close(): void {
    this.db.close();
  }

  /** A file of schema 1 opened read-only has neither meta nor parked. */
  private hasTable(name: string): boolean {
    return (this.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) as number) > 0;
  }
}
