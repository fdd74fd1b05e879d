/**
 * `GET /v1/feed` (API.md, "Lists, caching and following"): Server-Sent Events, one event per
 * recorded fact (corrections and retractions included, bookkeeping such as key reservations
 * left out), `id:` its store position. `Last-Event-ID` (or `?after=`) resumes after a
 * position; without either the stream starts at the log's head; `after=0` from its start.
 * The engine (one subscription fanned out, catch-up, the buffer bound) is feed-hub.ts.
 *
 * Off Fastify's reply path on purpose (`reply.hijack()`): no onSend hook runs, so
 * @fastify/compress (wire.ts) never buffers the stream, and the load shedding of shedding.ts,
 * which judges a request once as it arrives, cannot cut a stream already served.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FACT_TYPES, isFactType } from '../../../events/index.js';
import type { Position } from '../../store/port.js';
import { ProblemError } from '../errors.js';
import { FeedHub, type FeedFilter } from './feed-hub.js';
import { OrganizationFilter } from './feed-organization.js';
import { LooseRef, currentKnownAt, found } from './reads-common.js';
import { guards } from './reads-guards.js';

/** Up to 20 digits (the embedded store, left-padded to its width) or EventStoreDB's `<20 digits>-<20 digits>`. */
const POSITION = /^(?:\d{1,20}|\d{20}-\d{20})$/;
const POSITION_MESSAGE = 'expected a position from this feed (an event id): up to 20 digits, or 20 digits-20 digits (EventStoreDB); 0 for the start of the log';

/** A position as the store spells it (null: the start of the log). */
function positionOf(v: string): Position | null {
  if (/^0+$/.test(v)) return null;
  return /^\d{1,20}$/.test(v) ? v.padStart(20, '0') : v;
}

