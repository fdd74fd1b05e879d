/**
 * The Fastify application: compilers, error mapping, OpenAPI and every route. Built the same
 * way by the server and by tests (with `inject`); it owns no process concerns (listening,
 * signals, logger options live in src/server.ts).
 *
 * What every request meets first, in order (onRequest): its id echoed (request-id.ts); a 503
 * while closing, per-client limits, load shedding (shedding.ts); then the route's credential
 * check (auth.ts hoists it here), before any body is read (body.ts: UTF-8 only) or query
 * validated.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, type RouteOptions } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { Runtime } from '../runtime.js';
import { RouteMethods } from './allow.js';
import { hoistAuthentication } from './auth.js';
import { refuseBadUrl, registerJsonParser } from './body.js';
import { clientErrorHandler } from './client-errors.js';
import { registerErrorHandling, sendProblem, toProblem, type HtmlError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { echoRequestId, REQUEST_ID_HEADER, requestIdOf } from './request-id.js';
import { adminRoutes } from './routes/admin.js';
import { auditRoutes } from './routes/audit.js';
import { auditTreeRoutes } from './routes/audit-tree.js';
import { factRoutes } from './routes/facts.js';
import { feedRoutes } from './routes/feed.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { readRoutes } from './routes/reads.js';
import { withFastQueries } from './routes/point-query.js';
import { popoloRoutes } from './routes/popolo.js';
import { problemRoutes } from './routes/problems.js';
import { registerWire } from './wire.js';
import { lazyChildLogger } from './lazy-logger.js';
import { registerShedding } from './shedding.js';
import { appParts } from './parts.js';
import { registerNdjsonParser } from './ndjson.js';
import { htmlErrorFor, webRoutes } from '../web/index.js';
import { isWarmUp, type AppWarmUpState } from './warm-up.js';

/**
 * Answers are sent as their handler built them. The routes' response schemas (answers.ts)
 * describe them for the OpenAPI document, and test/http-openapi.test.ts holds them to the
 * truth; serializing through them (zod's encode) would cost a parse per answer and could
 * drop or reorder a field that a schema forgot. Reads send JSON text already (reads-answer.ts).
 */
declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with its options (schema included), in the order added. */
    readonly routeTable: readonly RouteOptions[];
  }
}

const asBuilt = () => (data: unknown): string => JSON.stringify(data);

export async function buildApp(runtime: Runtime, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const routes = new RouteMethods();
  // The app's logger, once there is an app (the parser's errors come after it is built).
  let log: FastifyBaseLogger = runtime.log;
  // The explorer's error pages, once the app has its read models (web/index.ts).
  let html: HtmlError | undefined;
  const app = Fastify({
    bodyLimit: runtime.config.bodyLimit,
    requestTimeout: runtime.config.requestTimeoutMs,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // shedding.ts answers while closing, as problem+json.
    return503OnClosing: false,
    genReqId: requestIdOf,
    requestIdHeader: false,
    // The warm-up's own requests (warm-up.ts) are not clients': no request lines.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: isWarmUp }),
    // A request's logger is made when it logs (lazy-logger.ts).
    childLoggerFactory: lazyChildLogger,
    // Fastify takes a hop count too, though its types do not say so.
    trustProxy: runtime.config.trustProxy as boolean | string[],
    clientErrorHandler: clientErrorHandler(() => log),
    // Entity references in paths may be up to 200 characters (an unknown one is a 404).
    routerOptions: { maxParamLength: 500 },
    // Errors the router raises before any route runs (a bad URL, an over-long parameter) are
    // problem+json too.
    frameworkErrors: (err, request, reply) => {
      const { problem: p, headers } = toProblem(err, request);
      const all = { ...headers, [REQUEST_ID_HEADER]: String(request.id) };
      // A browser asking for a page's path (a link with a broken escape) gets a page, as the router's 404 does.
      return html?.(request, reply, p, all) ?? sendProblem(reply, p, all);
    },
    ...options,
  });
  log = app.log;
  // Connections past the cap are closed as they arrive (Node's maxConnections).
  app.server.maxConnections = runtime.config.maxConnections;
  app.addHook('onRoute', routes.add);
  app.decorate('routeTable', routes.table);
  // Started by src/server.ts once listening (warm-up.ts); 'none' in an app that is not warmed.
  app.decorate('warmUp', { current: { state: 'none', questions: 0, answered: 0, ms: 0 } satisfies AppWarmUpState as AppWarmUpState });
  app.addHook('onRoute', hoistAuthentication);
  // Point questions' and lists' queries (fastQuery) and entity paths are checked without zod when well formed (point-query.ts).
  app.setValidatorCompiler(withFastQueries(validatorCompiler));
  app.setSerializerCompiler(asBuilt);
  // What the routes need, decorated on the instance (parts.ts); every plugin below reads it there.
  await app.register(appParts, { runtime });
  html = htmlErrorFor(app);
  registerErrorHandling(app, routes, html);
  echoRequestId(app);
  await registerShedding(app, runtime);
  registerJsonParser(app);
  registerNdjsonParser(app);
  app.addHook('preValidation', refuseBadUrl);
  // After the shedding: a request refused there costs no compression or CORS work.
  await registerWire(app, runtime.config);
  await registerOpenApi(app, { privateReads: runtime.config.privateReads });
  // Each route file a plugin (encapsulated, but for metrics and the feed: see theirs), in the
  // order the OpenAPI document lists them.
  await app.register(metricsRoutes);
  await app.register(healthRoutes);
  await app.register(factRoutes);
  await app.register(readRoutes);
  await app.register(feedRoutes);
  await app.register(webRoutes);
  await app.register(popoloRoutes);
  await app.register(auditRoutes);
  await app.register(auditTreeRoutes);
  await app.register(adminRoutes);
  await app.register(problemRoutes);
  await app.ready();
  return app;
}
