/**
 * Which log a follower (the read models, the audit tree) follows, and whether the store it
 * opens is still that log, as far as it got. A follower remembers:
 * - the log's identity: the embedded store's random log id (events.db, table `meta`), or on
 *   other stores the id of the log's first event (a UUID, immutable once written);
 * - the position it reached, the event it saw there (its id, or the tree's leaf hash), and
 *   the position before that one, to read that event back with the port's `readAll({ after })`.
 * At start the store must hold that event at that position under that identity. A log that is
 * empty, shorter, another one, or rewritten where the follower stopped is refused: serving
 * read models or signing a tree over it would answer from a log that is not there (a deleted
 * or emptied events.db, another data dir's, an EventStoreDB whose data was reset and whose
 * subscriptions would silently skip to its end).
 */
import type { Position } from './port.js';

/** What of the store port these checks read (the read models' LogSource is one too). */
export interface LogReader<E extends { readonly id: string; readonly position: Position }> {
  readAll(options?: { after?: Position; limit?: number }): Promise<readonly E[]>;
  head(): Promise<Position | null>;
}

export interface Followed {
  /** The log's identity when the follower first saw it; null: not known yet (nothing followed). */
  readonly identity: string | null;
  /** The last position taken in; null: none. */
  readonly position: Position | null;
  /** The position before it; null when it is the log's first event; undefined when not known (data kept by an earlier version): the event is not checked. */
  readonly previous: Position | null | undefined;
}

/** The follower's data is not of this log, or this log lost what the follower saw: refuse to start. */
export class LogMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogMismatchError';
  }
}

/** The store's identity (see the header); null for an empty store that has none. */
export async function logIdentity(store: LogReader<{ readonly id: string; readonly position: Position }>): Promise<string | null> {
  const logId = (store as { logId?: unknown }).logId;
  if (typeof logId === 'string') return `sqlite:${logId}`;
  const [first] = await store.readAll({ limit: 1 });
  return first === undefined ? null : `first-event:${first.id}`;
}

/**
 * Why `store` is not the log `followed` describes, or null when it is. `sameEvent` says
 * whether the event now at the followed position is the one the follower saw there.
 */
export async function mismatch<E extends { readonly id: string; readonly position: Position }>(store: LogReader<E>, followed: Followed, sameEvent: (e: E) => boolean): Promise<string | null> {
  const identity = await logIdentity(store);
  if (followed.position === null) {
    return followed.identity !== null && identity !== null && identity !== followed.identity ? `another log was followed (${followed.identity}; this one is ${identity})` : null;
  }
  const head = await store.head();
  if (head === null) return `the log is empty, and position ${followed.position} had been reached`;
  if (head < followed.position) return `the log ends at position ${head}, before position ${followed.position} that had been reached: it lost events, or is another log`;
  if (followed.identity !== null && identity !== followed.identity) return `another log was followed (${followed.identity}; this one is ${identity ?? 'empty'})`;
  if (followed.previous === undefined) return null;
  let e: E | undefined;
  try {
    [e] = await store.readAll({ ...(followed.previous === null ? {} : { after: followed.previous }), limit: 1 });
  } catch (err) {
    // EventStoreDB refuses a position that is not on a record boundary of its log.
    return `the log refuses position ${followed.previous}, just before where following stopped (${err instanceof Error ? err.message : String(err)}): it was rewritten, or is another log`;
  }
  if (e === undefined || e.position !== followed.position) return `the log holds no event at position ${followed.position}, where following stopped: it was rewritten, or is another log`;
  if (!sameEvent(e)) return `the event at position ${followed.position} is not the one seen there: the log was rewritten, or is another log`;
  return null;
}
