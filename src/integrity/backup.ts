/**
 * Backups a running service can be left alone during: `annals backup DIR` copies the audit
 * tree, then the log, each with SQLite's online backup API (one consistent snapshot per file
 * while writers go on), so the tree copied always covers a prefix of the log copied after it.
 * The copy is verified before it is called a backup (every leaf, every seal, every signed
 * head: audit/verify.ts), and described by a manifest with each file's SHA-256.
 *
 * Not copied: the read models (rebuilt from the log at restore) and, when it is kept outside
 * the data dir, the audit key (keep it apart: a backup is only as trustworthy as the key that
 * checks it). A key inside the data dir is copied, since the copy could not be checked without.
 * On EventStoreDB the log is the server's to back up; the tree and the token are copied, and
 * the tree verified against the server's log.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditKeys } from '../audit/keys.js';
import type { SignedTreeHead } from '../audit/signing.js';
import { AuditStorage } from '../audit/storage.js';
import { verifyLog, type VerifyProgress, type VerifyReport } from '../audit/verify.js';
import { TOKEN_FILE } from '../auth/tokens.js';
import { logIdentity } from '../store/identity.js';
import type { EventStore } from '../store/port.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { openSqliteStore, type SqliteEventStore } from '../store/sqlite.js';

export const MANIFEST = 'manifest.json';
export const BACKUP_FORMAT = 'annals-backup-v1';

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly createdAt: string;
  /** The log's identity (src/store/identity.ts). */
  readonly log: string | null;
  /** `sqlite`: events.db is in the backup; otherwise the log is the EventStoreDB server's. */
  readonly eventStore: 'sqlite' | 'esdb';
  /** The log's last position in the copy (sqlite). */
  readonly logHead: string | null;
  readonly tree: { readonly treeSize: number; readonly lastPosition: string | null; readonly latestHead: SignedTreeHead | null };
  readonly keyId: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number; readonly sha256: string }>;
  /** What verify said of the copy. */
  readonly verified: { readonly eventsRead: number; readonly unaudited: number; readonly headsChecked: number };
}

export interface BackupOptions {
  readonly dataDir: string;
  /** `sqlite`, or the EventStoreDB store itself (its log is not copied). */
  readonly store: 'sqlite' | EventStore;
  readonly keys: AuditKeys;
  readonly dest: string;
  readonly log: Logger;
  readonly onProgress?: (stage: string, p?: VerifyProgress) => void;
}

/** A copy that does not verify, a destination in use, or a data dir without a tree. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export async function takeBackup(o: BackupOptions): Promise<BackupManifest> {
  if (existsSync(o.dest) && readdirSync(o.dest).length > 0) throw new BackupError(`${o.dest} is not empty: back up into a new directory`);
  const auditPath = join(o.dataDir, 'audit.db');
  if (!existsSync(auditPath)) throw new BackupError(`there is no audit tree in ${o.dataDir} (audit.db): start the service on it once, or check --data-dir`);
  ensurePrivateDir(o.dest);
  const names: string[] = [];

  // The tree first: the log only grows, so the log copied next holds everything it covers.
  o.onProgress?.('copying audit.db');
  const liveTree = AuditStorage.open(auditPath, { readOnly: true });
  try {
    await liveTree.connection().backup(join(o.dest, 'audit.db'), { progress: () => 0x7fffffff });
  } finally {
    liveTree.close();
  }
  names.push('audit.db');
  if (o.store === 'sqlite') {
    o.onProgress?.('copying events.db');
    const live = openSqliteStore(join(o.dataDir, 'events.db'), { readOnly: true, writer: 'inline' });
    try {
      await live.backup(join(o.dest, 'events.db'));
    } finally {
      await live.close();
    }
    names.push('events.db');
  }
  for (const name of [TOKEN_FILE, ...(o.keys.paths.outsideDataDir ? [] : ['audit-key.pem'])]) {
    const from = name === 'audit-key.pem' ? o.keys.paths.keyFile : join(o.dataDir, name);
    if (existsSync(from)) {
      copyFileSync(from, join(o.dest, name));
      names.push(name);
    }
  }

  o.onProgress?.('verifying the copy');
  const { report, logHead, log, tree } = await verifyCopy(o.dest, o.store, o.keys, o.log, (p) => o.onProgress?.('verifying the copy', p));
  if (!report.ok) throw new BackupError(`the copy in ${o.dest} does not verify: ${describeFailure(report)}. The data dir itself is at fault: run POST /v1/audit/verify`);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: new Date().toISOString(),
    log,
    eventStore: o.store === 'sqlite' ? 'sqlite' : 'esdb',
    logHead,
    tree,
    keyId: o.keys.signing.keyId,
    files: names.map((name) => fileEntry(o.dest, name)),
    verified: { eventsRead: report.eventsRead, unaudited: report.unaudited, headsChecked: report.headsChecked },
  };
  writeFileSync(join(o.dest, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/**
 * Verifies the log and tree in `dir` (the live EventStoreDB log when `store` is one): every
 * leaf recomputed, every seal checked, every head's signature and root.
 */
export async function verifyCopy(
  dir: string,
  store: 'sqlite' | EventStore,
  keys: AuditKeys,
  _log: Logger,
  onProgress?: (p: VerifyProgress) => void,
): Promise<{ report: VerifyReport; logHead: string | null; log: string | null; tree: BackupManifest['tree'] }> {
  const storage = AuditStorage.open(join(dir, 'audit.db'), { readOnly: true });
  let sqlite: SqliteEventStore | null = null;
  try {
    sqlite = store === 'sqlite' ? openSqliteStore(join(dir, 'events.db'), { readOnly: true, writer: 'inline', sealKey: keys.sealKey }) : null;
    const source = sqlite ? sqlite.checked() : (store as EventStore);
    const report = await verifyLog({ store: source, storage, key: keys.signing, clock: () => new Date(), ...(onProgress ? { onProgress } : {}) });
    const { treeSize, lastPosition } = storage.size();
    return { report, logHead: await source.head(), log: await logIdentity(sqlite ?? source), tree: { treeSize, lastPosition, latestHead: storage.latestHead() } };
  } finally {
    storage.close();
    await sqlite?.close();
  }
}

export function describeFailure(r: VerifyReport): string {
  if (r.firstDivergence) return `${r.firstDivergence.reason} at position ${r.firstDivergence.position} (${r.firstDivergence.detail})`;
  if (r.firstBadHead) return `signed head of ${r.firstBadHead.head.treeSize} leaves: ${r.firstBadHead.reason} (${r.firstBadHead.detail})`;
  if (r.firstBadNode) return r.firstBadNode.detail;
  return 'unknown';
}

export function fileEntry(dir: string, name: string): BackupManifest['files'][number] {
  const path = join(dir, name);
  return { name, bytes: statSync(path).size, sha256: sha256File(path) };
}

/** Streamed a MiB at a time: a log may be larger than memory. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
