/** What the main thread and the audit follower thread (follower-thread.ts) say to each other. */
import type { Position } from '../store/port.js';
import type { SignedTreeHead } from './signing.js';

export interface FollowerInit {
  readonly dataDir: string;
  /** `sqlite`, or an EventStoreDB connection string (config.eventStore). */
  readonly eventStore: string;
  readonly logLevel: string;
}

export type FollowerRequest = { kind: 'poke' } | { kind: 'sign'; seq: number } | { kind: 'close' };

export type FollowerReply =
  | { kind: 'ready'; audited: Position | null }
  | { kind: 'failed'; message: string }
  | { kind: 'audited'; position: Position }
  | { kind: 'signed'; seq: number; head: SignedTreeHead }
  | { kind: 'sign-failed'; seq: number; message: string; auditKind?: 'invalid' | 'not_found' | 'unavailable' }
  | { kind: 'closed' };
