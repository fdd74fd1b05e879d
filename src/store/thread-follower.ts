/**
 * What a thread that follows the log has on its side, written once for the read models
 * (projections/thread.ts) and the audit follower (src/audit/follower-thread.ts): a read-only
 * connection of its own to the log (the embedded store's file, fed the writer's commits; or
 * EventStoreDB, its client loaded only then: ~1 s of gRPC), the two messages about it that
 * both hear (`poke`: the main thread committed; `feed`: the writer's commits arrive on this
 * port from now on), and the refusal both send when opening fails.
 */
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { LogMismatchError } from './identity.js';
import type { EventStore } from './port.js';
import { openSqliteStore, type SqliteEventStore } from './sqlite.js';
import { CommittedFeed } from './sqlite-writer-feed.js';

/** What the main thread tells a following thread when it starts it. */
export interface FollowingInit {
  readonly dataDir: string;
  /** `sqlite`, or an EventStoreDB connection string (config.eventStore). */
  readonly eventStore: string;
  readonly logLevel: string;
}

/** The messages about the log every following thread hears. */
export type FollowingRequest =
  | { kind: 'poke' }
  /** The writer's commits arrive on `port` from now on (sqlite-writer-feed.ts). */
  | { kind: 'feed'; port: MessagePort };

/** The handshake's refusal. `mismatch`: the thread's files follow another log (LogMismatchError): the service must not start. */
export interface FollowingFailed {
  kind: 'failed';
  message: string;
  mismatch?: boolean;
}

export interface FollowedLog {
  readonly store: EventStore;
  /** The embedded store, when that is the log (null with EventStoreDB). */
  readonly sqlite: SqliteEventStore | null;
  /** Handles `poke` and `feed`; false for any other message. */
  handle(message: { kind: string }): boolean;
}

/** Opens the log read-only for a following thread; `sealKey`: read through the seal check (the audit follower). */
export async function openFollowedLog(init: FollowingInit, options: { sealKey?: Uint8Array } = {}): Promise<FollowedLog> {
  /** What the writer commits, handed here when the main thread connects us. */
  const feed = new CommittedFeed();
  // Reads only: subscriptions notice the server's commits when it pokes (or at the next poll).
  const sqlite = init.eventStore === 'sqlite' ? openSqliteStore(join(init.dataDir, 'events.db'), { readOnly: true, feed, ...(options.sealKey ? { sealKey: options.sealKey } : {}) }) : null;
  const store = sqlite ?? (await (await import('./esdb.js')).openEsdbStore(init.eventStore));
  return {
    store,
    sqlite,
    handle(m) {
      const msg = m as FollowingRequest;
      if (msg.kind === 'poke') sqlite?.poke();
      else if (msg.kind === 'feed') feed.attach(msg.port);
      else return false;
      return true;
    },
  };
}

export function followingFailed(e: unknown): FollowingFailed {
  return { kind: 'failed', message: e instanceof Error ? e.message : String(e), mismatch: e instanceof LogMismatchError };
}
