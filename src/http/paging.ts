/**
 * Keyset paging on the wire, for every list (and, later, /v1/changes): opaque cursors bound
 * to the query they came from, `nextCursor` in the answer and `Link: <…>; rel="next"`.
 *
 * A cursor carries the key of the last item of its page, the `knownAt` the first page was
 * answered at (an implicit "now" is pinned there, so every page reads the record as it stood
 * when the client began) and a digest of the query (route, path parameters, filters; not
 * `limit`, which may change between pages). It is signed with HMAC-SHA-256 under a fixed key:
 * an integrity check that turns an altered, truncated or foreign cursor into a 400 naming
 * `cursor`, not a secret (a forged cursor could only ask what the query itself may ask).
 */
import { timingSafeEqual, hash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemError } from './errors.js';

/** Items in a page when `limit` is not given (lists that are small come whole in one page). */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
/**
 * Sessions in a page when `limit` is not given: each carries the first page of four lists of
 * its own (attendees, reports, documents, talks), so on the 1,000,000-fact benchmark record a
 * page of 50 held ~300 items and ~700 entities (140 KB, ~10 ms of a read worker's CPU).
 */
export const SESSIONS_PAGE = 10;

/** Every `limit` schema pageLimit made (point-query.ts checks those without zod). */
export const PAGE_LIMITS = new WeakSet<object>();
/** The `limit` parameter, documented with the default a route applies. */
export const pageLimit = (byDefault: number) => {
  const limit = z.coerce.number().int().min(1).max(MAX_PAGE).optional().describe(`Items per page (default ${byDefault}, at most ${MAX_PAGE})`);
  PAGE_LIMITS.add(limit);
  return limit;
};
/** A cursor's longest form accepted (UTF-16 units). */
export const MAX_CURSOR = 2000;

export const PagingQuery = {
  cursor: z.string().max(MAX_CURSOR).optional().describe('The `nextCursor` of the previous page (opaque; bound to this query and to the knownAt of its first page)'),
  limit: pageLimit(DEFAULT_PAGE),
};

export type Key = readonly string[];

/** What a cursor is bound to: the route, its path parameters and its filters. */
export interface Scope {
  readonly route: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Filters of the query (cursor, limit, knownAt and minPosition are left out). */
  readonly filters: Readonly<Record<string, unknown>>;
}

const NOT_BINDING = new Set(['cursor', 'limit', 'knownAt', 'minPosition']);
const MAC_KEY = 'annals cursor v1';

function canonical(scope: Scope): string {
  const entries = (o: Readonly<Record<string, unknown>>) =>
    Object.entries(o)
      .filter(([k, v]) => v !== undefined && !NOT_BINDING.has(k))
      .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([scope.route, entries(scope.params), entries(scope.filters)]);
}

const digest = (scope: Scope): string => hash('sha256', canonical(scope), 'base64url').slice(0, 12);
/**
 * HMAC-SHA-256 under MAC_KEY (RFC 2104: H((K ^ opad) || H((K ^ ipad) || m))), as two one-shot
 * hashes with the padded keys made once: createHmac made a key and a context of its own at
 * every cursor (~1 µs more of the event loop a page with a next page). The key is ASCII and
 * shorter than SHA-256's block, so each padded key is ASCII too, and a cursor's payload is
 * base64url: the inner input is one ASCII string.
 */
const padded = (pad: number): Buffer => Buffer.from(Buffer.concat([Buffer.from(MAC_KEY, 'latin1'), Buffer.alloc(64 - MAC_KEY.length)]).map((b) => b ^ pad));
const INNER_KEY = padded(0x36).toString('latin1');
const OUTER = Buffer.concat([padded(0x5c), Buffer.alloc(32)]);
function mac(payload: string): Buffer {
  // A payload that is not ASCII (a cursor a client made up) is hashed as its UTF-8 bytes, as createHmac's update did.
  const inner = /^[\x00-\x7f]*$/.test(payload) ? hash('sha256', INNER_KEY + payload, 'buffer') : hash('sha256', Buffer.concat([Buffer.from(INNER_KEY, 'latin1'), Buffer.from(payload, 'utf8')]), 'buffer');
  const outer = Buffer.from(OUTER);
  outer.set(inner, 64);
  return hash('sha256', outer, 'buffer').subarray(0, 16);
}

