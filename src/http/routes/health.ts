/** Liveness and readiness: /healthz answers while the process is up, /readyz once read models caught up. */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { problem, sendProblem } from '../errors.js';

export async function healthRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const readiness = runtime.readModels.readiness();
    if (readiness.ready) return { status: 'ready', ...readiness };
    return sendProblem(reply.header('retry-after', '1'), problem('unavailable', 'read models are catching up with the log; retry shortly', { readiness }));
  });
}
