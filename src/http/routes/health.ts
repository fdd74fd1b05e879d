/**
 * Liveness and readiness: /healthz answers while the process is up; /readyz answers 200 once
 * the read models and the audit tree are both following the log closely and a read worker is
 * ready (when there are any) and the event loop's warm-up has ended (when it was started,
 * src/http/warm-up.ts), and 503 with Retry-After naming what is not
 * (src/integrity/readiness.ts) otherwise.
 */
import type { FastifyInstance } from 'fastify';
import { serviceReadiness } from '../../integrity/readiness.js';
import { problem, sendProblem } from '../errors.js';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const readiness = await serviceReadiness(app, app.readPool, app.warmUp.current);
    if (readiness.ready) return { status: 'ready', ...readiness };
    const problems = [...readiness.readModels.problems, ...readiness.audit.problems, ...readiness.readWorkers.problems, ...readiness.warmUp.problems];
    return sendProblem(reply.header('retry-after', '1'), problem('unavailable', problems.join('; '), { readiness }));
  });
}
