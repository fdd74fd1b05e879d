/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas, at `/openapi.json`, and a
 * browsable reference at `/docs`. Register before the routes, so every route is seen.
 *
 * The routes' schemas declare their successes; the errors every route may meet at the edges
 * (a problem+json 400, 401/403 where a credential is asked, 413/415 where a body is read,
 * 429/503 with Retry-After wherever load is shed) are added to each operation here, once, so
 * the document says what the hooks of app.ts do without every route repeating it. So are a
 * read's 304 (If-None-Match) and the security of the reads: none, or a token of any role with
 * ANNALS_PRIVATE_READS (the document follows the configuration it is served by).
 *
 * test/http-openapi.test.ts lints the served document with Redocly's `recommended` rules and
 * compiles a client generated from it (openapi-typescript).
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { MAX_LISTED_ERRORS, PROBLEMS, type ProblemCode } from './errors.js';
import { UNSHED_ROUTES } from './shedding.js';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'requestId'],
  properties: {
    type: { type: 'string', format: 'uri', description: 'An absolute URI on this service: GET it for the page describing the problem', examples: ['http://127.0.0.1:3000/problems/invalid-request'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'what went wrong and what to do next' },
    requestId: { type: 'string', description: 'the same as the X-Request-Id header and the log lines' },
    errors: { type: 'array', description: `field problems (at most ${MAX_LISTED_ERRORS}; errorsOmitted counts the rest)`, items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    errorsOmitted: { type: 'integer' },
    allowed: { type: 'array', items: { type: 'string' }, description: 'with a 405: the methods the path answers (also in Allow)' },
  },
} as const;

const retryAfter = { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } };

/** Status → the problem answer documented for it (components.responses). */
const EDGE_RESPONSES: Record<string, { code: ProblemCode; description: string; headers?: object }> = {
  '400': { code: 'invalid-request', description: 'The query, path or body is not valid (each field named in errors), or a body is not well-formed UTF-8' },
  '401': { code: 'unauthorized', description: 'No valid bearer token (checked before the query or body is read)', headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
  '403': { code: 'forbidden', description: 'The token is of another role' },
  '404': { code: 'not-found', description: 'An entity named in the path, a filter or the body (an id or a key), or the fact a correction names, is not known (at knownAt, on a read)' },
  '409': { code: 'conflict', description: 'The fact breaks an invariant (collidesWith names the fact it collides with), another write won a race, or the factId was used with other content; for a rebuild: one is already running' },
  '413': { code: 'payload-too-large', description: 'The body is over ANNALS_BODY_LIMIT' },
  '415': { code: 'unsupported-media-type', description: 'Not application/json (or application/x-ndjson for a batch), or a charset other than UTF-8' },
  '429': { code: 'too-many-requests', description: 'Past a per-client limit (requests without a credential, or with one that is not valid)', headers: retryAfter },
  '503': { code: 'unavailable', description: 'Load shed (event-loop pressure, or the turn budget spent), the server closing, or the store unreachable', headers: retryAfter },
};

type Operation = { security?: unknown[]; requestBody?: unknown; responses?: Record<string, unknown>; tags?: string[] };

const NOT_MODIFIED = { description: 'Not modified: If-None-Match named the current ETag (no body)' };
/** Reads that answer without an ETag: a stream, and a fact's history (read from the log each time). */
const NO_ETAG = new Set(['/v1/feed', '/v1/facts/{factId}']);
const needsToken = (security: unknown[] | undefined): boolean => (security ?? []).some((s) => Object.keys(s as object).length > 0);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Adds the edge errors to every operation, keeping any answer a route documents itself. */
export function withEdgeResponses<T extends { paths?: Record<string, Record<string, unknown>>; components?: Record<string, unknown>; security?: unknown[] }>(doc: T): T {
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(EDGE_RESPONSES)) {
    responses[`Problem${status}`] = {
      description: `${PROBLEMS[r.code].title}: ${r.description}`,
      ...(r.headers ? { headers: r.headers } : {}),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  const components = (doc.components ?? {}) as Record<string, Record<string, unknown>>;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    const next: Record<string, unknown> = { ...item };
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const statuses = ['400'];
      if (needsToken(op.security ?? doc.security)) statuses.push('401', '403');
      // Reads and audit lookups name entities or positions; writes name references.
      if (op.tags?.some((tag) => tag === 'reads' || tag === 'audit' || tag === 'facts' || tag === 'docs')) statuses.push('404');
      if (method === 'post' && op.tags?.some((tag) => tag === 'facts' || tag === 'admin')) statuses.push('409');
      if (op.requestBody) statuses.push('413', '415');
      // OpenAPI paths are /x/{p}; the routes' are /x/:p.
      if (!UNSHED_ROUTES.has(path.replace(/\{([^}]+)\}/g, ':$1'))) statuses.push('429', '503');
      const added: Record<string, unknown> = Object.fromEntries(statuses.map((s) => [s, { $ref: `#/components/responses/Problem${s}` }]));
      // Every read answers If-None-Match (reads-answer.ts): a 304 without a body.
      if (method === 'get' && op.tags?.includes('reads') && !NO_ETAG.has(path)) added['304'] = NOT_MODIFIED;
      const own = { ...(op.responses ?? {}) };
      if (own['304']) own['304'] = NOT_MODIFIED;
      next[method] = { ...op, responses: { ...added, ...own } };
    }
    paths[path] = next;
  }
  return {
    ...doc,
    paths,
    components: { ...components, schemas: { ...(components['schemas'] ?? {}), Problem: problemSchema }, responses: { ...(components['responses'] ?? {}), ...responses } },
  };
}

