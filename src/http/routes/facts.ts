/**
 * The write side over HTTP (API.md, "Recording a fact"): `POST /v1/facts` and
 * `POST /v1/facts/batch` (a JSON array or application/x-ndjson, up to 10,000 facts, stopping
 * at the first refused one). Recorder tokens only. The answer is sent once this process's read
 * models have applied the facts (the recorder waits for them). Its NDJSON body parser is the
 * app's (body.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FACT_TYPES } from '../../../events/index.js';
import { FactRequest, factRequestAsIs, type RecordContext } from '../../record/index.js';
import { requireRole } from '../auth.js';
import { originOf, toProblem, withTypeUri } from '../errors.js';
import { takenAsIs } from './point-query.js';

export const MAX_BATCH = 10_000;

/**
 * The body /docs offers to send (its "Try it out" fills it in): a fact any store accepts, with a
 * factId, so that sending it again answers 200 with the original result (test/http-openapi.test.ts).
 */
export const EXAMPLE_FACT = {
  type: 'OrganizationRegistered',
  factId: '01KB19R500D0CSEXAMP1E00001',
  data: { key: 'example-organization', name: 'Example Organization', classification: 'international organization' },
  source: { title: 'An example source', publisher: 'Annals', url: 'https://example.org/press-release', publishedOn: '2025-11-27', quote: 'The Example Organization was founded.' },
} as const;

const Recorded = z.object({
  factId: z.string(),
  id: z.string().optional().describe('The entity the fact created (registrations, SessionHeld, DocumentConsidered, DocumentAdopted)'),
  type: z.enum(FACT_TYPES as [string, ...string[]]),
  stream: z.string(),
  revision: z.int(),
  position: z.string(),
  recordedAt: z.string(),
});

const BatchResult = z.object({ factId: z.string(), stream: z.string(), revision: z.int(), position: z.string() });

const BatchAnswer = z.object({
  recorded: z.int().describe('How many facts of the batch, from the first, are recorded (retried ones included): `results` holds them in order, and `error.index` is this count'),
  results: z.array(BatchResult),
  error: z
    .looseObject({ index: z.int(), type: z.string(), title: z.string(), status: z.int(), detail: z.string() })
    .optional()
    .describe('The first refused fact, or the first not stored after a store fault: its problem+json, with its index in the batch'),
  alsoRecorded: z
    .array(BatchResult.extend({ index: z.int() }))
    .optional()
    .describe('Facts after `error.index` recorded all the same, each with its index in the batch (only after a store fault on EventStoreDB, whose waves of appends are not one transaction): do not send them again without these factIds'),
});

const IDEMPOTENCY_KEY_MAX = 200;

/**
 * Headers zod would give back as they are (a copy with the same members): no Idempotency-Key,
 * or one of 1 to 200 characters, as the schema below says. Anything else is zod's to refuse.
 * zod's copy of every header a write (its loose object walks them all) was ~1–2% of a single
 * fact's event loop (s40-wf's profile).
 */
function headersAsIs(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  const key = (data as Record<string, unknown>)['idempotency-key'];
  return key === undefined || (typeof key === 'string' && key.length >= 1 && key.length <= IDEMPOTENCY_KEY_MAX);
}

const Headers = takenAsIs(
  z.looseObject({
    'idempotency-key': z.string().min(1).max(IDEMPOTENCY_KEY_MAX).optional().describe('Without a factId: a retry with the same key records nothing new'),
  }),
  headersAsIs,
);

function contextOf(request: FastifyRequest, idempotencyKey: string | undefined): RecordContext {
  const principal = request.principal;
  /* c8 ignore next -- requireRole ran first: there is always a principal here */
  if (!principal) throw new Error('no principal on an authenticated route');
  return { principal: principal.id, correlationId: String(request.id), ...(idempotencyKey ? { idempotencyKey } : {}) };
}

export async function factRoutes(app: FastifyInstance): Promise<void> {
  const { recorder, config } = app;
  const recorderOnly = requireRole('recorder');
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/v1/facts',
    {
      // Authenticate before the body is read or validated: 401/403 before 400.
      onRequest: recorderOnly,
      schema: {
        operationId: 'recordFact',
        summary: 'Record one fact',
        description: 'Answers 201 with the recorded fact, or 200 with the original result when the factId (or Idempotency-Key) was already recorded.',
        tags: ['facts'],
        security: [{ bearer: [] }],
        headers: Headers,
        // A body zod would give back unchanged is taken as it is (request-fast.ts); any other is zod's to parse or refuse.
        body: takenAsIs(FactRequest.meta({ examples: [EXAMPLE_FACT] }), factRequestAsIs),
        response: { 200: Recorded, 201: Recorded },
      },
    },
    async (request, reply) => {
      const { factId, id, type, stream, revision, position, recordedAt, created } = await recorder.record(request.body, contextOf(request, request.headers['idempotency-key']));
      // In the order API.md lists them.
      return reply.code(created ? 201 : 200).send({ factId, ...(id === undefined ? {} : { id }), type, stream, revision, position, recordedAt });
    },
  );

  r.post(
    '/v1/facts/batch',
    {
      onRequest: recorderOnly,
      bodyLimit: config.batchBodyLimit,
      schema: {
        operationId: 'recordFacts',
        summary: 'Record up to 10,000 facts in order',
        description:
          'A JSON array or application/x-ndjson (one fact a line). A body that is not well-formed (a line that is not JSON, e.g. a body cut off mid-line) is a 400 naming the line, and nothing is recorded. Each fact is decided against the state the ones before it leave; the batch stops at the first refused fact and answers 200 with what was recorded and that fact\'s problem+json, with its index. A store fault after part of the batch was stored is answered the same way: the stored facts, and the store\'s problem (status 503 or 500) at the index of the first fact not stored. Facts after that index that were stored all the same (EventStoreDB, which has no multi-stream transaction) are listed in `alsoRecorded`, each with its index and factId. A retry with the same factIds records nothing twice.',
        tags: ['facts'],
        security: [{ bearer: [] }],
        headers: Headers,
        body: z
          .array(z.unknown())
          .min(1, { message: 'a batch holds at least one fact' })
          .max(MAX_BATCH, { message: `a batch holds up to ${MAX_BATCH} facts; split it` }),
        response: { 200: BatchAnswer },
      },
    },
    async (request, reply) => {
      // The body is well-formed by now (every line or element parsed): a malformed one was a 400.
      const outcome = await recorder.recordBatch(request.body, contextOf(request, request.headers['idempotency-key']));
      const error = outcome.error;
      const results = outcome.results.map(({ factId, stream, revision, position }) => ({ factId, stream, revision, position }));
      if (!error) return { recorded: outcome.recorded, results };
      // A store fault after part of the batch was stored (recorder.ts, storeFault) is answered here, with
      // its problem's status (503, 500) at its index and its Retry-After: the stored facts are never hidden behind a 5xx.
      const { problem, headers } = toProblem(error.error, request);
      void reply.headers(headers);
      const answer = { recorded: outcome.recorded, results, error: { index: error.index, ...withTypeUri(problem, originOf(request)) } };
      if (!outcome.alsoRecorded) return answer;
      return { ...answer, alsoRecorded: outcome.alsoRecorded.map(({ index, factId, stream, revision, position }) => ({ index, factId, stream, revision, position })) };
    },
  );
}
