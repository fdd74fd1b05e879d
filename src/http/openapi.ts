/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas, at `/openapi.json`, and a
 * browsable reference at `/docs`. Register before the routes, so every route is seen.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Annals',
        description:
          'Event-sourced institutional memory: every fact an immutable event, read at any point on two time axes (validAt, knownAt). Every error is application/problem+json (RFC 9457). The same record as web pages for people: [the explorer](/).\n\n' +
          'Lists page by default: at most `limit` items (default 50, at most 500), `nextCursor` and a `Link: <…>; rel="next"` header while more remain; a cursor is bound to its query and pins the knownAt of the first page; an altered or foreign cursor is a 400 naming `cursor`. Views with lists that can grow without bound hold their first page and link the rest in `more`.\n\n' +
          'Caching: every read answers with an ETag, and If-None-Match with 304. A read with a knownAt earlier than the recording time of the last event applied (and validAt given where it defaults to today) is immutable: strong ETag and `Cache-Control: public, max-age=31536000, immutable` (`private` when reads need a token). Other reads: a weak ETag from the log position and `Cache-Control: no-cache`. Answers over 1 KiB are compressed (br, gzip, deflate) when the client accepts it; CORS as ANNALS_CORS_ORIGINS allows.\n\n' +
          'CSV: the succession of an office, documents, sessions and a session\'s attendees answer text/csv too (Accept: text/csv, or format=csv): one page, the same as the JSON\'s, with the next page in the `Link: <…>; rel="next"` header (no nextCursor in the body); `Vary: accept`.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'ANNALS_TOKENS role:token pairs' } } },
      tags: [{ name: 'facts', description: 'Recording facts (recorder token)' }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
