/**
 * `GET /metrics` (admin token): Prometheus text format (app.metrics, src/metrics/), on
 * the service's own port, so one listener, one proxy and the credentials already kept serve
 * it too; a Prometheus job scrapes it with `authorization: { credentials_file: … }`. Never
 * shed or rate-limited. Also times every answer by route pattern, method and status (but the
 * warm-up's own, warm-up.ts).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { requireRole } from '../auth.js';
import { text } from '../answers.js';
import { isWarmUp } from '../warm-up.js';

/** Not encapsulated (fastify-plugin): its onResponse hook times every route's answers, not its own. */
export const metricsRoutes = fp(metricsRoute, { name: 'annals-metrics', fastify: '5.x' });

async function metricsRoute(app: FastifyInstance): Promise<void> {
  const { metrics } = app;
  app.addHook('onResponse', (request, reply, done) => {
    // The warm-up's own requests (warm-up.ts) are not clients': not timed here.
    if (!isWarmUp(request)) metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.get(
    '/metrics',
    {
      onRequest: requireRole('admin'),
      schema: {
        operationId: 'getMetrics',
        response: { 200: text('text/plain', 'Prometheus text format 0.0.4') },
        tags: ['admin'],
        summary: 'Metrics in Prometheus text format (admin token)',
        description:
          'Request durations by route and status, facts recorded by type, append and commit latency, group sizes, read-model and audit lag (events and seconds), parked events, worker restarts, shed and rate-limited requests, and the process metrics (event-loop delay, heap, CPU). Never shed or rate-limited.',
        security: [{ bearer: [] }],
      },
    },
    async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  );
}
