/** What the main thread and the read-model thread (thread.ts) say to each other. */
import type { MessagePort } from 'node:worker_threads';
import type { Position, ProjectionStatus, Readiness, RebuildProgress, RebuildResult } from './index.js';

export interface ReadModelThreadInit {
  /** The read-model file, e.g. `<dataDir>/readmodels.db`. */
  readonly path: string;
  readonly dataDir: string;
  /** `sqlite`, or an EventStoreDB connection string (config.eventStore). */
  readonly eventStore: string;
  readonly logLevel: string;
}

export type ReadModelRequest =
  | { kind: 'poke' }
  /** The writer's commits arrive on `port` from now on (src/store/sqlite-writer-feed.ts). */
  | { kind: 'feed'; port: MessagePort }
  | { kind: 'status'; seq: number }
  | { kind: 'rebuild'; seq: number }
  | { kind: 'close' };

export type ReadModelReply =
  | { kind: 'ready'; readiness: Readiness }
  /** `mismatch`: the read models follow another log (LogMismatchError): the service must not start. */
  | { kind: 'failed'; message: string; mismatch?: boolean }
  | { kind: 'applied'; position: Position }
  | { kind: 'readiness'; readiness: Readiness }
  | { kind: 'caught-up' }
  | { kind: 'status'; seq: number; value: ProjectionStatus }
  | { kind: 'progress'; seq: number; value: RebuildProgress }
  | { kind: 'rebuilt'; seq: number; value: RebuildResult }
  | { kind: 'request-failed'; seq: number; message: string; inProgress: boolean }
  | { kind: 'closed' };
