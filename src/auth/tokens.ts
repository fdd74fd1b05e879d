/**
 * Credentials (API.md, "credentials"): `ANNALS_TOKENS` as `role:token` pairs, or, when it is
 * unset, one recorder token generated on first start and kept in `<dataDir>/recorder.token`
 * (mode 0600; its path is logged, never its value). Tokens are checked in constant time
 * (createAuthenticator), and a request is known by a non-secret principal derived from its
 * token: `<role>:<first 8 hex digits of sha256(token)>`, stored as `recordedBy`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SHORT_TOKEN, type Config, type Role, type TokenGrant } from '../config.js';

export const TOKEN_FILE = 'recorder.token';

export interface Principal {
  readonly role: Role;
  /** `<role>:<8 hex digits of the token's sha256>`: names the credential without revealing it. */
  readonly id: string;
}

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export function principalId(grant: TokenGrant): string {
  return `${grant.role}:${digest(grant.token).toString('hex').slice(0, 8)}`;
}

/** The grants of the configuration, or the generated recorder token's. */
export async function resolveTokens(config: Config, log: Pick<Logger, 'info' | 'warn'>): Promise<TokenGrant[]> {
  if (config.tokens && config.tokens.length > 0) {
    const short = config.tokens.filter((g) => g.token.length < SHORT_TOKEN).map((g) => g.role);
    if (short.length > 0) log.warn({ roles: short }, `ANNALS_TOKENS: tokens shorter than ${SHORT_TOKEN} characters are easy to guess; use long random ones (annals token --create)`);
    return config.tokens;
  }
  const path = join(config.dataDir, TOKEN_FILE);
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
    await chmod(path, 0o600);
    log.info({ tokenFile: path }, 'ANNALS_TOKENS unset: using the recorder token kept in the data dir');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    token = randomBytes(32).toString('base64url');
    // `wx`: never overwrite a token another process has just written.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
    log.info({ tokenFile: path }, 'ANNALS_TOKENS unset: generated a recorder token; read it from this file');
  }
  if (token.length < 16) throw new Error(`the token in ${path} is too short (at least 16 characters); delete the file to generate a new one`);
  return [{ role: 'recorder', token }];
}

/**
 * Matches a presented token against every grant in constant time: the presented token's bytes,
 * zero-padded to a width no grant exceeds, are compared whole with each grant's (padded alike)
 * and the lengths compared as numbers, every grant every time, so neither the position of a
 * match, a common prefix nor a grant's length shows in the timing. No digest per request: a
 * sha256 object was most of what authenticating a recorder's write cost the event loop.
 */
export function createAuthenticator(grants: readonly TokenGrant[]): (token: string) => Principal | null {
  const width = Math.max(256, ...grants.map((g) => Buffer.byteLength(g.token, 'utf8')));
  const padded = (token: string): Buffer => {
    const b = Buffer.alloc(width);
    b.write(token, 'utf8');
    return b;
  };
  const known = grants.map((g) => ({ role: g.role, bytes: padded(g.token), length: Buffer.byteLength(g.token, 'utf8'), id: principalId(g) }));
  // One buffer for every request: the check is synchronous, so no two use it at once.
  const presented = Buffer.alloc(width);
  return (token) => {
    const length = Buffer.byteLength(token, 'utf8');
    presented.fill(0);
    // A token wider than `width` is cut short here, and its length then matches no grant.
    presented.write(token, 'utf8');
    let found: Principal | null = null;
    for (const k of known) {
      const same = timingSafeEqual(presented, k.bytes) && length === k.length;
      if (same && found === null) found = { role: k.role, id: k.id };
    }
    return found;
  };
}
