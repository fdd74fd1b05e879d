/** Organizations (states and bodies included): the list, one with the first page of its lists, the chair, chairmanships, members. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Classification, today } from '../../../events/index.js';
import type { OrganizationList } from '../../../projections/queries.js';
import { nextPage, pageStart } from '../paging.js';
import { ChairAnswer, ChairsAnswer, MembersAnswer, OrganizationAnswer, OrganizationsAnswer } from '../answers.js';
import { sendAnswer } from './reads-answer.js';
import { CACHE_NOTE, LIST_NOTE, ListQuery, LooseRef, PointQuery, RefParam, ask, found, moreLinks, readContext, typed, nowOf } from './reads-common.js';
import { guards } from './reads-guards.js';

export async function organizationReads(app: FastifyInstance): Promise<void> {
  const now = nowOf(app);
  const g = guards(app);
  const r = typed(app);

  r.get('/v1/organizations', { preHandler: g.read, schema: { operationId: 'listOrganizations', response: { 200: OrganizationsAnswer }, tags: ['reads'], summary: 'Organizations, states and bodies, by name (filtered by classification= or parent=)', description: `${LIST_NOTE} ${CACHE_NOTE}`, querystring: ListQuery.extend({ classification: Classification.optional(), parent: LooseRef.optional() }) } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const { classification, parent } = req.query;
    const { value: page, snapshot } = await ask(app, 'organizations', start.knownAt, { classification, parent }, start);
    const list = parent !== undefined ? found(page, 'organization', parent, start.knownAt) : (page ?? { items: [], next: null });
    const nextCursor = nextPage(req, reply, start.knownAt, list.next);
    return sendAnswer(app, req, reply, { validAt: req.query.validAt ?? null, knownAt: start.knownAt, organizations: list.items, nextCursor }, { ...start, snapshot });
  });

  r.get('/v1/organizations/:org', { preHandler: g.read, schema: { operationId: 'getOrganization', response: { 200: OrganizationAnswer }, tags: ['reads'], summary: 'One organization: the first page of its bodies, offices, members and chairs (at validAt when given)', description: `Each list holds its first page; \`more\` links to the rest of those that go on. ${CACHE_NOTE}`, params: RefParam('org'), querystring: PointQuery } }, async (req, reply) => {
    const { knownAt } = await readContext(app, req.query);
    const org = req.params.org;
    const validAt = req.query.validAt;
    const { value, snapshot } = await ask(app, 'organization', org, knownAt, validAt);
    const view = found(value, 'organization', org, knownAt);
    const { more, ...rest } = view;
    const links = moreLinks<OrganizationList>(more, knownAt, (list) => {
      switch (list) {
        case 'bodies':
          return { path: '/v1/organizations', scope: { route: '/v1/organizations', params: {}, filters: { parent: view.id } }, query: { parent: view.id } };
        case 'offices':
          return { path: '/v1/offices', scope: { route: '/v1/offices', params: {}, filters: { organization: view.id } }, query: { organization: view.id } };
        default:
          return { path: `/v1/organizations/${view.id}/${list}`, scope: { route: `/v1/organizations/:org/${list}`, params: { org: view.id }, filters: { validAt } }, query: { validAt } };
      }
    });
    return sendAnswer(app, req, reply, { organization: links ? { ...rest, more: links } : rest, validAt: validAt ?? null, knownAt }, { knownAt, pinned: req.query.knownAt !== undefined, snapshot });
  });

  r.get('/v1/organizations/:org/chair', { preHandler: g.read, schema: { operationId: 'getChair', response: { 200: ChairAnswer }, tags: ['reads'], summary: 'Which state chairs the organization on a day', description: CACHE_NOTE, params: RefParam('org'), querystring: PointQuery } }, async (req, reply) => {
    // As the holder: no promise to wait on unless there is a position to wait for.
    const knownAt = req.query.minPosition === undefined ? (req.query.knownAt ?? now()) : (await readContext(app, req.query)).knownAt;
    const validAt = req.query.validAt ?? today(new Date());
    const org = req.params.org;
    const { value, snapshot } = await ask(app, 'chair', org, validAt, knownAt);
    const answer = found(value, 'organization', org, knownAt);
    return sendAnswer(app, req, reply, { organization: answer.organization, validAt, knownAt, chairs: answer.chairs }, { knownAt, pinned: req.query.knownAt !== undefined, defaultedValidAt: req.query.validAt === undefined ? validAt : undefined, snapshot });
  });

  for (const list of ['chairs', 'members'] as const) {
    const summary = list === 'chairs' ? 'Chairmanships of the organization by term (during validAt when given)' : 'Member states of the organization by start (during validAt when given)';
    r.get(`/v1/organizations/:org/${list}`, { preHandler: g.read, schema: { operationId: list === 'chairs' ? 'listChairs' : 'listMembers', response: { 200: list === 'chairs' ? ChairsAnswer : MembersAnswer }, tags: ['reads'], summary, description: `${LIST_NOTE} ${CACHE_NOTE}`, params: RefParam('org'), querystring: ListQuery } }, async (req, reply) => {
      // Only a minPosition waits: an async call and its await cost every other list a microtask.
      if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
      const start = pageStart(req, req.query, now);
      const org = req.params.org;
      const { value, snapshot } = await ask(app, list, org, start.knownAt, req.query.validAt, start);
      const page = found(value, 'organization', org, start.knownAt);
      const nextCursor = nextPage(req, reply, start.knownAt, page.next);
      return sendAnswer(app, req, reply, { validAt: req.query.validAt ?? null, knownAt: start.knownAt, [list]: page.items, nextCursor }, { ...start, snapshot });
    });
  }
}

export const OrgParam = z.strictObject({ org: LooseRef });
