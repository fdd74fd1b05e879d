/**
 * What every read route shares: the `validAt` / `knownAt` / `minPosition` query fields, the
 * read-your-writes wait, 404s for unknown entities and cursor pagination.
 */
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityRef, PartialDate, Timestamp, today } from '../../../events/index.js';
import type { Runtime } from '../../runtime.js';
import { ProblemError } from '../errors.js';

export const ValidAt = PartialDate.optional().describe('A partial date YYYY, YYYY-MM or YYYY-MM-DD: the world as it was then');
export const KnownAt = Timestamp.optional().describe('An RFC 3339 UTC timestamp with ms: the record as it stood then (default: now)');
export const MinPosition = z.string().min(1).max(100).optional().describe('A position returned by a write: wait (briefly) until the read models applied it');

/** Every read: knownAt and minPosition. */
export const TimeQuery = z.strictObject({ knownAt: KnownAt, minPosition: MinPosition });
/** Point questions (holder, chair) and filters: validAt too. */
export const PointQuery = TimeQuery.extend({ validAt: ValidAt });
export const ListQuery = PointQuery.extend({
  cursor: z.string().max(1000).optional().describe('From the previous page’s nextCursor'),
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Items per page (default 50, at most 500)'),
});

export const RefParam = (name: string) => z.strictObject({ [name]: EntityRef });

export type Typed = ReturnType<FastifyInstance['withTypeProvider']> & FastifyInstance;
export const typed = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>();

/** knownAt defaults to now; waits for minPosition or answers 503 with Retry-After. */
export async function readContext(runtime: Runtime, q: { knownAt?: string | undefined; minPosition?: string | undefined }): Promise<{ knownAt: string }> {
  if (q.minPosition !== undefined) {
    const ok = await runtime.readModels.waitFor(q.minPosition, runtime.config.readWaitMs);
    if (!ok) {
      throw new ProblemError('unavailable', `the read models have not applied position ${q.minPosition} yet; retry shortly`, { minPosition: q.minPosition, applied: runtime.readModels.applied() }, { 'retry-after': '1' });
    }
  }
  return { knownAt: q.knownAt ?? new Date().toISOString() };
}

/** validAt for a point question: default today (UTC). */
export const pointValidAt = (v: string | undefined): string => v ?? today(new Date());

export function notFound(kind: string, ref: string, knownAt: string): never {
  throw new ProblemError('not-found', `no ${kind} ${JSON.stringify(ref)} is known at ${knownAt}`, { [kind]: ref, knownAt });
}

export function found<T>(value: T | null, kind: string, ref: string, knownAt: string): T {
  if (value === null) notFound(kind, ref, knownAt);
  return value;
}

export interface Guards {
  read: preHandlerHookHandler;
  staff: preHandlerHookHandler;
}

export type { FastifyRequest };
