/**
 * `GET /v1/popolo?organization=&knownAt=`: the record as a Popolo document (persons,
 * organizations, posts, memberships, events) for one organization and what it relates to, or
 * for everything. Streamed: written as it is read, page by page (projections/popolo.ts), so
 * a whole record's export holds the entities it names in memory, never the answer. An open
 * read like the others; a weak ETag (the answer is not hashed before it is sent) and, for a
 * past knownAt, the immutable Cache-Control.
 */
import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { popoloChunks } from '../../../projections/popolo.js';
import { readAccess } from '../auth.js';
import { NotModified, text } from '../answers.js';
import { IMMUTABLE_MAX_AGE, isImmutable } from './reads-answer.js';
import { LooseRef, TimeQuery, found, readContext, typed } from './reads-common.js';

/**
 * The chunks one turn of the event loop at a time: a stream pulls chunks while its buffer has
 * room (16 by default), and each is a page of the export read on the event loop, so several
 * pages in one turn kept every other request (a /healthz) waiting for all of them.
 */
async function* turnByTurn(chunks: Iterable<string>): AsyncGenerator<string> {
  for (const chunk of chunks) {
    yield chunk;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function popoloRoutes(app: FastifyInstance): Promise<void> {
  const r = typed(app);
  r.get(
    '/v1/popolo',
    {
      preHandler: readAccess(),
      schema: {
        operationId: 'exportPopolo',
        response: { 200: text('application/json', 'A Popolo document: { persons, organizations, posts, memberships, events } (see the Popolo specification), written as it is read'), 304: NotModified },
        tags: ['reads'],
        summary: 'A Popolo export (persons, organizations, posts, memberships, events), streamed',
        description:
          'For one organization (its bodies, member and chairing states, offices, holders, sessions) or, without organization=, everything, as known at knownAt (an omitted knownAt is the moment of the request, for the whole stream). Memberships: a person in a post (id = the factId; attested ones say so in label), or a state as member/chair of an organization (member: { "@type": "Organization", id }). Dates partial as recorded; sources only where the fact has a url. The document is written as it is read (chunked), so a whole record starts at once and holds no answer in memory. Weak ETag; with a past knownAt, Cache-Control: public, max-age=31536000, immutable.',
        querystring: TimeQuery.extend({ organization: LooseRef.optional() }),
      },
    },
    async (req, reply) => {
      const { knownAt } = await readContext(app, req.query);
      const org = req.query.organization;
      const chunks = found(popoloChunks(app.readModels.queries, org, knownAt), 'organization', org ?? '', knownAt);
      const immutable = isImmutable(app, { knownAt, pinned: req.query.knownAt !== undefined });
      const snapshot = app.readModels.queries.snapshot();
      const visibility = app.config.privateReads ? 'private' : 'public';
      const etag = `W/"${immutable ? 'k' : (snapshot.position ?? '0')}.${hash('sha1', JSON.stringify(immutable ? [org ?? null, knownAt] : [org ?? null, snapshot.position]), 'base64url').slice(0, 16)}"`;
      reply.header('etag', etag).header('cache-control', immutable ? `${visibility}, max-age=${IMMUTABLE_MAX_AGE}, immutable` : `${visibility}, no-cache`);
      const inm = req.headers['if-none-match'];
      if (inm !== undefined && inm.split(',').some((t) => t.trim() === etag || t.trim() === etag.slice(2))) return reply.code(304).send();
      return reply.type('application/json; charset=utf-8').send(Readable.from(turnByTurn(chunks), { highWaterMark: 1 }));
    },
  );
}
