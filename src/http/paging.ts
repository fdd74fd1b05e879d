/**
 * Keyset paging on the wire, for every list (and, later, /v1/changes): opaque cursors bound
 * to the query they came from, `nextCursor` in the answer and `Link: <…>; rel="next"`.
 *
 * A cursor carries the key of the last item of its page, the `knownAt` the first page was
 * answered at (an implicit "now" is pinned there, so every page reads the record as it stood
 * when the client began) and a digest of the query (route, path parameters, filters; not
 * `limit`, which may change between pages). It is signed with HMAC-SHA-256 under a fixed key
 * (src/cursor-sign.ts, shared with the read worker, which signs the cursor of a page it makes
 * whole): an integrity check that turns an altered, truncated or foreign cursor into a 400 naming
 * `cursor`, not a secret (a forged cursor could only ask what the query itself may ask).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ProblemError } from './errors.js';
import { CURSOR_KEY, CursorSigner, nextLink, scopeDigest, type Key, type Scope } from '../cursor-sign.js';

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

export type { Key, Scope } from '../cursor-sign.js';
export { withCursor } from '../cursor-sign.js';

/** Cursors are made and checked under CURSOR_KEY (src/cursor-sign.ts: a read worker signs with the same). */
const signer = new CursorSigner(CURSOR_KEY);

export function scopeOf(req: FastifyRequest): Scope {
  return { route: req.routeOptions.url ?? req.url.split('?')[0] ?? '', params: (req.params ?? {}) as Record<string, unknown>, filters: (req.query ?? {}) as Record<string, unknown> };
}

export function encodeCursor(scope: Scope, knownAt: string, after: Key): string {
  return signer.encode(scope, knownAt, after);
}

function bad(detail: string): never {
  throw new ProblemError('invalid-request', `cursor: ${detail}`, { errors: [{ path: 'cursor', message: detail }] });
}

/** The key and pinned knownAt a cursor carries, checked against the query it is used with. */
export function decodeCursor(raw: string, scope: Scope, knownAt: string | undefined): { knownAt: string; after: Key } {
  const [payload, sig, ...rest] = raw.split('.');
  if (!payload || !sig || rest.length) bad('not a cursor this service issued; pass the nextCursor of a previous page as it was');
  const given = Buffer.from(sig, 'base64url');
  const expected = signer.mac(payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) bad('altered or not issued by this service; pass the nextCursor of a previous page as it was');
  let body: { v?: unknown; k?: unknown; a?: unknown; q?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    bad('not a cursor this service issued');
  }
  if (body.v !== 1 || typeof body.k !== 'string' || !Array.isArray(body.a) || !body.a.every((x) => typeof x === 'string')) bad('not a cursor this service issued');
  if (body.q !== scopeDigest(scope)) bad('issued for another query (another list or other filters); follow the nextCursor of this query, or start again without cursor');
  if (knownAt !== undefined && knownAt !== body.k) bad(`issued for knownAt=${body.k}: pass that knownAt, or none`);
  return { knownAt: body.k, after: body.a as string[] };
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
  reply.header('link', nextLink(req.url, cursor));
  return cursor;
}
