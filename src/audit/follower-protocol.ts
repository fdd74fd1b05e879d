/** What the main thread and the audit follower thread (follower-thread.ts) say to each other. */
import type { Position } from '../store/port.js';
import type { FollowingFailed, FollowingInit, FollowingRequest } from '../store/thread-follower.js';
import type { FeederStatus } from './feeder.js';
import type { SignedTreeHead } from './signing.js';

export interface FollowerInit extends FollowingInit {
  /** The audit key's file (keys.ts); the runtime made it before the thread starts. */
  readonly keyFile: string;
}

export type FollowerRequest =
  | FollowingRequest
  | { kind: 'sign'; seq: number }
  | { kind: 'close' };

export type FollowerReply =
  | { kind: 'ready'; audited: Position | null; status: FeederStatus }
  /** `mismatch`: audit.db or the kept head is not of this log. */
  | FollowingFailed
  | { kind: 'status'; status: FeederStatus }
  | { kind: 'audited'; position: Position }
  | { kind: 'signed'; seq: number; head: SignedTreeHead }
  | { kind: 'sign-failed'; seq: number; message: string; auditKind?: 'invalid' | 'not_found' | 'unavailable' }
  | { kind: 'closed' };
