/**
 * GET /v1/audit/events (auditor or admin): every event in the store, one JSON line each (with
 * the event `id`: every member of its audit leaf is on the line), in global order (after
 * `after`, a position, when given), streamed page by page (never buffered whole); with knownAt, only the events
 * recorded by then. Bookkeeping events appear under their own types. One page at a time, and
 * the event loop is let go between pages: exporting a million events never holds it for more
 * than a page (~1,000 events read and serialised), so other requests are answered meanwhile.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StoredEvent } from '../../store/port.js';
import { KnownAt } from './reads-common.js';
import { guards } from './reads-guards.js';
import { typed } from './reads-common.js';
import { text } from '../answers.js';
import { ProblemError } from '../errors.js';

const PAGE = 1000;
const After = z.string().min(1).max(100).optional().describe('Only the events after this position (a line\'s "position"): what is new since the last fetch');

export function auditLine(e: StoredEvent): string {
  const meta = e.metadata as { factId?: unknown };
  const data = e.data as { factId?: unknown } | null;
  const factId = typeof meta.factId === 'string' ? meta.factId : typeof data?.factId === 'string' ? data.factId : null;
  return `${JSON.stringify({ position: e.position, id: e.id, stream: e.stream, revision: e.revision, type: e.type, factId, recordedAt: e.recordedAt, data: e.data, metadata: e.metadata })}\n`;
}

async function* lines(app: FastifyInstance, knownAt: string | undefined, from: string | undefined): AsyncGenerator<string> {
  let after = from;
  for (;;) {
    const page = await app.store.readAll({ ...(after ? { after } : {}), limit: PAGE });
    if (page.length === 0) return;
    let chunk = '';
    for (const e of page) if (knownAt === undefined || e.recordedAt <= knownAt) chunk += auditLine(e);
    if (chunk) yield chunk;
    after = (page.at(-1) as StoredEvent).position;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export async function auditRoutes(app: FastifyInstance): Promise<void> {
  const g = guards(app);
  typed(app).get(
    '/v1/audit/events',
    { preHandler: g.staff, schema: { operationId: 'exportAuditEvents', response: { 200: text('application/x-ndjson', 'One event a line: { position, id, stream, revision, type, factId, recordedAt, data, metadata }') }, tags: ['audit'], security: [{ bearer: [] }], summary: 'The log as NDJSON, in global order (to knownAt when given)', querystring: z.object({ knownAt: KnownAt, after: After }) } },
    async (req, reply) => {
      const { after, knownAt } = req.query;
      // The lines stream lazily: a position the store cannot read from is refused before the 200.
      if (after !== undefined) {
        try {
          await app.store.readAll({ after, limit: 1 });
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          throw new ProblemError('invalid-request', `after: ${err.message}`, { errors: [{ path: 'after', message: `${err.message}; expected a position as the store gives it (a line's "position")` }] });
        }
      }
      // Not 16 pages read ahead (Readable.from's default): one, while the socket takes the last.
      const stream = Readable.from(lines(app, knownAt, after), { highWaterMark: 1 });
      return reply.type('application/x-ndjson').send(stream);
    },
  );
}
