/**
 * audit.db: the audit tree's own SQLite file (WAL, synchronous=FULL), apart from the event
 * store so that it works the same over either adapter. It holds every leaf hash with the
 * position it was computed from, every completed perfect subtree (level >= 1; level 0 is the
 * leaves table), so proofs are O(log² n) lookups without reading the log, and every signed
 * head. Leaves and nodes of a batch are written in one transaction: the tree on disk is
 * always the tree of some prefix of the log.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { CompactTree, type CompletedNode, type NodeSource } from './merkle.js';
import type { SignedTreeHead } from './signing.js';
import { HEAD_FORMAT } from './signing.js';
import { LEAF_FORMAT } from './leaf.js';
import { migrateVersioned } from '../store/sqlite-schema.js';
import { ensurePrivateFile } from '../store/private-files.js';

/** 2: the log's identity (meta) and parked events. */
const SCHEMA_VERSION = 2;

const DDL = `
CREATE TABLE IF NOT EXISTS leaves (
  idx      INTEGER PRIMARY KEY,          -- 0-based leaf index = order in the log
  position TEXT    NOT NULL UNIQUE,      -- the store position the leaf was computed from
  hash     BLOB    NOT NULL              -- SHA-256(0x00 || leaf bytes)
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,                -- >= 1: root of leaves [idx * 2^level, (idx + 1) * 2^level)
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
  private readonly byPosition: Statement<[string], [number]>;
  private readonly positionOf: Statement<[number], [string]>;
  private readonly leafRange: Statement<[number, number], [number, string, Buffer]>;
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
    this.byPosition = db.prepare<[string], [number]>('SELECT idx FROM leaves WHERE position = ?').raw();
    this.positionOf = db.prepare<[number], [string]>('SELECT position FROM leaves WHERE idx = ?').raw();
    this.leafRange = db.prepare<[number, number], [number, string, Buffer]>('SELECT idx, position, hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT +?').raw();
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
      // A signed head must not outlive a power cut while the leaves it covers do not.
      db.pragma('synchronous = FULL');
      migrateVersioned(db, DDL, SCHEMA_VERSION, path);
    } catch (e) {
      db.close();
      throw e;
    }
    return new AuditStorage(db);
  }

  node(level: number, index: number): Buffer {
    const row = level === 0 ? this.leafStmt.get(index) : this.nodeStmt.get(level, index);
    if (!row) throw new Error(`audit tree node ${level}/${index} is missing from audit.db`);
    return row[0];
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
          else this.insertNode.run(n.level, n.index, n.hash);
        }
      }
    }).immediate();
  }

  addHead(h: SignedTreeHead): void {
    this.insertHead.run(h.treeSize, h.rootHash, h.lastPosition, h.timestamp, h.keyId, h.signature);
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

  indexOf(position: string): number | null {
    return this.byPosition.get(position)?.[0] ?? null;
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
