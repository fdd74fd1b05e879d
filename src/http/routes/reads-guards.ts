/**
 * Access to the read routes: open to anyone (or any valid token with ANNALS_PRIVATE_READS),
 * auditor or admin for /v1/audit/* and /v1/admin/*. The write side owns credentials
 * (src/http/auth.ts); this wires its preHandlers into the read, audit and admin routes.
 */
import type { FastifyInstance } from 'fastify';
import { readAccess, requireRole } from '../auth.js';
import type { Guards } from './reads-common.js';

export function guards(app: FastifyInstance): Guards {
  // Open reads run no hook at all (an empty async hook still costs a promise per request).
  return { read: app.config.privateReads ? readAccess() : [], staff: requireRole('auditor', 'admin') };
}
