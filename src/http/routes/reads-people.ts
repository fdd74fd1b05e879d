/** People (name search across aliases), one person with roles over time, and the timeline. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PartialDate } from '../../../events/index.js';
import type { Runtime } from '../../runtime.js';
import { personSortKey } from '../../../projections/people/queries.js';
import { paginate } from '../../../projections/query-context.js';
import { DEFAULT_PAGE, ListQuery, LooseRef, pageUnlessFiltered, PointQuery, RefParam, TimeQuery, found, readContext, typed, type Guards } from './reads-common.js';

export async function peopleReads(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  const r = typed(app);
  const q = () => runtime.readModels.queries;

  r.get('/v1/people', { preHandler: g.read, schema: { tags: ['reads'], summary: 'People; q= searches names and aliases (case and accents ignored)', description: `With q=, every match; without it (everyone), the first ${DEFAULT_PAGE} unless limit= says otherwise — follow nextCursor.`, querystring: ListQuery.extend({ q: z.string().trim().min(1).max(200).optional() }) } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const after = req.query.cursor ? Buffer.from(req.query.cursor, 'base64url').toString('utf8') : null;
    const limit = pageUnlessFiltered(req.query.limit, req.query.q !== undefined);
    const rows = q().people(knownAt, req.query.q, after, Number.isFinite(limit) ? limit + 1 : -1);
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    const nextCursor = rows.length > limit && last ? Buffer.from(personSortKey(last), 'utf8').toString('base64url') : null;
    return { validAt: req.query.validAt ?? null, knownAt, people: items, nextCursor };
  });

  r.get('/v1/people/:person', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One person and their roles over time (at validAt when given)', params: RefParam('person'), querystring: PointQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const ref = req.params['person'] as string;
    return { person: found(q().person(ref, knownAt, req.query.validAt), 'person', ref, knownAt), validAt: req.query.validAt ?? null, knownAt };
  });

  const TimelineQuery = TimeQuery.extend({
    organization: LooseRef,
    from: PartialDate.optional().describe('First day (partial date) of the window'),
    to: PartialDate.optional().describe('Last day (partial date) of the window'),
    cursor: ListQuery.shape.cursor,
    limit: ListQuery.shape.limit,
  });
  r.get('/v1/timeline', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Dated facts about an organization, its bodies, offices and sessions, in valid-time order', description: `With from= or to=, every fact in the window; without either (the whole history), the first ${DEFAULT_PAGE} unless limit= says otherwise — follow nextCursor.`, querystring: TimelineQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const { organization, from, to } = req.query;
    const list = found(q().timeline(organization, knownAt, from, to), 'organization', organization, knownAt);
    const keyed = list.map((item, i) => ({ item, key: String(i).padStart(10, '0') }));
    const page = paginate(keyed, (x) => x.key, req.query.cursor, pageUnlessFiltered(req.query.limit, from !== undefined || to !== undefined));
    return { organization, from: from ?? null, to: to ?? null, validAt: null, knownAt, facts: page.items.map((x) => x.item), nextCursor: page.nextCursor };
  });
}

export const PersonParam = z.strictObject({ person: LooseRef });
