/**
 * The read API (API.md, "Reading"): offices, organizations, sessions, documents, people and
 * the timeline, each on two time axes (validAt, knownAt, echoed back), with minPosition for
 * read-your-writes. The queries live beside their projections (projections/).
 */
import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { Guards } from './reads-common.js';
import { guards } from './reads-guards.js';
import { officeReads } from './reads-offices.js';
import { organizationReads } from './reads-organizations.js';
import { peopleReads } from './reads-people.js';
import { sessionReads } from './reads-sessions.js';
import { factHistoryRoutes } from './fact-history.js';
import { csvLists } from './csv-lists.js';
import { changesRoutes } from './changes.js';

export async function readRoutes(app: FastifyInstance, runtime: Runtime, g: Guards = guards(runtime)): Promise<void> {
  csvLists(app);
  await officeReads(app, runtime, g);
  await organizationReads(app, runtime, g);
  await sessionReads(app, runtime, g);
  await peopleReads(app, runtime, g);
  await factHistoryRoutes(app, runtime, g);
  await changesRoutes(app, runtime, g);
}
