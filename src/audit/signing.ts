/**
 * Signed tree heads: the format, the Ed25519 key that signs them, and the check.
 *
 * A head says "the first `treeSize` events of the log, the last at `lastPosition`, have the
 * Merkle root `rootHash`", at `timestamp`. The signature (Ed25519, base64) is over the UTF-8
 * canonical JSON (leaf.ts: RFC 8785) of every member of the head except `signature`:
 *   { format, keyId, lastPosition, leafFormat, rootHash, timestamp, treeSize }
 * `rootHash` is lowercase hex; `keyId` the SHA-256 (hex) of the public key's DER SPKI.
 *
 * The key is kept in `<dataDir>/audit-key.pem` (PKCS#8 PEM, mode 0600), created once. Whoever
 * can read that file can sign heads: publish heads elsewhere (witnesses) to make rewriting
 * the data dir as a whole detectable too.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
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

/** Reads the signing key from the data dir, creating it (0600) the first time. */
export function loadOrCreateKey(dataDir: string, log: Logger): AuditKey {
  const path = join(dataDir, KEY_FILE);
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
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
  // Windows has no such modes; elsewhere a readable key means anyone may forge heads.
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    log.warn({ path }, 'audit signing key is readable by group or others; chmod 600 it');
  }
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
