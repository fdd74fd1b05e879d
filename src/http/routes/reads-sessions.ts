/** Sessions and documents of an organization's bodies (paged), one of each, and a session's own lists (paged). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionList, SessionView } from '../../../projections/queries.js';
import { SESSIONS_PAGE, nextPage, pageLimit, pageStart, scopeOf } from '../paging.js';
import { DocumentAnswer, DocumentsAnswer, SessionAnswer, SessionListAnswer, SessionsAnswer } from '../answers.js';
import { sendAnswer, sendWhole } from './reads-answer.js';
import { asksCsv } from './csv-lists.js';
import { CACHE_NOTE, LIST_NOTE, ListQuery, LooseRef, RefParam, TimeQuery, ask, askEach, askWhole, found, moreLinks, readContext, typed, nowOf } from './reads-common.js';
import { guards } from './reads-guards.js';
import { fastQuery } from './point-query.js';
import type { ItemMore } from '../../../projections/read-pool.js';

const ByOrganization = fastQuery(ListQuery.extend({ organization: LooseRef.describe('The organization; its bodies (parent chain) count too') }), ['organization']);
/** Sessions come SESSIONS_PAGE to a page by default: each holds the first page of four lists of its own. */
const SessionsQuery = fastQuery(ByOrganization.extend({ limit: pageLimit(SESSIONS_PAGE) }), ['organization']);
const SESSIONS_NOTE = LIST_NOTE.replace('(default 50,', `(default ${SESSIONS_PAGE}: each session holds the first page of four lists,`);
const LISTS = ['attendees', 'reports', 'documents', 'talks'] as const;

/** A session's `more` as links to its own lists, pinned to `knownAt`. */
function linksOf(id: string, more: SessionView['more'], knownAt: string): Partial<Record<SessionList, string>> | undefined {
  return moreLinks<SessionList>(more, knownAt, (list) => ({ path: `/v1/sessions/${id}/${list}`, scope: { route: '/v1/sessions/:session/:list', params: { session: id, list }, filters: {} } }));
}

/** A session view with `more` as links to the session's own lists, pinned to `knownAt`. */
function withLinks(s: SessionView, knownAt: string): Omit<SessionView, 'more'> & { more?: Partial<Record<SessionList, string>> } {
  const { more, ...rest } = s;
  const links = linksOf(s.id, more, knownAt);
  return links ? { ...rest, more: links } : rest;
}