export async function registerOpenApi(app: FastifyInstance, options: { privateReads: boolean }): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Annals',
        description:
          'Event-sourced institutional memory: every fact an immutable event, read at any point on two time axes (validAt, knownAt). Every error is application/problem+json (RFC 9457), with the requestId. Any request may be answered 429 (per-client limits: calls without a credential, or with a bad one) or 503 (load shed, or the server closing), each with Retry-After; writes with a valid credential are never shed. A method a path does not answer is 405 with Allow naming those it does. X-Request-Id (1-128 of A-Z a-z 0-9 -._~:@/+=) is honoured, otherwise one is made; every answer echoes it. GET /metrics (admin token) serves Prometheus text format. The same record as web pages for people: [the explorer](/).\n\n' +
          'Lists page by default: at most `limit` items (default 50, at most 500), `nextCursor` and a `Link: <…>; rel="next"` header while more remain; a cursor is bound to its query and pins the knownAt of the first page; an altered or foreign cursor is a 400 naming `cursor`. Views with lists that can grow without bound hold their first page and link the rest in `more`.\n\n' +
          'Caching: every read answers with an ETag, and If-None-Match with 304. A read with a knownAt earlier than the recording time of the last event applied (and validAt given where it defaults to today) is immutable: strong ETag and `Cache-Control: public, max-age=31536000, immutable` (`private` when reads need a token). Other reads: a weak ETag from the log position and `Cache-Control: no-cache`. Answers over 1 KiB are compressed (br, gzip, deflate) when the client accepts it; CORS as ANNALS_CORS_ORIGINS allows.\n\n' +
          'CSV: the succession of an office, documents, sessions and a session\'s attendees answer text/csv too (Accept: text/csv, or format=csv): one page, the same as the JSON\'s, with the next page in the `Link: <…>; rel="next"` header (no nextCursor in the body); `Vary: accept`.',
        version: '1',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'This service' }],
      // Reads: open, or (ANNALS_PRIVATE_READS) a token of any role; writes, audit and admin say their own.
      security: options.privateReads ? [{ bearer: [] }] : [{}],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ANNALS_TOKENS role:token pairs' } } },
      tags: [
        { name: 'facts', description: 'Recording facts (recorder token)' },
        { name: 'reads', description: 'The record on two time axes (validAt, knownAt): open to anyone, or to any token with ANNALS_PRIVATE_READS' },
        { name: 'audit', description: 'The tamper-evident log: the events, signed tree heads, proofs, verify (auditor or admin token)' },
        { name: 'docs', description: 'What the answers mean: the page of each problem type' },
        { name: 'admin', description: 'Operating the service (admin token; /metrics in Prometheus text format)' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (d) => withEdgeResponses(('openapiObject' in d ? d.openapiObject : d.swaggerObject) as Parameters<typeof withEdgeResponses>[0]) as never,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
