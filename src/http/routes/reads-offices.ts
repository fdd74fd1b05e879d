/** Offices: one office, the holder on a day, the whole succession, offices of an organization. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Runtime } from '../../runtime.js';
import { DEFAULT_PAGE, ListQuery, LooseRef, PointQuery, pageUnlessFiltered, RefParam, TimeQuery, found, pointValidAt, readContext, typed, type Guards } from './reads-common.js';
import { paginate } from '../../../projections/query-context.js';

export async function officeReads(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  const r = typed(app);
  const q = () => runtime.readModels.queries;

  r.get('/v1/offices/:office/holder', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Who held the office on a day (every possible holder, with certainty)', params: RefParam('office'), querystring: PointQuery } }, async (req, reply) => {
    // The hot read: no promise to wait on unless there is a position to wait for.
    const knownAt = req.query.minPosition === undefined ? (req.query.knownAt ?? new Date().toISOString()) : (await readContext(runtime, req.query)).knownAt;
    const validAt = pointValidAt(req.query.validAt);
    const office = req.params['office'] as string;
    // Already JSON text (the hot read: see ReadQueries.holderJson), so fastify sends it as is.
    const body = found(q().holderJson(office, validAt, knownAt, req.query.knownAt === undefined), 'office', office, knownAt);
    return reply.type('application/json; charset=utf-8').send(body);
  });

  r.get('/v1/offices/:office/holders', { preHandler: g.read, schema: { tags: ['reads'], summary: 'The whole succession, ordered by term.from', params: RefParam('office'), querystring: TimeQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const office = req.params['office'] as string;
    const answer = found(q().holders(office, knownAt, req.query.knownAt === undefined), 'office', office, knownAt);
    return { office: answer.office, validAt: null, knownAt, holders: answer.holders };
  });

  r.get('/v1/offices/:office', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One office', params: RefParam('office'), querystring: PointQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const office = req.params['office'] as string;
    const view = found(q().office(office, knownAt), 'office', office, knownAt);
    const validAt = pointValidAt(req.query.validAt);
    const holder = q().holder(view.id, validAt, knownAt);
    return { office: view, validAt, knownAt, holders: holder?.holders ?? [] };
  });

  r.get('/v1/offices', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Offices, of one organization with organization=', description: `With organization=, all of its offices; without it (every office), the first ${DEFAULT_PAGE} unless limit= says otherwise — follow nextCursor.`, querystring: ListQuery.extend({ organization: LooseRef.optional() }) } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const org = req.query.organization;
    const list = org === undefined ? q().offices(undefined, knownAt) ?? [] : found(q().offices(org, knownAt), 'organization', org, knownAt);
    const page = paginate(list, (o) => `${o.title ?? ''}\u0000${o.id}`, req.query.cursor, pageUnlessFiltered(req.query.limit, org !== undefined));
    return { validAt: req.query.validAt ?? null, knownAt, offices: page.items, nextCursor: page.nextCursor };
  });
}

export const OfficeParam = z.strictObject({ office: LooseRef });
