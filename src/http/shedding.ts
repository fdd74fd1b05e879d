/**
 * Load is shed, not queued. Before a request is authenticated, parsed or served:
 *
 * 1. while the server closes, every request is a 503 problem (Connection: close);
 * 2. per-client limits (@fastify/rate-limit, fixed one-minute windows, by client address):
 *    requests without a credential (ANNALS_RATE_LIMIT_ANONYMOUS) and requests with a
 *    credential that is not valid (ANNALS_RATE_LIMIT_FAILED_AUTH, which makes guessing
 *    tokens slow) are 429 past the limit, with Retry-After;
 * 3. event-loop pressure (@fastify/under-pressure, sampled every 100 ms): while the loop's
 *    mean delay is over ANNALS_SHED_EVENT_LOOP_DELAY_MS (or its utilization over
 *    ANNALS_SHED_EVENT_LOOP_UTILIZATION), requests are 503 with Retry-After;
 * 4. a budget per turn of the event loop: once a turn has run ANNALS_READ_TURN_BUDGET_MS
 *    since its first request, the reads still arriving in it are 503 at once. Node serves
 *    every request that is ready in one turn before it looks at the others (a /healthz
 *    included), so 200 heavy reads ready together would otherwise each wait for all the
 *    others; the budget bounds that wait to about the budget plus one read, whatever the
 *    reads cost (a count of reads in flight cannot: cheap ones are harmless by the
 *    hundred, heavy ones harmful by the handful).
 *
 * Never shed or limited: /healthz and /readyz (they must say whether the process lives, not
 * how busy it is), /metrics (admin-only: the view of an overload is wanted during one), the
 * explorer's stylesheet and icon (UNSHED_ROUTES), and
 * writes with a valid credential. Recorders are few and authenticated, their facts are the
 * record (a refused write is a person's work to redo; a refused read is retried), and a
 * write costs the event loop little (the store's writer, the read models and the audit tree
 * work on their own threads). Requests with a valid credential are not limited per client.
 * Nor the warm-up's own requests before /readyz (warm-up.ts): they are not a client's.
 */
import underPressure from '@fastify/under-pressure';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import { stackless } from '../../projections/read-pool.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.js';
import { credentialOf } from './auth.js';
import { ProblemError } from './errors.js';
import { isWarmUp } from './warm-up.js';

/**
 * Routes never shed nor limited. The explorer's stylesheet and icon too: bytes held in memory,
 * cheaper to send than a refusal, asked for by a browser right after the page it already got;
 * shed or counted against the anonymous limit, that page showed unstyled (the refusal, an
 * HTML page, is no stylesheet) and each page view spent two of a reader's requests.
 */
export const UNSHED_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/static/explorer.css', '/static/icon.svg']);
const READS = new Set(['GET', 'HEAD']);
const RETRY_AFTER = { 'retry-after': '1' };

/**
 * A refusal made while overloaded, without a stack trace: capturing one is a good part of
 * what a 503 costs the event loop (profiled under 200 heavy readers: the errors' constructors
 * ~15% of the refusals' time), and a shed request's stack says nothing anyone reads.
 */
export function shedProblem(detail: string, headers: Record<string, string> = RETRY_AFTER): ProblemError {
  return stackless(() => new ProblemError('unavailable', detail, {}, headers));
}


/** Whether a request goes through whatever the load (see the header). */
export function isPriority(runtime: Runtime, request: FastifyRequest): boolean {
  if (UNSHED_ROUTES.has(request.routeOptions.url ?? '')) return true;
  return (!READS.has(request.method) && credentialOf(runtime, request).kind === 'valid') || isWarmUp(request);
}

