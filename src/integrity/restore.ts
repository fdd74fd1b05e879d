/**
 * `annals restore DIR`: puts a backup (backup.ts) back into a data dir, the service stopped
 * (the caller holds the data dir's lock). Nothing is replaced before the backup is proven:
 * its files match the manifest, it was signed by the key this configuration names, every
 * leaf, seal and head verifies (in a staging directory beside the data dir), and it agrees
 * with the last head kept beside the key. A backup older than that head would lose the
 * events recorded since: refused unless the operator says so (`acceptLoss`). Then the data
 * dir's files move aside into `before-restore-<time>/` (never deleted), the backup's move in,
 * the read models are rebuilt from the restored log, and the head kept beside the key
 * becomes the backup's latest.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { rebuildReadModels, type RebuildResult } from '../../projections/index.js';
import { KEPT_HEAD_FORMAT, readKeptHead, writeKeptHead } from '../audit/kept-head.js';
import { keyPaths, loadKeys, type AuditKeys } from '../audit/keys.js';
import { rootAt, toHex } from '../audit/merkle.js';
import { AuditStorage } from '../audit/storage.js';
import { TOKEN_FILE } from '../auth/tokens.js';
import { ensurePrivateDir, SQLITE_COMPANIONS } from '../store/private-files.js';
import { openSqliteStore } from '../store/sqlite.js';
import { BACKUP_FORMAT, MANIFEST, describeFailure, sha256File, verifyCopy, type BackupManifest } from './backup.js';

export class RestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

export interface RestoreOptions {
  readonly from: string;
  readonly dataDir: string;
  /** ANNALS_AUDIT_KEY_FILE, if set. */
  readonly keyFile: string | undefined;
  /** Restore a backup older than the head kept beside the key, losing the events recorded after it. */
  readonly acceptLoss: boolean;
  readonly log: Logger;
  readonly onProgress?: (stage: string) => void;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  readonly events: number;
  readonly treeSize: number;
  /** Where the data dir's previous files went; null when there were none. */
  readonly setAside: string | null;
  /** Events the head kept beside the key covered beyond the backup (lost, with acceptLoss). */
  readonly lost: number;
  readonly rebuilt: RebuildResult;
}

const DATA_FILES = ['events.db', 'audit.db', 'readmodels.db'] as const;

