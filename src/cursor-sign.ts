/**
 * A cursor's making and signing (src/http/paging.ts says what a cursor is), shared by the two
 * threads that make them: the event loop (paging.ts: every list's `nextCursor`, and the
 * check of a cursor a client sends back) and a read worker (projections/read-worker.ts: a
 * documents page made whole there, its cursor and `Link` with it). No HTTP here, nothing of
 * Fastify: a scope is plain data, and the worker gets the key once, at its start (its
 * workerData, read-pool.ts ReadWorkerInit), and holds it in a CursorSigner; the key is never
 * logged nor sent back.
 *
 * The signature is HMAC-SHA-256 under the key, cut to 16 bytes: an integrity check that turns
 * an altered, truncated or foreign cursor into a 400, not a secret.
 */
import { hash } from 'node:crypto';

/** The key cursors are signed under (fixed: a cursor stays good across restarts and versions). */
export const CURSOR_KEY = 'annals cursor v1';

export type Key = readonly string[];

/** What a cursor is bound to: the route, its path parameters and its filters. */
export interface Scope {
  readonly route: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Filters of the query (cursor, limit, knownAt and minPosition are left out). */
  readonly filters: Readonly<Record<string, unknown>>;
}

const NOT_BINDING = new Set(['cursor', 'limit', 'knownAt', 'minPosition']);

function canonical(scope: Scope): string {
  const entries = (o: Readonly<Record<string, unknown>>) =>
    Object.entries(o)
      .filter(([k, v]) => v !== undefined && !NOT_BINDING.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([scope.route, entries(scope.params), entries(scope.filters)]);
}

/** The digest of a scope a cursor carries (`q`). */
export const scopeDigest = (scope: Scope): string => hash('sha256', canonical(scope), 'base64url').slice(0, 12);

/**
 * HMAC-SHA-256 under a key (RFC 2104: H((K ^ opad) || H((K ^ ipad) || m))), as two one-shot
 * hashes with the padded keys made once: createHmac made a key and a context of its own at
 * every cursor (~1 µs more of the event loop a page with a next page). The key is ASCII and
 * at most SHA-256's block (64 bytes), so each padded key is ASCII too, and a cursor's payload
 * is base64url: the inner input is one ASCII string.
 */
export class CursorSigner {
  readonly #inner: string;
  readonly #outer: Buffer;

  constructor(key: string) {
    if (!/^[\x00-\x7f]*$/.test(key) || key.length > 64) throw new Error('a cursor key is ASCII, at most 64 characters');
    const padded = (pad: number): Buffer => Buffer.from(Buffer.concat([Buffer.from(key, 'latin1'), Buffer.alloc(64 - key.length)]).map((b) => b ^ pad));
    this.#inner = padded(0x36).toString('latin1');
    this.#outer = Buffer.concat([padded(0x5c), Buffer.alloc(32)]);
  }

  /** The signature of a payload: 16 bytes. */
  mac(payload: string): Buffer {
    // A payload that is not ASCII (a cursor a client made up) is hashed as its UTF-8 bytes, as createHmac's update did.
    const inner = /^[\x00-\x7f]*$/.test(payload) ? hash('sha256', this.#inner + payload, 'buffer') : hash('sha256', Buffer.concat([Buffer.from(this.#inner, 'latin1'), Buffer.from(payload, 'utf8')]), 'buffer');
    const outer = Buffer.from(this.#outer);
    outer.set(inner, 64);
    return hash('sha256', outer, 'buffer').subarray(0, 16);
  }

  /** A cursor: the key after a page, the pinned knownAt, the scope's digest, signed. */
  encode(scope: Scope, knownAt: string, after: Key): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, k: knownAt, a: after, q: scopeDigest(scope) })).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** Never the key, should a signer be logged. */
  toJSON(): string {
    return 'CursorSigner';
  }
}

/**
 * A query parameter's name or value as URLSearchParams writes it back (application/x-www-form-urlencoded):
 * only the characters it leaves as they are, `+` (a space), and upper-case escapes of the other
 * ASCII characters but the space (which it writes `+`).
 */
const AS_WRITTEN = /^(?:[A-Za-z0-9*._+-]|%(?:[01][0-9A-F]|2[1-9BCF]|3[A-F]|40|5[B-E]|60|7[B-F]))*$/;

/** Does URLSearchParams write `search` back as it is, with no `cursor` in it? */
function writtenAsIs(search: string): boolean {
  if (search === '') return true;
  for (const pair of search.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || pair.indexOf('=', eq + 1) >= 0) return false;
    const name = pair.slice(0, eq);
    if (name === 'cursor' || !AS_WRITTEN.test(name) || !AS_WRITTEN.test(pair.slice(eq + 1))) return false;
  }
  return true;
}

/** A request's URL with `cursor` set (and any other cursor dropped), for Link and `more`. */
export function withCursor(url: string, cursor: string): string {
  const [path, search = ''] = url.split('?', 2) as [string, string?];
  // The common query (ASCII, escapes upper case, no cursor yet): the cursor appended, as set() would (a cursor is base64url and '.').
  if (writtenAsIs(search) && /^[A-Za-z0-9._-]*$/.test(cursor)) return `${path}?${search === '' ? '' : `${search}&`}cursor=${cursor}`;
  const params = new URLSearchParams(search);
  params.set('cursor', cursor);
  return `${path}?${params.toString()}`;
}

/** The `Link` header of a page whose next page starts at `cursor`. */
export const nextLink = (url: string, cursor: string): string => `<${withCursor(url, cursor)}>; rel="next"`;
