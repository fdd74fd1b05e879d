/**
 * `GET /v1/changes?since=&until=&organization=`: the facts recorded, corrected and retracted
 * in a window of recording time (after `since`, at or before `until`), paged like every list
 * (keyset on recordedAt then position; cursors of paging.ts). `until` plays the part of a
 * list's knownAt: an omitted one is pinned to the moment of the first page, and a window that
 * ended before the last event applied is immutable (reads-answer.ts), since nothing recorded
 * later can fall in it. The items come from src/audit/changes.ts.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { changesPage } from '../../audit/changes.js';
import { ProblemError } from '../errors.js';
import { PagingQuery, nextPage, pageStart } from '../paging.js';
import { ChangesAnswer } from '../answers.js';
import { sendAnswer } from './reads-answer.js';
import { CACHE_NOTE, LIST_NOTE, LooseRef, MinPosition, RFC3339_PATTERN, found, isRfc3339, readContext, typed, nowOf } from './reads-common.js';
import { guards } from './reads-guards.js';

const moment = (what: string) =>
  z
    .string()
    .meta({ format: 'date-time', pattern: RFC3339_PATTERN, examples: ['2025-11-27T12:00:00.000Z'] })
    .refine(isRfc3339, { message: 'expected an RFC 3339 timestamp, e.g. 2025-11-27T12:00:00.000Z or 2025-11-27T15:00:00+03:00' })
    .transform((v) => new Date(v).toISOString())
    .describe(`An RFC 3339 timestamp (Z or an offset; fraction optional): ${what}. Echoed normalised to UTC with milliseconds`);

const ChangesQuery = z.object({
  since: moment('the window begins after this moment (facts recorded at it are not in it)'),
  until: moment('the window ends at this moment, included (default: now, or the recording time of the last event applied when the server clock is behind it; pinned by the cursor)').optional(),
  organization: LooseRef.optional().describe('Only facts about the organization, its bodies (parent chain), their offices, sessions and documents: facts that name one of them or register one, and amendments of such facts'),
  minPosition: MinPosition,
  ...PagingQuery,
});

function reversed(field: 'since' | 'until', since: string, until: string): never {
  const message = `the window is reversed: since ${since} is after until ${until}`;
  throw new ProblemError('invalid-request', `${field}: ${message}`, { errors: [{ path: field, message }] });
}

export async function changesRoutes(app: FastifyInstance): Promise<void> {
  const now = nowOf(app);
  const g = guards(app);
  typed(app).get(
    '/v1/changes',
    {
      preHandler: g.read,
      schema: {
        operationId: 'listChanges',
        response: { 200: ChangesAnswer },
        tags: ['reads'],
        summary: 'The facts recorded, corrected and retracted in a window of recording time',
        description: `Facts recorded after \`since\` and at or before \`until\` (default now), ordered by recordedAt then position. Each item: \`kind\` (recorded, correction, retraction), factId, type, position, recordedAt, recordedBy, data, source; an amendment also names the \`fact\` it amends, its \`reason\`, the data \`before\` (the version it replaced or withdrew) and, for a correction, \`after\`. With \`organization\`, a page reads at most 4000 facts of the window and may hold fewer than \`limit\` items (even none) with a \`nextCursor\` to go on. A reversed window (since after until) is a 400 naming the field. ${LIST_NOTE} ${CACHE_NOTE.replace('a knownAt', 'an until')}`,
        querystring: ChangesQuery,
      },
    },
    async (req, reply) => {
      await readContext(app, { minPosition: req.query.minPosition });
      const { since, until, organization } = req.query;
      const start = pageStart(req, { cursor: req.query.cursor, limit: req.query.limit, knownAt: until }, now);
      if (since > start.knownAt) reversed(until === undefined ? 'since' : 'until', since, start.knownAt);
      const queries = app.readModels.queries;
      const scope = organization === undefined ? null : new Set(found(queries.scopeOf(organization, start.knownAt), 'organization', organization, start.knownAt));
      const page = await changesPage(queries, app.store, { since, until: start.knownAt, scope }, start.after, start.limit);
      const nextCursor = nextPage(req, reply, start.knownAt, page.next);
      return sendAnswer(app, req, reply, { since, until: start.knownAt, organization: organization ?? null, changes: page.items, nextCursor }, start);
    },
  );
}
