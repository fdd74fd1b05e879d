/** People (name search across aliases), one person with roles over time, and the timeline. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EntityRef, PartialDate } from '../../../events/index.js';
import type { Runtime } from '../../runtime.js';
import { personSortKey } from '../../../projections/people/queries.js';
import { paginate } from '../../../projections/query-context.js';
import { ListQuery, PointQuery, RefParam, TimeQuery, found, readContext, typed, type Guards } from './reads-common.js';

export async function peopleReads(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  const r = typed(app);
  const q = () => runtime.readModels.queries;

  r.get('/v1/people', { preHandler: g.read, schema: { tags: ['reads'], summary: 'People; q= searches names and aliases (case and accents ignored)', querystring: ListQuery.extend({ q: z.string().trim().min(1).max(200).optional() }) } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const after = req.query.cursor ? Buffer.from(req.query.cursor, 'base64url').toString('utf8') : null;
    const rows = q().people(knownAt, req.query.q, after, req.query.limit + 1);
    const items = rows.slice(0, req.query.limit);
    const last = items.at(-1);
    const nextCursor = rows.length > req.query.limit && last ? Buffer.from(personSortKey(last), 'utf8').toString('base64url') : null;
    return { validAt: req.query.validAt ?? null, knownAt, people: items, nextCursor };
  });

  r.get('/v1/people/:person', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One person and their roles over time (at validAt when given)', params: RefParam('person'), querystring: PointQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const ref = req.params['person'] as string;
    return { person: found(q().person(ref, knownAt, req.query.validAt), 'person', ref, knownAt), validAt: req.query.validAt ?? null, knownAt };
  });

  const TimelineQuery = TimeQuery.extend({
    organization: EntityRef,
    from: PartialDate.optional().describe('First day (partial date) of the window'),
    to: PartialDate.optional().describe('Last day (partial date) of the window'),
    cursor: ListQuery.shape.cursor,
    limit: ListQuery.shape.limit,
  });
  r.get('/v1/timeline', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Dated facts about an organization, its bodies, offices and sessions, in valid-time order', querystring: TimelineQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const { organization, from, to } = req.query;
    const list = found(q().timeline(organization, knownAt, from, to), 'organization', organization, knownAt);
    const keyed = list.map((item, i) => ({ item, key: String(i).padStart(10, '0') }));
    const page = paginate(keyed, (x) => x.key, req.query.cursor, req.query.limit);
    return { organization, from: from ?? null, to: to ?? null, validAt: null, knownAt, facts: page.items.map((x) => x.item), nextCursor: page.nextCursor };
  });
}

export const PersonParam = z.strictObject({ person: EntityRef });
