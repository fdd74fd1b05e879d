/** What the main thread and the read-model thread (thread.ts) say to each other. */
import type { FollowingFailed, FollowingInit, FollowingRequest } from '../src/store/thread-follower.js';
import type { CrossedError } from './crossed-errors.js';
import type { Position, ProjectionStatus, Readiness, RebuildProgress, RebuildResult } from './index.js';

export interface ReadModelThreadInit extends FollowingInit {
  /** The read-model file, e.g. `<dataDir>/readmodels.db`. */
  readonly path: string;
}

export type ReadModelRequest =
  | FollowingRequest
  | { kind: 'status'; seq: number }
  | { kind: 'rebuild'; seq: number }
  /** The service is stopping: the rebuild in flight stops at its next batch (answered with RebuildStoppedError). */
  | { kind: 'stop-rebuild' }
  | { kind: 'close' };

export type ReadModelReply =
  | { kind: 'ready'; readiness: Readiness }
  /** `mismatch`: the read models follow another log. */
  | FollowingFailed
  | { kind: 'applied'; position: Position }
  | { kind: 'readiness'; readiness: Readiness }
  | { kind: 'caught-up' }
  | { kind: 'status'; seq: number; value: ProjectionStatus }
  | { kind: 'progress'; seq: number; value: RebuildProgress }
  | { kind: 'rebuilt'; seq: number; value: RebuildResult }
  /** Its class crosses too (crossed-errors.ts): a 503 or a 409 stays one. */
  | { kind: 'request-failed'; seq: number; error: CrossedError }
  /**
   * The file at the path may have changed (sent after every rebuild, before its answer) or
   * stopped or started opening: readers open it again, or answer 503 with `unavailable`.
   */
  | { kind: 'file'; unavailable: string | null }
  | { kind: 'closed' };
