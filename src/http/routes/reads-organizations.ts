/** Organizations (states and bodies included): the list, one with bodies/offices/members, the chair. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Classification } from '../../../events/index.js';
import type { Runtime } from '../../runtime.js';
import { paginate } from '../../../projections/query-context.js';
import { DEFAULT_PAGE, ListQuery, LooseRef, pageUnlessFiltered, PointQuery, RefParam, found, pointValidAt, readContext, typed, type Guards } from './reads-common.js';

export async function organizationReads(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  const r = typed(app);
  const q = () => runtime.readModels.queries;

  r.get('/v1/organizations', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Organizations, states and bodies', description: `Filtered by classification= or parent=, every match; unfiltered (the whole registry), the first ${DEFAULT_PAGE} unless limit= says otherwise — follow nextCursor.`, querystring: ListQuery.extend({ classification: Classification.optional(), parent: LooseRef.optional() }) } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const { classification, parent } = req.query;
    const list = q().organizations(knownAt, { classification, parent });
    const all = parent !== undefined ? found(list, 'organization', parent, knownAt) : list ?? [];
    const page = paginate(all, (o) => `${o.name ?? ''}\u0000${o.id}`, req.query.cursor, pageUnlessFiltered(req.query.limit, classification !== undefined || parent !== undefined));
    return { validAt: req.query.validAt ?? null, knownAt, organizations: page.items, nextCursor: page.nextCursor };
  });

  r.get('/v1/organizations/:org', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One organization: bodies, offices, members and chairs (at validAt when given)', params: RefParam('org'), querystring: PointQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const org = req.params['org'] as string;
    const view = found(q().organization(org, knownAt, req.query.validAt), 'organization', org, knownAt);
    return { organization: view, validAt: req.query.validAt ?? null, knownAt };
  });

  r.get('/v1/organizations/:org/chair', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Which state chairs the organization on a day', params: RefParam('org'), querystring: PointQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const validAt = pointValidAt(req.query.validAt);
    const org = req.params['org'] as string;
    const answer = found(q().chair(org, validAt, knownAt), 'organization', org, knownAt);
    return { organization: answer.organization, validAt, knownAt, chairs: answer.chairs };
  });
}

export const OrgParam = z.strictObject({ org: LooseRef });
