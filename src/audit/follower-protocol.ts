/** What the main thread and the audit follower thread (follower-thread.ts) say to each other. */
import type { MessagePort } from 'node:worker_threads';
import type { Position } from '../store/port.js';
import type { FeederStatus } from './feeder.js';
import type { SignedTreeHead } from './signing.js';

export interface FollowerInit {
  readonly dataDir: string;
  /** `sqlite`, or an EventStoreDB connection string (config.eventStore). */
  readonly eventStore: string;
  readonly logLevel: string;
  /** The audit key's file (keys.ts); the runtime made it before the thread starts. */
  readonly keyFile: string;
}

export type FollowerRequest =
  | { kind: 'poke' }
  /** The writer's commits arrive on `port` from now on (src/store/sqlite-writer-feed.ts). */
  | { kind: 'feed'; port: MessagePort }
  | { kind: 'sign'; seq: number }
  | { kind: 'close' };

export type FollowerReply =
  | { kind: 'ready'; audited: Position | null; status: FeederStatus }
  /** `mismatch`: audit.db or the kept head is not of this log (LogMismatchError): the service must not start. */
  | { kind: 'failed'; message: string; mismatch?: boolean }
  | { kind: 'status'; status: FeederStatus }
  | { kind: 'audited'; position: Position }
  | { kind: 'signed'; seq: number; head: SignedTreeHead }
  | { kind: 'sign-failed'; seq: number; message: string; auditKind?: 'invalid' | 'not_found' | 'unavailable' }
  | { kind: 'closed' };