export function scopeOf(req: FastifyRequest): Scope {
  return { route: req.routeOptions.url ?? req.url.split('?')[0] ?? '', params: (req.params ?? {}) as Record<string, unknown>, filters: (req.query ?? {}) as Record<string, unknown> };
}

export function encodeCursor(scope: Scope, knownAt: string, after: Key): string {
  const payload = Buffer.from(JSON.stringify({ v: 1, k: knownAt, a: after, q: digest(scope) })).toString('base64url');
  return `${payload}.${mac(payload).toString('base64url')}`;
}

function bad(detail: string): never {
  throw new ProblemError('invalid-request', `cursor: ${detail}`, { errors: [{ path: 'cursor', message: detail }] });
}

/** The key and pinned knownAt a cursor carries, checked against the query it is used with. */
export function decodeCursor(raw: string, scope: Scope, knownAt: string | undefined): { knownAt: string; after: Key } {
  const [payload, sig, ...rest] = raw.split('.');
  if (!payload || !sig || rest.length) bad('not a cursor this service issued; pass the nextCursor of a previous page as it was');
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) bad('altered or not issued by this service; pass the nextCursor of a previous page as it was');
  let body: { v?: unknown; k?: unknown; a?: unknown; q?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    bad('not a cursor this service issued');
  }
  if (body.v !== 1 || typeof body.k !== 'string' || !Array.isArray(body.a) || !body.a.every((x) => typeof x === 'string')) bad('not a cursor this service issued');
  if (body.q !== digest(scope)) bad('issued for another query (another list or other filters); follow the nextCursor of this query, or start again without cursor');
  if (knownAt !== undefined && knownAt !== body.k) bad(`issued for knownAt=${body.k}: pass that knownAt, or none`);
  return { knownAt: body.k, after: body.a as string[] };
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

/** This request's URL with `cursor` set (and any other cursor dropped), for Link and `more`. */
export function withCursor(url: string, cursor: string): string {
  const [path, search = ''] = url.split('?', 2) as [string, string?];
  // The common query (ASCII, escapes upper case, no cursor yet): the cursor appended, as set() would (a cursor is base64url and '.').
  if (writtenAsIs(search) && /^[A-Za-z0-9._-]*$/.test(cursor)) return `${path}?${search === '' ? '' : `${search}&`}cursor=${cursor}`;
  const params = new URLSearchParams(search);
  params.set('cursor', cursor);
  return `${path}?${params.toString()}`;
}

/** A link to a list of another route (a view's `more`), its first page after `after`. */
export function linkTo(path: string, scope: Scope, knownAt: string, after: Key, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
  params.set('cursor', encodeCursor(scope, knownAt, after));
  return `${path}?${params.toString()}`;
}

/** Where a page of a list starts, and at which knownAt: from the cursor when one is given. */
export function pageStart(req: FastifyRequest, q: { cursor?: string | undefined; limit?: number | undefined; knownAt?: string | undefined }, now: () => string, byDefault = DEFAULT_PAGE): { knownAt: string; pinned: boolean; after: Key | null; limit: number } {
  const limit = q.limit ?? byDefault;
  if (q.cursor === undefined) return { knownAt: q.knownAt ?? now(), pinned: q.knownAt !== undefined, after: null, limit };
  const c = decodeCursor(q.cursor, scopeOf(req), q.knownAt);
  return { knownAt: c.knownAt, pinned: true, after: c.after, limit };
}

/** `nextCursor` for the answer, and the Link header when there is a next page. */
export function nextPage(req: FastifyRequest, reply: FastifyReply, knownAt: string, next: Key | null): string | null {
  if (next === null) return null;
  const cursor = encodeCursor(scopeOf(req), knownAt, next);
  reply.header('link', `<${withCursor(req.url, cursor)}>; rel="next"`);
  return cursor;
}
