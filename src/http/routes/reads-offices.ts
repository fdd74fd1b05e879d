/** Offices: one office, the holder on a day, the whole succession (paged), offices of an organization (paged). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { nextPage, pageStart } from '../paging.js';
import { sendAnswer } from './reads-answer.js';
import { CACHE_NOTE, LIST_NOTE, ListQuery, LooseRef, PointQuery, RefParam, ask, askThen, found, readContext, typed, nowOf } from './reads-common.js';
import { guards } from './reads-guards.js';
import { today } from '../../../events/index.js';
import { HolderAnswer, HoldersAnswer, OfficeAnswer, OfficesAnswer } from '../answers.js';

export async function officeReads(app: FastifyInstance): Promise<void> {
  const now = nowOf(app);
  const g = guards(app);
  const r = typed(app);
  const q = () => app.readModels.queries;

  /** The holder of `office` on `asked` (default today) as known at `knownAt`, sent as the worker wrote it (ReadQueries.holderJson). */
  const holder = (office: string, asked: string | undefined, knownAt: string, pinned: boolean, reply: FastifyReply): void => {
    const validAt = asked ?? today(new Date());
    askThen(app, reply, ({ value, snapshot }) => sendAnswer(app, reply.request, reply, found(value, 'office', office, knownAt), { knownAt, pinned, defaultedValidAt: asked === undefined ? validAt : undefined, snapshot }), 'holderJson', office, validAt, knownAt);
  };

  r.get('/v1/offices/:office/holder', { preHandler: g.read, schema: { operationId: 'getHolder', response: { 200: HolderAnswer }, tags: ['reads'], summary: 'Who held the office on a day (every possible holder, with certainty)', description: `Found through the temporal index (office, valid days, recording time) at any knownAt alike. ${CACHE_NOTE}`, params: RefParam('office'), querystring: PointQuery } }, (req, reply) => {
    const knownAt = req.query.knownAt;
    const pinned = knownAt !== undefined;
    // In callback style: an async handler's promise (resolved with the reply, a thenable: one
    // more then) and Fastify's wait on it cost every holder answer. Nothing returned: Fastify
    // leaves the answer to the send; a refusal is sent as the route's error (askThen). With a
    // position to wait for, the read context's wait comes first.
    if (req.query.minPosition === undefined) holder(req.params.office, req.query.validAt, knownAt ?? now(), pinned, reply);
    else readContext(app, req.query).then((ctx) => holder(req.params.office, req.query.validAt, ctx.knownAt, pinned, reply), (err: unknown) => (reply as FastifyReply).send(err));
  });

  r.get('/v1/offices/:office/holders', { preHandler: g.read, schema: { operationId: 'listHolders', response: { 200: HoldersAnswer }, tags: ['reads'], summary: 'The whole succession, ordered by term (from, then factId)', description: `${LIST_NOTE} ${CACHE_NOTE}`, params: RefParam('office'), querystring: ListQuery.omit({ validAt: true }) } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const office = req.params.office;
    const { value, snapshot } = await ask(app, 'holders', office, start.knownAt, start);
    const answer = found(value, 'office', office, start.knownAt);
    const nextCursor = nextPage(req, reply, start.knownAt, answer.page.next);
    return sendAnswer(app, req, reply, { office: answer.office, validAt: null, knownAt: start.knownAt, holders: answer.page.items, nextCursor }, { ...start, snapshot });
  });

  r.get('/v1/offices/:office', { preHandler: g.read, schema: { operationId: 'getOffice', response: { 200: OfficeAnswer }, tags: ['reads'], summary: 'One office, with its holders on a day', description: CACHE_NOTE, params: RefParam('office'), querystring: PointQuery } }, async (req, reply) => {
    const { knownAt } = await readContext(app, req.query);
    const office = req.params.office;
    const view = found(q().office(office, knownAt), 'office', office, knownAt);
    const validAt = req.query.validAt ?? today(new Date());
    const holder = q().holder(view.id, validAt, knownAt);
    return sendAnswer(app, req, reply, { office: view, validAt, knownAt, holders: holder?.holders ?? [] }, { knownAt, pinned: req.query.knownAt !== undefined, defaultedValidAt: req.query.validAt === undefined ? validAt : undefined });
  });

  r.get('/v1/offices', { preHandler: g.read, schema: { operationId: 'listOffices', response: { 200: OfficesAnswer }, tags: ['reads'], summary: 'Offices (of one organization with organization=), by title', description: `${LIST_NOTE} ${CACHE_NOTE}`, querystring: ListQuery.extend({ organization: LooseRef.optional() }) } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const org = req.query.organization;
    const { value, snapshot } = await ask(app, 'offices', org, start.knownAt, start);
    const page = org === undefined ? value : found(value, 'organization', org, start.knownAt);
    const list = page ?? { items: [], next: null };
    const nextCursor = nextPage(req, reply, start.knownAt, list.next);
    return sendAnswer(app, req, reply, { validAt: req.query.validAt ?? null, knownAt: start.knownAt, offices: list.items, nextCursor }, { ...start, snapshot });
  });
}

export const OfficeParam = z.strictObject({ office: LooseRef });
