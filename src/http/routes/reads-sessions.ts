/** Sessions and documents of an organization's bodies, and one of each. */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { paginate } from '../../../projections/query-context.js';
import { ListQuery, LooseRef, RefParam, TimeQuery, allUnless, found, readContext, typed, type Guards } from './reads-common.js';

const ByOrganization = ListQuery.extend({ organization: LooseRef.describe('The organization; its bodies (parent chain) count too') });

export async function sessionReads(app: FastifyInstance, runtime: Runtime, g: Guards): Promise<void> {
  const r = typed(app);
  const q = () => runtime.readModels.queries;

  r.get('/v1/sessions', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Sessions of the organization’s bodies (held within validAt when given)', description: 'All of them; limit= (with cursor=) pages opt-in.', querystring: ByOrganization } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const { organization, validAt } = req.query;
    const list = found(q().sessions(organization, knownAt, validAt), 'organization', organization, knownAt);
    const page = paginate(list, (s) => `${s.held.from}\u0000${s.id}`, req.query.cursor, allUnless(req.query.limit));
    return { validAt: validAt ?? null, knownAt, sessions: page.items, nextCursor: page.nextCursor };
  });

  r.get('/v1/sessions/:session', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One session with everything recorded about it', params: RefParam('session'), querystring: TimeQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const ref = req.params['session'] as string;
    return { session: found(q().session(ref, knownAt), 'session', ref, knownAt), validAt: null, knownAt };
  });

  r.get('/v1/documents', { preHandler: g.read, schema: { tags: ['reads'], summary: 'Documents adopted or considered by the organization or its bodies; with validAt, adopted ones in force then', description: 'All of them; limit= (with cursor=) pages opt-in.', querystring: ByOrganization } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const { organization, validAt } = req.query;
    const list = found(q().documents(organization, knownAt, validAt), 'organization', organization, knownAt);
    const page = paginate(list, (d) => `${d.adoptedOn ?? ''}\u0000${d.id}`, req.query.cursor, allUnless(req.query.limit));
    return { validAt: validAt ?? null, knownAt, documents: page.items, nextCursor: page.nextCursor };
  });

  r.get('/v1/documents/:document', { preHandler: g.read, schema: { tags: ['reads'], summary: 'One document', params: RefParam('document'), querystring: TimeQuery } }, async (req) => {
    const { knownAt } = await readContext(runtime, req.query);
    const ref = req.params['document'] as string;
    return { document: found(q().document(ref, knownAt), 'document', ref, knownAt), validAt: null, knownAt };
  });
}
