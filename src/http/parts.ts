/**
 * The app plugin: what the routes need, decorated on the Fastify instance once (fastify/demo's
 * shape), so a route file is a plugin that knows the instance and never the runtime. This file
 * and app.ts are the only ones under src/http that see src/runtime.ts; a test keeps the route
 * files from importing it (test/http-plugins.test.ts).
 *
 * On the instance: the configuration, the recorder (the write side), the read models and the
 * read workers that answer their questions, the log itself (the audit export, the feed, a
 * fact's versions), the audit tree with its witness and checkpoints, and the metrics. On the
 * request: its credential and principal, read from the Authorization header once (auth.ts).
 *
 * Wrapped in fastify-plugin: decorations made inside an encapsulated plugin would be seen by
 * that plugin alone, and every route plugin registered after this one needs them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ReadModels } from '../../projections/index.js';
import type { ReadPool } from '../../projections/read-pool.js';
import type { Checkpoints } from '../audit/checkpoint.js';
import type { AuditLog } from '../audit/tree-head.js';
import type { Witness } from '../audit/witness.js';
import type { Principal } from '../auth/tokens.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics/prometheus.js';
import type { Recorder } from '../record/index.js';
import type { Runtime } from '../runtime.js';
import type { EventStore } from '../store/port.js';
import { CREDENTIAL_SLOT, credentialOf, type Credential } from './auth.js';

declare module 'fastify' {
  interface FastifyInstance {
    readonly config: Config;
    /** The write side: records facts and waits until this process's read models applied them. */
    readonly recorder: Recorder;
    /** The read models: their queries, what they applied, waiting for a position, status, rebuild. */
    readonly readModels: ReadModels;
    /** Read workers answering the read routes' questions off the event loop; null: the queries run on it. */
    readonly readPool: ReadPool | null;
    /** The log, read by the audit export, the feed and a fact's versions. */
    readonly store: EventStore;
    /** The Merkle tree over the log and its signed tree heads. */
    readonly audit: AuditLog;
    /** Pushes signed heads to ANNALS_AUDIT_WITNESS_URL; null when none is configured. */
    readonly witness: Witness | null;
    /** The latest head as a C2SP checkpoint (signed note), its origin and verifier key. */
    readonly checkpoints: Checkpoints;
    readonly metrics: Metrics;
  }
  interface FastifyRequest {
    /** What the Authorization header amounts to, checked once per request. */
    readonly credential: Credential;
    /** The principal of a valid credential; null without one (an open read). */
    readonly principal: Principal | null;
  }
}

async function parts(app: FastifyInstance, { runtime }: { runtime: Runtime }): Promise<void> {
  app.decorate('config', runtime.config);
  app.decorate('recorder', runtime.recorder);
  app.decorate('readModels', runtime.readModels);
  app.decorate('readPool', runtime.reads);
  app.decorate('store', runtime.store);
  app.decorate('audit', runtime.audit);
  app.decorate('witness', runtime.witness);
  app.decorate('checkpoints', runtime.checkpoints);
  app.decorate('metrics', runtime.metrics);
  // credentialOf's cache of the request's credential (auth.ts): null until first read.
  app.decorateRequest(CREDENTIAL_SLOT, null);
  app.decorateRequest('credential', {
    getter(this: FastifyRequest) {
      return credentialOf(runtime, this);
    },
  });
  app.decorateRequest('principal', {
    getter(this: FastifyRequest) {
      const c = this.credential;
      return c.kind === 'valid' ? c.principal : null;
    },
  });
}

export const appParts = fp(parts, { name: 'annals-parts', fastify: '5.x' });
