/** People (name search across aliases, paged), one person with the first page of their roles, their roles (paged), and the timeline (paged). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { nextPage, pageStart } from '../paging.js';
import { PeopleAnswer, PersonAnswer, RolesAnswer, TimelineAnswer } from '../answers.js';
import { sendAnswer } from './reads-answer.js';
import { CACHE_NOTE, Day, LIST_NOTE, ListQuery, LooseRef, PointQuery, RefParam, ask, found, moreLinks, readContext, typed, nowOf } from './reads-common.js';
import { guards } from './reads-guards.js';

export async function peopleReads(app: FastifyInstance): Promise<void> {
  const now = nowOf(app);
  const g = guards(app);
  const r = typed(app);
  const q = () => app.readModels.queries;

  r.get('/v1/people', { preHandler: g.read, schema: { operationId: 'listPeople', response: { 200: PeopleAnswer }, tags: ['reads'], summary: 'People by name; q= searches names and aliases (case and accents ignored)', description: `${LIST_NOTE} ${CACHE_NOTE}`, querystring: ListQuery.extend({ q: z.string().trim().min(1).max(200).optional() }) } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const { value: page, snapshot } = await ask(app, 'people', start.knownAt, req.query.q, start);
    const nextCursor = nextPage(req, reply, start.knownAt, page.next);
    return sendAnswer(app, req, reply, { validAt: req.query.validAt ?? null, knownAt: start.knownAt, people: page.items, nextCursor }, { ...start, snapshot });
  });

  r.get('/v1/people/:person', { preHandler: g.read, schema: { operationId: 'getPerson', response: { 200: PersonAnswer }, tags: ['reads'], summary: 'One person and the first page of their roles over time (at validAt when given)', description: `\`more.roles\` links to the rest. ${CACHE_NOTE}`, params: RefParam('person'), querystring: PointQuery } }, async (req, reply) => {
    const { knownAt } = await readContext(app, req.query);
    const ref = req.params.person;
    const validAt = req.query.validAt;
    const { value, snapshot } = await ask(app, 'person', ref, knownAt, validAt);
    const { more, ...person } = found(value, 'person', ref, knownAt);
    const links = moreLinks<'roles'>(more, knownAt, () => ({ path: `/v1/people/${person.id}/roles`, scope: { route: '/v1/people/:person/roles', params: { person: person.id }, filters: { validAt } }, query: { validAt } }));
    return sendAnswer(app, req, reply, { person: links ? { ...person, more: links } : person, validAt: validAt ?? null, knownAt }, { knownAt, pinned: req.query.knownAt !== undefined, snapshot });
  });

  r.get('/v1/people/:person/roles', { preHandler: g.read, schema: { operationId: 'listRoles', response: { 200: RolesAnswer }, tags: ['reads'], summary: 'The offices a person was appointed to or attested in, by term (during validAt when given)', description: `${LIST_NOTE} ${CACHE_NOTE}`, params: RefParam('person'), querystring: ListQuery } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const ref = req.params.person;
    const page = found(q().roles(ref, start.knownAt, req.query.validAt, start), 'person', ref, start.knownAt);
    const nextCursor = nextPage(req, reply, start.knownAt, page.next);
    return sendAnswer(app, req, reply, { validAt: req.query.validAt ?? null, knownAt: start.knownAt, roles: page.items, nextCursor }, start);
  });

  const TimelineQuery = ListQuery.omit({ validAt: true }).extend({
    organization: LooseRef,
    from: Day('First day (partial date) of the window'),
    to: Day('Last day (partial date) of the window'),
  });
  r.get('/v1/timeline', { preHandler: g.read, schema: { operationId: 'listTimeline', response: { 200: TimelineAnswer }, tags: ['reads'], summary: 'Dated facts about an organization, its bodies, offices and sessions, in valid-time order (possibly within from..to when given)', description: `${LIST_NOTE} ${CACHE_NOTE}`, querystring: TimelineQuery } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const { organization, from, to } = req.query;
    const { value, snapshot } = await ask(app, 'timeline', organization, start.knownAt, { from, to }, start);
    const { organization: org, page } = found(value, 'organization', organization, start.knownAt);
    const nextCursor = nextPage(req, reply, start.knownAt, page.next);
    return sendAnswer(app, req, reply, { organization: org, from: from ?? null, to: to ?? null, validAt: null, knownAt: start.knownAt, facts: page.items, nextCursor }, { ...start, snapshot });
  });
}

export const PersonParam = z.strictObject({ person: LooseRef });
