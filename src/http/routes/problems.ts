/**
 * `GET /problems/{code}`: the page a problem's `type` URI names (errors.ts makes every `type`
 * absolute on the service's own origin), describing the problem: its status, title, what it
 * means and what to do. HTML for a browser, JSON when asked for (`Accept: application/json`).
 * Open to anyone, like the OpenAPI document: it describes the API, not the record.
 */
import type { FastifyInstance } from 'fastify';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { z } from 'zod';
import { PROBLEMS, ProblemError, type ProblemCode } from '../errors.js';
import { typed } from './reads-common.js';

const CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]];

const ProblemType = z.object({ type: z.string(), status: z.int(), title: z.string(), description: z.string() });

function page(code: ProblemCode, type: string): string {
  const { status, title, about } = PROBLEMS[code];
  return `<!doctype html>${renderToString(
    h('html', { lang: 'en' }, [
      h('head', null, [h('meta', { charset: 'utf-8' }), h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }), h('title', null, `${title} — Annals`), h('link', { rel: 'stylesheet', href: '/static/explorer.css' })]),
      h('body', null, [
        h('main', { id: 'main' }, [
          h('h1', null, title),
          h('p', null, [`HTTP ${status}. An answer of this kind is `, h('code', null, 'application/problem+json'), ' with ', h('code', null, `"type": "${type}"`), '.']),
          h('p', null, about),
          h('p', null, ['Every problem carries a ', h('code', null, 'detail'), ' saying what went wrong in that request, and a ', h('code', null, 'requestId'), ' found in the service\'s log lines. ', h('a', { href: '/docs' }, 'The API reference'), '.']),
        ]),
      ]),
    ]),
  )}`;
}

export async function problemRoutes(app: FastifyInstance): Promise<void> {
  typed(app).get(
    '/problems/:code',
    {
      schema: {
        operationId: 'describeProblem',
        tags: ['docs'],
        security: [{}],
        summary: "The page a problem's type URI names: what the problem means and what to do",
        params: z.strictObject({ code: z.string().min(1).max(100).describe('The last segment of a problem type, e.g. not-found') }),
        response: { 200: { description: 'The problem described: JSON with Accept: application/json, otherwise an HTML page', content: { 'application/json': { schema: ProblemType }, 'text/html': { schema: z.string() } } } },
      },
    },
    async (req, reply) => {
      const code = CODES.find((c) => c === req.params.code);
      if (!code) throw new ProblemError('not-found', `no problem type ${JSON.stringify(req.params.code)}; the types are ${CODES.join(', ')}`);
      const type = `${req.protocol}://${req.host}/problems/${code}`;
      reply.header('cache-control', 'public, max-age=3600');
      if (/\bapplication\/(problem\+)?json\b/.test(req.headers.accept ?? '')) return { type, status: PROBLEMS[code].status, title: PROBLEMS[code].title, description: PROBLEMS[code].about };
      return reply.type('text/html; charset=utf-8').send(page(code, type));
    },
  );
}