export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const manifest = readManifest(o.from);
  if (manifest.eventStore !== 'sqlite') throw new RestoreError(`${o.from} is a backup of a service on EventStoreDB: its log is the server's to restore, with EventStoreDB's own tools; only the embedded store's backups are restored here`);
  for (const f of manifest.files) {
    const path = join(o.from, f.name);
    if (!existsSync(path) || sha256File(path) !== f.sha256) throw new RestoreError(`${path} is missing or differs from the manifest: the backup is damaged`);
  }

  // The key: the one this configuration names; from the backup only when that file does not exist yet.
  const paths = keyPaths(o.dataDir, o.keyFile);
  ensurePrivateDir(o.dataDir);
  if (!existsSync(paths.keyFile) && manifest.files.some((f) => f.name === 'audit-key.pem')) {
    mkdirSync(join(paths.keyFile, '..'), { recursive: true, mode: 0o700 });
    copyFileSync(join(o.from, 'audit-key.pem'), paths.keyFile);
  }
  let keys: AuditKeys;
  try {
    keys = loadKeys(paths, o.log, { create: false });
  } catch (e) {
    throw new RestoreError(`cannot read the audit key ${paths.keyFile} (${(e as Error).message}): restore needs the key the backup was signed with (key ${manifest.keyId}); set ANNALS_AUDIT_KEY_FILE to it`);
  }
  if (keys.signing.keyId !== manifest.keyId) {
    throw new RestoreError(`the backup was signed with key ${manifest.keyId}, and ${paths.keyFile} is key ${keys.signing.keyId}: set ANNALS_AUDIT_KEY_FILE to the key the backup was signed with`);
  }

  // Staged beside the data dir (one file system, so moving in is a rename), then verified there.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const staging = join(o.dataDir, `.restore-${stamp}`);
  ensurePrivateDir(staging);
  try {
    for (const name of ['events.db', 'audit.db']) copyFileSync(join(o.from, name), join(staging, name));
    o.onProgress?.('verifying the backup');
    const { report, log } = await verifyCopy(staging, 'sqlite', keys, o.log);
    if (!report.ok) throw new RestoreError(`the backup in ${o.from} does not verify: ${describeFailure(report)}`);
    if (log !== manifest.log) throw new RestoreError(`the backup's log is ${log ?? 'empty'}, its manifest says ${manifest.log ?? 'empty'}: the backup is damaged`);

    const lost = checkKeptHead(paths.headFile, staging, manifest, o.acceptLoss);

    o.onProgress?.('moving the backup in');
    const setAside = moveAside(o.dataDir, stamp);
    for (const name of ['events.db', 'audit.db']) renameSync(join(staging, name), join(o.dataDir, name));
    const token = manifest.files.find((f) => f.name === TOKEN_FILE);
    if (token && !existsSync(join(o.dataDir, TOKEN_FILE))) copyFileSync(join(o.from, TOKEN_FILE), join(o.dataDir, TOKEN_FILE));

    o.onProgress?.('rebuilding the read models');
    const store = openSqliteStore(join(o.dataDir, 'events.db'), { writer: 'inline', sealKey: keys.sealKey });
    let rebuilt: RebuildResult;
    try {
      rebuilt = await rebuildReadModels({ store, path: join(o.dataDir, 'readmodels.db'), log: o.log });
    } finally {
      await store.close();
    }
    // The kept head becomes the backup's latest; the one it replaces is set aside, never deleted.
    const latest = manifest.tree.latestHead;
    if (existsSync(paths.headFile)) renameSync(paths.headFile, `${paths.headFile}.before-restore-${stamp}`);
    if (latest !== null && manifest.log !== null && latest.treeSize > 0) writeKeptHead(paths.headFile, { format: KEPT_HEAD_FORMAT, log: manifest.log, head: latest });
    return { manifest, events: report.eventsRead, treeSize: manifest.tree.treeSize, setAside, lost, rebuilt };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function readManifest(dir: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as BackupManifest;
  } catch (e) {
    throw new RestoreError(`${join(dir, MANIFEST)} cannot be read (${(e as Error).message}): is ${dir} a directory 'annals backup' wrote?`);
  }
  if (m?.format !== BACKUP_FORMAT) throw new RestoreError(`${join(dir, MANIFEST)} is not an Annals backup manifest (format ${BACKUP_FORMAT})`);
  return m;
}

/** The backup against the head kept beside the key: the events it would lose, or a refusal. */
function checkKeptHead(headFile: string, staging: string, manifest: BackupManifest, acceptLoss: boolean): number {
  const kept = readKeptHead(headFile);
  if (kept === null) return 0;
  if (kept.log !== manifest.log) {
    throw new RestoreError(`the head kept in ${headFile} is of log ${kept.log}, the backup of log ${manifest.log ?? '(empty)'}: restore it with the key file of its own service, or move ${headFile} aside if that log is no more`);
  }
  const size = kept.head.treeSize;
  if (size <= manifest.tree.treeSize) {
    const storage = AuditStorage.open(join(staging, 'audit.db'), { readOnly: true });
    try {
      if (toHex(rootAt(storage, size)) !== kept.head.rootHash) {
        throw new RestoreError(`the backup's tree differs from the head kept in ${headFile} (${size} leaves): it is not a copy of the log that head was signed over`);
      }
    } finally {
      storage.close();
    }
    return 0;
  }
  const lost = size - manifest.tree.treeSize;
  if (!acceptLoss) {
    throw new RestoreError(
      `the backup's tree has ${manifest.tree.treeSize} leaves, and the last head kept in ${headFile} covers ${size}: restoring it loses the events recorded after the backup (at least ${lost}). If that is what you want, run again with --accept-loss (the kept head is set aside, not deleted)`,
    );
  }
  return lost;
}

/** Moves the data dir's log, tree and read models into `before-restore-<stamp>/`; returns it, or null when there was nothing. */
function moveAside(dataDir: string, stamp: string): string | null {
  const present = DATA_FILES.flatMap((f) => [f, ...SQLITE_COMPANIONS.map((s) => `${f}${s}`)]).filter((f) => existsSync(join(dataDir, f)));
  if (present.length === 0) return null;
  const aside = join(dataDir, `before-restore-${stamp}`);
  ensurePrivateDir(aside);
  for (const f of present) renameSync(join(dataDir, f), join(aside, f));
  return aside;
}
