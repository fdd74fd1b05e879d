/**
 * Admin (auditor or admin token): projection status with lag and parked events, and a
 * rebuild of every read model from the log into a fresh file, swapped in when done. A close
 * (the service told to stop) stops a rebuild in flight first, at its next batch: Fastify's
 * close waits for the requests in flight, and a rebuild's lasts minutes on a large record.
 */
import type { FastifyInstance } from 'fastify';
import { ProjectionsAnswer, RebuildAnswer } from '../answers.js';
import { typed } from './reads-common.js';
import { guards } from './reads-guards.js';

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const g = guards(app);
  const r = typed(app);
  // preClose: before the close waits for the requests in flight, the rebuild's among them (answered 503, RebuildStoppedError).
  const stopping = new AbortController();
  app.addHook('preClose', (done) => {
    stopping.abort();
    done();
  });
  r.get('/v1/admin/projections', { preHandler: g.staff, schema: { operationId: 'getProjections', response: { 200: ProjectionsAnswer }, tags: ['admin'], security: [{ bearer: [] }], summary: 'Read models: checkpoint, head, lag (events and seconds), parked events' } }, async () => app.readModels.status());

  r.post('/v1/admin/rebuild', { preHandler: g.staff, schema: { operationId: 'rebuildReadModels', response: { 200: RebuildAnswer }, tags: ['admin'], security: [{ bearer: [] }], summary: 'Rebuild every read model from the log and swap it in; answers when done' } }, async (req) => {
    // A rebuild already running (409) and the read models' thread restarting (503) are errors.ts's.
    const result = await app.readModels.rebuild((p) => req.log.info(p, 'rebuild progress'), stopping.signal);
    return { status: 'rebuilt' as const, ...result };
  });
}
