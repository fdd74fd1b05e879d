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
          'Event-sourced institutional memory: every fact an immutable event, read at any point on two time axes (validAt, knownAt). Every error is application/problem+json (RFC 9457). The same record as web pages for people: [the explorer](/).',
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
