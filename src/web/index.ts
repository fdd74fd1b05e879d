/**
 * The explorer: the record as web pages (API.md, "Pages for people"), server-rendered from the
 * same read queries the API answers with, working with JavaScript off. Every page carries the
 * two time controls in its URL; an address with them in another form (a day for knownAt, empty
 * fields from the form) is redirected to the canonical one, so what a reader cites is exact.
 *
 * Served under a Content-Security-Policy that allows no script at all and styles only from the
 * stylesheet file; HTML escaping is the renderer's (preact-render-to-string escapes every text
 * and attribute), and nothing here writes raw HTML.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { VNode } from 'preact';
import { ProblemError, toProblem } from '../http/errors.js';
import { factHistory } from '../http/routes/fact-history.js';
import { guards } from '../http/routes/reads-guards.js';
import { InputError, keysetPage, pageContext, queryString, timeChoice, type PageContext } from './context.js';
import { ErrorPage } from './pages/error.js';
import { renderPage } from './layout.js';
import { HomePage } from './pages/home.js';
import { OrganizationPage } from './pages/organization.js';
import { OfficePage, SUCCESSION_PAGE, TIMELINE_MAX } from './pages/office.js';
import type { HolderItem, Key, Page } from '../../projections/index.js';
import { PersonPage } from './pages/person.js';
import { SessionPage } from './pages/session.js';
import { DocumentPage } from './pages/document.js';
import { FactPage, type Resolve } from './pages/fact.js';
import { PAGE_OF } from './context.js';

export const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const HTML_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-cache',
};

/** A static file beside this module (run from source) or in the source tree (run from dist/, which holds compiled .ts only). */
function staticFile(name: string): Buffer {
  const candidates = [new URL(`./static/${name}`, import.meta.url), new URL(`../../../src/web/static/${name}`, import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the explorer's ${name} is missing: looked in ${candidates.join(', ')}`);
  return readFileSync(found);
}

class NotFound extends Error {}

/** The time controls of a request, or none when they do not parse (the error page shows the form empty). */
function timeChoiceOrNone(query: unknown): { validAt: string | null; knownAt: string | null } {
  try {
    return timeChoice((query ?? {}) as Record<string, unknown>);
  } catch {
    return { validAt: null, knownAt: null };
  }
}

/** API paths: always problem+json, whatever the client accepts. */
const API_PATH = /^\/(v1|metrics|healthz|readyz|openapi\.json|docs|static)(\/|$)/;

/**
 * An HTML error page for a request no route took (a 404, or a 405 on a page's path) when it
 * asks for a page: a browser (Accept naming text/html) on a path outside the API. Null
 * otherwise, and the caller answers problem+json. Takes the status, title and detail of the
 * problem the caller would have sent, so both say the same.
 */
export function htmlErrorFor(app: FastifyInstance) {
  return (req: FastifyRequest, reply: FastifyReply, problem: { status: number; title: string; detail: string }, headers: Record<string, string>): FastifyReply | null => {
    const path = req.url.split('?')[0] ?? '/';
    if (API_PATH.test(path) || !/text\/html/i.test(req.headers.accept ?? '')) return null;
    const ctx = pageContext(app.readModels.queries, path, { validAt: null, knownAt: null });
    return sendHtml(reply.headers(headers), problem.status, ErrorPage({ ctx, status: problem.status, title: problem.title, detail: problem.detail }));
  };
}

/** Each page's own query parameters (the time controls aside). */
const PARAMS: Record<string, readonly string[]> = {
  home: ['q', 'cursor'],
  organization: ['officesCursor', 'sessionsCursor', 'documentsCursor'],
  office: ['cursor'],
  person: ['cursor'],
  session: ['cursor'],
  document: [],
  fact: [],
};

/**
 * C0 controls (tab, line feed and carriage return aside: a pasted name may bring them) and DEL.
 * A search for `%00` had put a NUL into the page's title and form (a parse error in HTML).
 */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const visible = (v: string): string => v.replace(new RegExp(CONTROL.source, 'g'), '\ufffd');

/** A page's own parameter refused: a 400 page naming it, the time controls kept (as a second `q` was read as none, and the search silently dropped). */
function badParam(name: string, message: string): ProblemError {
  return new ProblemError('invalid-request', `${name} ${message}`, { errors: [{ path: name, message }] });
}

function sendHtml(reply: FastifyReply, status: number, page: VNode): FastifyReply {
  return reply.code(status).headers(HTML_HEADERS).type('text/html; charset=utf-8').send(renderPage(page));
}

/** A plugin, as the API's route files are: what it reads comes from the app's decorations (src/http/parts.ts). */
export async function webRoutes(app: FastifyInstance): Promise<void> {
  const g = guards(app);
  const css = staticFile('explorer.css');
  const icon = staticFile('icon.svg');
  const q = () => app.readModels.queries;

  await app.register(async (web) => {
    web.setErrorHandler((err, req, reply) => {
      const path = req.url.split('?')[0] ?? '/';
      // The time controls as asked, when they are not the error: a page not known at a past
      // knownAt says so under that moment (with the way to the record as it stands now), and
      // its links keep them.
      const ctx = pageContext(q(), path, err instanceof InputError ? { validAt: null, knownAt: null } : timeChoiceOrNone(req.query));
      if (err instanceof InputError) {
        // The form shows back what was typed, so "correct it in the form above" has something to correct.
        const query = (req.query ?? {}) as Record<string, unknown>;
        // A control character typed (%00) is shown as U+FFFD, in the form and in the detail: a NUL is a parse error in HTML.
        const typed = (name: string): string => visible(typeof query[name] === 'string' ? query[name] : Array.isArray(query[name]) ? String(query[name][0] ?? '') : '');
        const shown = { ...ctx, typed: { validAt: typed('validAt'), knownAt: typed('knownAt'), invalid: err.field } };
        return sendHtml(reply, 400, ErrorPage({ ctx: shown, status: 400, title: `The ${err.field === 'validAt' ? 'day' : 'moment'} is not one`, detail: visible(err.message) }));
      }
      if (err instanceof NotFound) return sendHtml(reply, 404, ErrorPage({ ctx, status: 404, title: 'Not in the record', detail: err.message }));
      const { problem, headers } = toProblem(err, req);
      return sendHtml(reply.headers(headers), problem.status, ErrorPage({ ctx, status: problem.status, title: problem.title, detail: problem.detail }));
    });

    web.get('/static/explorer.css', { schema: { hide: true } }, (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').send(css));
    web.get('/static/icon.svg', { schema: { hide: true } }, (_req, reply) => reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').header('x-content-type-options', 'nosniff').send(icon));

    /** A page route: time controls parsed (and made canonical), the page's own parameters kept, HTML sent. */
    const page = (kind: keyof typeof PARAMS, render: (ctx: PageContext, params: Record<string, string>) => VNode | Promise<VNode>) => async (req: FastifyRequest, reply: FastifyReply) => {
      const query = (req.query ?? {}) as Record<string, unknown>;
      const choice = timeChoice(query);
      const path = req.url.split('?')[0] ?? '/';
      const extra: Record<string, string> = {};
      for (const name of PARAMS[kind] ?? []) {
        const v = query[name];
        if (Array.isArray(v)) throw badParam(name, 'is given more than once: give it once');
        if (typeof v === 'string' && CONTROL.test(v)) throw badParam(name, 'holds a control character, which no name, key or cursor holds');
        if (typeof v === 'string' && v !== '') extra[name] = v;
      }
      if (!choice.canonical) return reply.redirect(`${path}${queryString({ ...extra, validAt: choice.validAt, knownAt: choice.knownAt })}`, 303);
      const ctx = pageContext(q(), path, choice, extra);
      return sendHtml(reply, 200, await render(ctx, extra));
    };
    const ref = (req: FastifyRequest, name: string): string => String((req.params as Record<string, unknown>)[name] ?? '');
    const missing = (kind: string, r: string, ctx: PageContext): never => {
      throw new NotFound(`No ${kind} “${r}” is known ${ctx.knownAt ? `as the record stood on ${ctx.knownAt}` : 'in the record'}.`);
    };
    const opts = { preHandler: g.read, schema: { hide: true } };

    web.get('/', opts, (req, reply) => page('home', (ctx, p) => HomePage({ ctx, text: p['q'] ?? '', cursor: p['cursor'] ?? null }))(req, reply));

    web.get('/organizations/:org', opts, (req, reply) =>
      page('organization', (ctx) => {
        const org = ctx.q.organization(ref(req, 'org'), ctx.k) ?? missing('organization', ref(req, 'org'), ctx);
        return OrganizationPage({ ctx, org });
      })(req, reply),
    );

    web.get('/offices/:office', opts, (req, reply) =>
      page('office', (ctx) => {
        const r = ref(req, 'office');
        const office = ctx.q.office(r, ctx.k) ?? missing('office', r, ctx);
        const page = keysetPage(ctx, 'cursor', SUCCESSION_PAGE, (p) => ctx.q.holders(office.id, ctx.k, p)?.page ?? null);
        // The timeline draws the whole succession (up to TIMELINE_MAX terms), read a keyset page at a time.
        const succession: HolderItem[] = [];
        for (let after: Key | null = null; succession.length < TIMELINE_MAX; ) {
          const p: Page<HolderItem> | undefined = ctx.q.holders(office.id, ctx.k, { after, limit: Math.min(500, TIMELINE_MAX - succession.length) })?.page;
          if (!p) break;
          succession.push(...p.items);
          if (!p.next) break;
          after = p.next;
        }
        // Who held it on the day: the point question, through the temporal index.
        const onDay = ctx.q.holder(office.id, ctx.day, ctx.k)?.holders ?? [];
        return OfficePage({ ctx, office, succession, page, onDay });
      })(req, reply),
    );

    web.get('/people/:person', opts, (req, reply) =>
      page('person', (ctx) => {
        const r = ref(req, 'person');
        const person = ctx.q.person(r, ctx.k) ?? missing('person', r, ctx);
        return PersonPage({ ctx, person, roles: person.roles, sessions: ctx.q.participation(person.id, ctx.k) ?? [] });
      })(req, reply),
    );

    web.get('/sessions/:session', opts, (req, reply) =>
      page('session', (ctx) => {
        const r = ref(req, 'session');
        return SessionPage({ ctx, session: ctx.q.session(r, ctx.k) ?? missing('session', r, ctx) });
      })(req, reply),
    );

    web.get('/documents/:document', opts, (req, reply) =>
      page('document', (ctx) => {
        const r = ref(req, 'document');
        return DocumentPage({ ctx, doc: ctx.q.document(r, ctx.k) ?? missing('document', r, ctx) });
      })(req, reply),
    );

    web.get('/facts/:factId', opts, (req, reply) =>
      page('fact', async (ctx) => {
        const r = ref(req, 'factId');
        const history = (await factHistory(app, r, ctx.k)) ?? missing('fact', r, ctx);
        const resolve: Resolve = (id) => {
          const row = ctx.q.q.byId(id, ctx.k);
          if (!row || !(row.kind in PAGE_OF)) return null;
          return { kind: row.kind as keyof typeof PAGE_OF, view: row.kind === 'office' ? { id: row.id, key: row.key, title: row.name } : { id: row.id, key: row.key, name: row.name } };
        };
        return FactPage({ ctx, history, resolve });
      })(req, reply),
    );
  });
}
