/**
 * The Fastify application: compilers, error mapping, OpenAPI and every route. Built the same
 * way by the server and by tests (with `inject`); it owns no process concerns (listening,
 * signals, logger options live in src/server.ts).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Runtime } from '../runtime.js';
import { registerErrorHandling, sendProblem, toProblem } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { auditTreeRoutes } from './routes/audit-tree.js';
import { factRoutes } from './routes/facts.js';
import { healthRoutes } from './routes/health.js';
import { readRoutes } from './routes/reads.js';
import { popoloRoutes } from './routes/popolo.js';
import { registerWire } from './wire.js';
import { guards } from './routes/reads-guards.js';
import { webRoutes } from '../web/index.js';

export async function buildApp(runtime: Runtime, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: runtime.config.bodyLimit,
    requestTimeout: runtime.config.requestTimeoutMs,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Entity references in paths may be up to 200 characters (an unknown one is a 404).
    routerOptions: { maxParamLength: 500 },
    // Errors the router raises before any route runs (a bad URL, an over-long parameter) are
    // problem+json too.
    frameworkErrors: (err, request, reply) => {
      const { problem: p, headers } = toProblem(err, request);
      return sendProblem(reply, p, headers);
    },
    ...options,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  await registerWire(app, runtime.config);
  await registerOpenApi(app);
  await healthRoutes(app, runtime);
  await factRoutes(app, runtime);
  await readRoutes(app, runtime);
  await webRoutes(app, runtime, guards(runtime));
  await popoloRoutes(app, runtime);
  await auditRoutes(app, runtime);
  await auditTreeRoutes(app, runtime);
  await adminRoutes(app, runtime);
  await app.ready();
  return app;
}
