/**
 * `GET /v1/popolo?organization=&knownAt=`: the record as a Popolo document (persons,
 * organizations, posts, memberships, events) for one organization and what it relates to, or
 * for everything. An open read like the others; the mapping is projections/popolo.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { popoloExport } from '../../../projections/popolo.js';
import { readAccess } from '../auth.js';
import { LooseRef, TimeQuery, found, readContext, typed } from './reads-common.js';

export async function popoloRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const r = typed(app);
  r.get(
    '/v1/popolo',
    {
      preHandler: readAccess(runtime),
      schema: {
        tags: ['reads'],
        summary: 'A Popolo export (persons, organizations, posts, memberships, events)',
        description:
          'For one organization (its bodies, member and chairing states, offices, holders, sessions) or, without organization=, everything, as known at knownAt. Memberships: a person in a post (id = the factId; attested ones say so in label), or a state as member/chair of an organization (member: { "@type": "Organization", id }). Dates partial as recorded; sources only where the fact has a url.',
        querystring: TimeQuery.extend({ organization: LooseRef.optional() }),
      },
    },
    async (req) => {
      const { knownAt } = await readContext(runtime, req.query);
      const org = req.query.organization;
      const doc = popoloExport(runtime.readModels.queries, org, knownAt);
      const answer = org === undefined ? doc : found(doc, 'organization', org, knownAt);
      return { organization: org ?? null, knownAt, ...answer };
    },
  );
}
