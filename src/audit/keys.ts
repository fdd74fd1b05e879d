/**
 * The audit key and what it gives. One Ed25519 key (PKCS#8 PEM, 0600) signs tree heads; the
 * seal key of the embedded store is derived from it (HKDF-SHA256, info `annals-seal-v1`), so
 * one file is all there is to keep apart. By default the key is `<dataDir>/audit-key.pem`;
 * ANNALS_AUDIT_KEY_FILE puts it elsewhere, and then whoever can rewrite the data dir can
 * neither seal a row nor sign a head. Beside the key lives the last signed head (kept-head.ts),
 * which a tree rebuilt from the data dir alone must match.
 */
import { createPrivateKey, hkdfSync } from 'node:crypto';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import { KEY_FILE, keyFromPem, readOrCreatePem, type AuditKey } from './signing.js';

export interface KeyPaths {
  /** The PEM file of the Ed25519 key. */
  readonly keyFile: string;
  /** The last signed head, beside the key (kept-head.ts). */
  readonly headFile: string;
  /** True when the key is not inside the data dir (ANNALS_AUDIT_KEY_FILE). */
  readonly outsideDataDir: boolean;
}

/** Where the key and the kept head are: `keyFile` when given, else the data dir's audit-key.pem. */
export function keyPaths(dataDir: string, keyFile?: string): KeyPaths {
  const file = keyFile ?? join(dataDir, KEY_FILE);
  const name = basename(file);
  const headFile = join(dirname(file), `${name.endsWith('.pem') ? name.slice(0, -'.pem'.length) : name}.head.json`);
  const rel = relative(resolve(dataDir), resolve(file));
  return { keyFile: file, headFile, outsideDataDir: rel.startsWith('..') || isAbsolute(rel) };
}

export interface AuditKeys {
  readonly paths: KeyPaths;
  readonly signing: AuditKey;
  /** 32 bytes for the embedded store's seals (src/store/sqlite-seal.ts). */
  readonly sealKey: Buffer;
}

/** Loads the key (creating it unless `create` is false; a key others can read is refused). */
export function loadKeys(paths: KeyPaths, log: Logger, options: { create?: boolean } = {}): AuditKeys {
  const pem = readOrCreatePem(paths.keyFile, log, options.create ?? true);
  return { paths, signing: keyFromPem(pem, paths.keyFile), sealKey: sealKeyOf(pem) };
}

/** HKDF-SHA256 of the Ed25519 private key's 32-byte seed: a seal key that needs no file of its own. */
export function sealKeyOf(pem: string): Buffer {
  const jwk = createPrivateKey(pem).export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  return Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), 'annals-seal-v1', 32));
}