const Types = z
  .string()
  .transform((raw, ctx) => {
    const types = raw.split(',').map((t) => t.trim()).filter(Boolean);
    const unknown = types.filter((t) => !isFactType(t));
    if (types.length === 0) ctx.addIssue({ code: 'custom', message: `expected one or more fact types separated by commas: ${FACT_TYPES.join(', ')}` });
    for (const t of unknown) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(t)} is not a fact type; expected some of ${FACT_TYPES.join(', ')}` });
    return new Set(types);
  })
  .optional()
  .describe('Only facts of these types, separated by commas (e.g. `FactCorrected,FactRetracted`)');

const FeedQuery = z.object({
  after: z.string().regex(POSITION, { message: POSITION_MESSAGE }).optional().describe('Start after this position (an event id); `0`: from the start of the log. `Last-Event-ID` wins when both are sent'),
  types: Types,
  organization: LooseRef.optional().describe(
    'Only facts about this organization (id, or key known now; 404 if unknown; a stream from a position, Last-Event-ID or after=, also takes one retracted since, so a follower gets its retraction), its bodies (parent chain), their offices, sessions and documents: facts that create one of them or name one, and the corrections and retractions of such facts. Decided at each fact\'s place in the log, so a resumed stream continues exactly. With `types`, both apply',
  ),
});

const DESCRIPTION = [
  'Server-Sent Events: each fact recorded (corrections and retractions included), as one `data:` line of JSON',
  '(`factId`, `type`, `position`, `recordedAt`, `stream`, `revision`, `data`, `source`, `recordedBy`), its `id:` the store position.',
  'Filter with `types=` and `organization=`.',
  'Resume with `Last-Event-ID` (EventSource sends it when it reconnects) or `?after=`: nothing missed, nothing repeated,',
  'across restarts. Without either the stream starts at the head of the log. A comment line comes every',
  '`ANNALS_FEED_HEARTBEAT_MS`. A client that does not read is cut off once `ANNALS_FEED_BUFFER_BYTES` wait for it:',
  'a last `event: cutoff` (data `{ reason, resumeAfter }`) says where to resume. The stream is never compressed.',
].join(' ');

/** How long an organization= stream waits for the read models to reach a position before it ends (its client resumes). */
const READ_MODELS_WAIT_MS = 30_000;

/** The hub of each app (tests read its figures). */
const hubs = new WeakMap<FastifyInstance, FeedHub>();
export const feedHubOf = (app: FastifyInstance): FeedHub | undefined => hubs.get(app);

function resumeFrom(request: FastifyRequest, after: string | undefined): Position | null | 'now' {
  const header = request.headers['last-event-id'];
  const last = Array.isArray(header) ? header[0] : header;
  if (last !== undefined && last.trim() !== '') {
    const v = last.trim();
    if (!POSITION.test(v)) throw new ProblemError('invalid-request', `Last-Event-ID: ${POSITION_MESSAGE}`, { errors: [{ path: 'Last-Event-ID', message: POSITION_MESSAGE }] });
    return positionOf(v);
  }
  return after === undefined ? 'now' : positionOf(after);
}

/**
 * Not encapsulated (fastify-plugin): the hub belongs to the app (feedHubOf(app)), and its
 * streams end when the app closes.
 */
export const feedRoutes = fp(feed, { name: 'annals-feed', fastify: '5.x' });

async function feed(app: FastifyInstance): Promise<void> {
  const g = guards(app);
  const { config, store, log } = app;
  const typeOf = (factId: string) => {
    const t = app.readModels.queries.fact(factId, currentKnownAt(app.readModels.queries))?.fact.type;
    return t !== undefined && isFactType(t) ? t : undefined;
  };
  const hub = new FeedHub({ store, log, heartbeatMs: config.feedHeartbeatMs, bufferBytes: config.feedBufferBytes, typeOf });
  hubs.set(app, hub);
  // Before the server waits for its connections: the streams end, their clients reconnect.
  app.addHook('preClose', async () => hub.close());

  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/feed',
    {
      preHandler: g.read,
      // The answer is written to the socket (hijacked), never serialised; the 200 below is for the OpenAPI document only.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        operationId: 'followFeed',
        tags: ['reads'],
        summary: 'Every fact as it is recorded (Server-Sent Events), resumable',
        description: DESCRIPTION,
        querystring: FeedQuery,
        headers: z.object({ 'last-event-id': z.string().optional().describe('The id of the last event received: resume after it') }),
        response: {
          200: {
            description: 'The stream: per fact `id: <position>` and `data: <the fact as JSON>`; `: …` heartbeats; a last `event: cutoff` when the client fell too far behind',
            content: { 'text/event-stream': { schema: z.string() } },
          },
        },
      },
    },
    async (request, reply) => {
      const after = resumeFrom(request, request.query.after);
      const { types, organization } = request.query;
      const now = currentKnownAt(app.readModels.queries);
      // A stream that reads the log from a position (Last-Event-ID, after=: a resumption, or a
      // catch-up from the start) goes on with an organization the record no longer holds (its
      // registration retracted since): what follows that position, its retraction included, is
      // what the client must still get. A stream from now on needs one known now.
      const q = app.readModels.queries.q;
      const org = organization === undefined ? null : found(q.ref('organization', organization, now) ?? (after === 'now' ? null : q.everRef('organization', organization, now)), 'organization', organization, now);
      const filter = filterOf(types, org === null ? null : new OrganizationFilter(org.id, { store, readModels: app.readModels, waitMs: Math.max(config.readWaitMs, READ_MODELS_WAIT_MS) }));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Proxies such as nginx would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      });
      res.socket?.setNoDelay(true);
      // The first bytes: the client knows the stream is open, and how soon to reconnect.
      res.write('retry: 1000\n\n');
      await hub.serve(res, after, filter);
    },
  );
}

/** Both filters; the organization's sees every fact (its scope grows with the facts that types= leaves out). */
function filterOf(types: ReadonlySet<string> | undefined, org: OrganizationFilter | null): FeedFilter | null {
  if (org === null) return types === undefined ? null : (e) => types.has(e.type);
  if (types === undefined) return (e) => org.wants(e);
  return (e) => {
    const about = org.wants(e);
    return about instanceof Promise ? about.then((w) => w && types.has(e.type)) : about && types.has(e.type);
  };
}
