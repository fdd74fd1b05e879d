/**
 * Credentials (API.md, "credentials"): `ANNALS_TOKENS` as `role:token` pairs, or, when it is
 * unset, one recorder token generated on first start and kept in `<dataDir>/recorder.token`
 * (mode 0600; its path is logged, never its value). Tokens are checked in constant time
 * against sha256 digests, and a request is known by a non-secret principal derived from its
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
 * Matches a presented token against every grant in constant time: each comparison is of two
 * 32-byte digests, and every grant is compared, so neither the position of a match nor a
 * common prefix shows in the timing.
 */
export function createAuthenticator(grants: readonly TokenGrant[]): (token: string) => Principal | null {
  const known = grants.map((g) => ({ role: g.role, hash: digest(g.token), id: principalId(g) }));
  return (token) => {
    const presented = digest(token);
    let found: Principal | null = null;
    for (const k of known) {
      if (timingSafeEqual(presented, k.hash) && found === null) found = { role: k.role, id: k.id };
    }
    return found;
  };
}
