/**
 * The read API (API.md, "Reading"): offices, organizations, sessions, documents, people and
 * the timeline, each on two time axes (validAt, knownAt, echoed back), with minPosition for
 * read-your-writes. The queries live beside their projections (projections/).
 */
import type { FastifyInstance } from 'fastify';
import { officeReads } from './reads-offices.js';
import { organizationReads } from './reads-organizations.js';
import { peopleReads } from './reads-people.js';
import { sessionReads } from './reads-sessions.js';
import { factHistoryRoutes } from './fact-history.js';
import { csvLists } from './csv-lists.js';
import { changesRoutes } from './changes.js';

/** Each file's routes a plugin of its own inside this one, whose CSV hook sees only them. */
export async function readRoutes(app: FastifyInstance): Promise<void> {
  csvLists(app);
  await app.register(officeReads);
  await app.register(organizationReads);
  await app.register(sessionReads);
  await app.register(peopleReads);
  await app.register(factHistoryRoutes);
  await app.register(changesRoutes);
}