export async function sessionReads(app: FastifyInstance): Promise<void> {
  const now = nowOf(app);
  const g = guards(app);
  const r = typed(app);
  const q = () => app.readModels.queries;

  r.get('/v1/sessions', { preHandler: g.read, schema: { operationId: 'listSessions', response: { 200: SessionsAnswer }, tags: ['reads'], summary: 'Sessions of the organization’s bodies by first day (held within validAt when given)', description: `Each session holds the first page of its attendees, reports, documents and talks; \`more\` links to the rest. ${SESSIONS_NOTE} ${CACHE_NOTE}`, querystring: SessionsQuery } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now, SESSIONS_PAGE);
    const { organization, validAt } = req.query;
    // Two paths, the same bytes. As JSON, a page whose items SQLite wrote (none has a `more`:
    // every page of the benchmark record) comes whole from the read worker, as documents do
    // (sendWhole). A page with a `more` comes each item apart and is joined and sent here
    // (askEach, sendAnswer): each `more` becomes links to the session's own lists, cursors bound
    // to that route and its params (linksOf), which the route makes; the worker is handed only
    // the page's own scope and URL (projections/ knows no routes). CSV, and a page answered
    // without a worker, take this second path too.
    const links = (s: ItemMore) => linksOf(String(s.id), s.more as SessionView['more'], start.knownAt);
    const whole = asksCsv(req) ? undefined : { field: 'sessions', validAt: validAt ?? null, knownAt: start.knownAt, scope: scopeOf(req), url: req.url, strong: start.pinned };
    const { value, snapshot, whole: made } = await askEach(app, links, (s: SessionView) => withLinks(s, start.knownAt), whole, 'sessions', organization, start.knownAt, validAt, start);
    if (made !== undefined) return sendWhole(app, req, reply, made, { ...start, snapshot });
    const page = found(value, 'organization', organization, start.knownAt);
    const nextCursor = nextPage(req, reply, start.knownAt, page.next);
    return sendAnswer(app, req, reply, { validAt: validAt ?? null, knownAt: start.knownAt, sessions: page.items, nextCursor }, { ...start, snapshot });
  });

  r.get('/v1/sessions/:session', { preHandler: g.read, schema: { operationId: 'getSession', response: { 200: SessionAnswer }, tags: ['reads'], summary: 'One session with the first page of everything recorded about it', description: `\`more\` links to the rest of a list that goes on. ${CACHE_NOTE}`, params: RefParam('session'), querystring: TimeQuery } }, async (req, reply) => {
    const { knownAt } = await readContext(app, req.query);
    const ref = req.params.session;
    const { value, snapshot } = await ask(app, 'session', ref, knownAt);
    const session = found(value, 'session', ref, knownAt);
    return sendAnswer(app, req, reply, { session: withLinks(session, knownAt), validAt: null, knownAt }, { knownAt, pinned: req.query.knownAt !== undefined, snapshot });
  });

  r.get(
    '/v1/sessions/:session/:list',
    {
      preHandler: g.read,
      schema: {
        operationId: 'listSessionItems',
        response: { 200: SessionListAnswer },
        tags: ['reads'],
        summary: 'One list recorded about a session: attendees, reports, talks (in recording order: a corrected item keeps its place) or documents (by id)',
        description: `${LIST_NOTE} ${CACHE_NOTE}`,
        params: z.strictObject({ session: LooseRef, list: z.enum(LISTS) }),
        querystring: ListQuery.omit({ validAt: true }),
      },
    },
    async (req, reply) => {
      // Only a minPosition waits: an async call and its await cost every other list a microtask.
      if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
      const start = pageStart(req, req.query, now);
      const { session, list } = req.params;
      const page = found(q().sessionList(session, list, start.knownAt, start), 'session', session, start.knownAt);
      const nextCursor = nextPage(req, reply, start.knownAt, page.next);
      return sendAnswer(app, req, reply, { session, list, validAt: null, knownAt: start.knownAt, items: page.items, nextCursor }, start);
    },
  );

  r.get('/v1/documents', { preHandler: g.read, schema: { operationId: 'listDocuments', response: { 200: DocumentsAnswer }, tags: ['reads'], summary: 'Documents adopted or considered by the organization or its bodies; with validAt, adopted ones in force then', description: `Ordered: documents only considered first (by id), then adopted ones by the first day of their effect, then id. ${LIST_NOTE} ${CACHE_NOTE}`, querystring: ByOrganization } }, async (req, reply) => {
    // Only a minPosition waits: an async call and its await cost every other list a microtask.
    if (req.query.minPosition !== undefined) await readContext(app, { minPosition: req.query.minPosition });
    const start = pageStart(req, req.query, now);
    const { organization, validAt } = req.query;
    // As JSON, the answer comes whole from a read worker (its body, Link and strong ETag): this thread sets headers and sends.
    const { value, snapshot, whole } = asksCsv(req) ? await ask(app, 'documents', organization, start.knownAt, validAt, start) : await askWhole(app, { field: 'documents', validAt: validAt ?? null, knownAt: start.knownAt, scope: scopeOf(req), url: req.url, strong: start.pinned }, 'documents', organization, start.knownAt, validAt, start);
    if (whole !== undefined) return sendWhole(app, req, reply, whole, { ...start, snapshot });
    const page = found(value, 'organization', organization, start.knownAt);
    const nextCursor = nextPage(req, reply, start.knownAt, page.next);
    return sendAnswer(app, req, reply, { validAt: validAt ?? null, knownAt: start.knownAt, documents: page.items, nextCursor }, { ...start, snapshot });
  });

  r.get('/v1/documents/:document', { preHandler: g.read, schema: { operationId: 'getDocument', response: { 200: DocumentAnswer }, tags: ['reads'], summary: 'One document', description: CACHE_NOTE, params: RefParam('document'), querystring: TimeQuery } }, async (req, reply) => {
    const { knownAt } = await readContext(app, req.query);
    const ref = req.params.document;
    const { value, snapshot } = await ask(app, 'document', ref, knownAt);
    return sendAnswer(app, req, reply, { document: found(value, 'document', ref, knownAt), validAt: null, knownAt }, { knownAt, pinned: req.query.knownAt !== undefined, snapshot });
  });
}