export async function registerShedding(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const { config, metrics } = runtime;

  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Callback hooks here and below: an async one costs every request a promise and a turn of the microtask queue.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    metrics.shed('closing');
    reply.header('connection', 'close');
    done(new ProblemError('unavailable', 'the service is shutting down; retry shortly (on another replica, or here once it is back)', {}, { 'retry-after': '5' }));
  });
  // Answers still in flight close their connection, so a keep-alive client does not hold the close open.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  if (config.rateLimitAnonymous > 0 || config.rateLimitFailedAuth > 0) {
    await app.register(rateLimit, { global: false });
    const failedAuth = (request: FastifyRequest): boolean => credentialOf(runtime, request).kind === 'invalid';
    const limitOf = (request: FastifyRequest): number => (failedAuth(request) ? config.rateLimitFailedAuth : config.rateLimitAnonymous);
    // The route last: `request.routeOptions` builds (and freezes) an object at each read.
    const allowed = (request: FastifyRequest): boolean => credentialOf(runtime, request).kind === 'valid' || limitOf(request) === 0 || UNSHED_ROUTES.has(request.routeOptions.url ?? '') || isWarmUp(request);
    const limit = app.rateLimit({
      timeWindow: 60_000,
      keyGenerator: (request) => `${failedAuth(request) ? 'failed-auth' : 'anonymous'}|${normalizeIP(request.ip)}`,
      allowList: (request) => allowed(request),
      max: (request) => limitOf(request),
      onExceeded: (request) => metrics.rateLimited(failedAuth(request) ? 'failed-auth' : 'anonymous'),
      errorResponseBuilder: (request, context) => {
        const retry = { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) };
        // A flood from one client is answered by these: made without a stack trace, as the 503s are.
        return stackless(() =>
          failedAuth(request)
            ? new ProblemError('too-many-requests', `more than ${context.max} requests a minute with a token that is not valid came from this client; retry in ${context.after} with a valid token`, {}, retry)
            : new ProblemError('too-many-requests', `more than ${context.max} requests a minute without a credential came from this client; retry in ${context.after}, or send a token`, {}, retry),
        );
      },
    }) as (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    // Whatever the allow list lets through is known here, before the plugin's key (an IPv6
    // pattern a request), allow list and store run with their three promises: a recorder's
    // write, /healthz, and every request of a kind whose limit is 0 (anonymous reads where
    // ANNALS_RATE_LIMIT_ANONYMOUS=0) cost one look at the credential. The plugin answers
    // those without a header, so the answers are the same.
    app.addHook('onRequest', (request, reply, done) => {
      if (allowed(request)) return done();
      limit(request, reply).then(() => done(), done);
    });
  }

  if (config.shedEventLoopDelayMs > 0 || config.shedEventLoopUtilization > 0) {
    await app.register(underPressure, {
      sampleInterval: 100,
      maxEventLoopDelay: config.shedEventLoopDelayMs,
      maxEventLoopUtilization: config.shedEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      pressureHandler: async (request, reply, type, value) => {
        if (isPriority(runtime, request)) return;
        metrics.shed(type === 'eventLoopUtilization' ? 'event-loop-utilization' : 'event-loop-delay');
        const measured = type === 'eventLoopUtilization' ? `${Math.round((value ?? 0) * 100)}% busy` : `${Math.round(value ?? 0)} ms behind`;
        reply.headers(RETRY_AFTER);
        throw shedProblem(`the service is overloaded (its event loop is ${measured}); retry in a second`);
      },
    });
  }

  if (config.readTurnBudgetMs > 0) {
    let turnStart: number | null = null;
    const endTurn = (): void => {
      turnStart = null;
    };
    app.addHook('onRequest', (request, _reply, done) => {
      const now = performance.now();
      if (turnStart === null) {
        // Immediates run once the turn has served what was ready: the next turn starts afresh.
        turnStart = now;
        setImmediate(endTurn);
        return done();
      }
      const spent = now - turnStart;
      if (spent <= config.readTurnBudgetMs || !READS.has(request.method) || isPriority(runtime, request)) return done();
      metrics.shed('read-budget');
      done(shedProblem(`the server spent ${Math.round(spent)} ms on other requests just now; retry in a second`));
    });
  }
}
