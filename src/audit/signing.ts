/**
 * Signed tree heads: the format, the Ed25519 key that signs them, and the check.
 *
 * A head says "the first `treeSize` events of the log, the last at `lastPosition`, have the
 * Merkle root `rootHash`", at `timestamp`. The signature (Ed25519, base64) is over the UTF-8
 * canonical JSON (leaf.ts: RFC 8785) of every member of the head except `signature`:
 *   { format, keyId, lastPosition, leafFormat, rootHash, timestamp, treeSize }
 * `rootHash` is lowercase hex; `keyId` the SHA-256 (hex) of the public key's DER SPKI.
 *
 * The key is a PKCS#8 PEM file (mode 0600; a looser one is refused), created once: by default
 * `<dataDir>/audit-key.pem`, or wherever ANNALS_AUDIT_KEY_FILE says (keys.ts). Whoever can
 * read it can sign heads: keep it outside the data dir, and publish heads elsewhere.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { signCheckpoint } from './checkpoint.js';
import { canonicalJson, LEAF_FORMAT } from './leaf.js';

export const HEAD_FORMAT = 'annals-tree-head-v1';
export const KEY_FILE = 'audit-key.pem';

export interface SignedTreeHead {
  readonly format: typeof HEAD_FORMAT;
  readonly leafFormat: typeof LEAF_FORMAT;
  readonly treeSize: number;
  /** Lowercase hex SHA-256 root (RFC 9162 MTH) of the first treeSize leaves. */
  readonly rootHash: string;
  /** Position of the treeSize-th event; null for the empty tree. */
  readonly lastPosition: string | null;
  /** RFC 3339 UTC with milliseconds: when the head was signed. */
  readonly timestamp: string;
  readonly keyId: string;
  /** Base64 Ed25519 signature over headMessage(head). */
  readonly signature: string;
}

export type UnsignedTreeHead = Omit<SignedTreeHead, 'signature'>;

/** The exact bytes a head's signature covers. */
export function headMessage(head: UnsignedTreeHead | SignedTreeHead): Buffer {
  const { format, keyId, lastPosition, leafFormat, rootHash, timestamp, treeSize } = head;
  return Buffer.from(canonicalJson({ format, keyId, lastPosition, leafFormat, rootHash, timestamp, treeSize }), 'utf8');
}

export interface AuditKey {
  readonly keyId: string;
  /** SPKI PEM of the public key. */
  readonly publicKeyPem: string;
  signHead(head: UnsignedTreeHead): SignedTreeHead;
  verifyHead(head: SignedTreeHead): boolean;
  /** A head as a C2SP checkpoint signed with the same key (checkpoint.ts), its key name `origin`. */
  checkpointOf(head: SignedTreeHead, origin: string): string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Checks a head against a public key given as PEM: what an outside verifier does. */
export function verifyHeadWith(publicKeyPem: string, head: SignedTreeHead): boolean {
  const key = createPublicKey(publicKeyPem);
  if (head.keyId !== keyIdOf(key)) return false;
  try {
    return verify(null, headMessage(head), key, Buffer.from(head.signature, 'base64'));
  } catch {
    return false;
  }
}

/** The key file is readable by others than its owner: whoever reads it can sign heads and seal rows. */
export class LooseKeyError extends Error {
  constructor(readonly path: string, mode: number) {
    super(`the audit key ${path} is readable by others than its owner (mode ${mode.toString(8).padStart(4, '0')}): whoever reads it can sign tree heads and seal rows. Run 'chmod 600 ${path}' and start again`);
    this.name = 'LooseKeyError';
  }
}

/**
 * Reads the signing key at `path` (PKCS#8 PEM), creating it (0600, and its directory 0700
 * when absent) the first time unless `create` is false. A key others can read is refused.
 */
export function loadOrCreateKey(path: string, log: Logger, options: { create?: boolean } = {}): AuditKey {
  return keyFromPem(readOrCreatePem(path, log, options.create ?? true), path);
}

/** The PEM of the key at `path`, created when absent (see loadOrCreateKey). */
export function readOrCreatePem(path: string, log: Logger, create: boolean): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw e;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      // 'wx': of two processes creating it at once, one wins and the other reads its key.
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
      log.info({ path }, 'audit signing key created');
    } catch (w) {
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
      pem = readFileSync(path, 'utf8');
    }
  }
  // Windows has no such modes; elsewhere a readable key means anyone may forge heads and seals.
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) throw new LooseKeyError(path, mode);
  return pem;
}

export function keyFromPem(pem: string, path: string): AuditKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    keyId,
    publicKeyPem,
    signHead(head) {
      if (head.keyId !== keyId) throw new Error('head names another key');
      return { ...head, signature: sign(null, headMessage(head), privateKey).toString('base64') };
    },
    checkpointOf(head, origin) {
      if (head.keyId !== keyId) throw new Error('head names another key');
      return signCheckpoint(origin, head.treeSize, head.rootHash, privateKey);
    },
    verifyHead(head) {
      if (head.keyId !== keyId) return false;
      try {
        return verify(null, headMessage(head), publicKey, Buffer.from(head.signature, 'base64'));
      } catch {
        return false;
      }
    },
  };
}
