/**
 * The store's own errors. Adapters translate driver errors into these at their boundary and
 * nowhere else; the HTTP layer maps them to problem+json (409, 503).
 */

export class WrongExpectedRevisionError extends Error {
  readonly code = 'WRONG_EXPECTED_REVISION';
  constructor(
    readonly stream: string,
    readonly expected: string,
    /** The stream's actual last revision, or `no_stream`. */
    readonly actual: string,
  ) {
    super(`stream ${stream}: expected revision ${expected}, actual ${actual}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** An event id already stored with other content (type, data or metadata) or in another stream. */
export class DuplicateEventError extends Error {
  readonly code = 'DUPLICATE_EVENT';
  constructor(
    readonly stream: string,
    readonly eventId: string,
  ) {
    super(`event ${eventId} is already stored with other content (stream ${stream})`);
    this.name = 'DuplicateEventError';
  }
}

/** The store cannot be reached now; the caller may retry later. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  /**
   * True when a write may have been stored all the same (a server that timed out or lost its
   * reply after committing): sending the same write again finds out, idempotently.
   */
  readonly outcomeUnknown: boolean;
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/**
 * An append larger than the store takes at once (EventStoreDB's MaxAppendSize); nothing of it
 * was stored. `limit` is the store's, in its own count (see EventStore.appendLimit).
 */
export class AppendTooLargeError extends Error {
  readonly code = 'APPEND_TOO_LARGE';
  constructor(
    readonly stream: string,
    readonly limit: number,
    /** Set when one event alone is over the limit (no split can help): its size. */
    readonly eventBytes?: number,
  ) {
    super(
      eventBytes === undefined
        ? `an append to ${stream} is over the store's limit of ${limit} bytes; nothing of it was stored`
        : `an event of ${eventBytes} bytes is over the store's limit of ${limit} bytes for one append (stream ${stream}); nothing of it was stored`,
    );
    this.name = 'AppendTooLargeError';
  }
}

/** The stream was deleted for good in the store (an operator's tombstone): it takes nothing more. */
export class StreamDeletedError extends Error {
  readonly code = 'STREAM_DELETED';
  constructor(readonly stream: string) {
    super(`stream ${stream} was deleted in the event store (tombstoned by an operator); nothing can be recorded in it`);
    this.name = 'StreamDeletedError';
  }
}

/**
 * The store refused a position: not one of its log's (inside a record, or from another log,
 * e.g. a checkpoint kept from before the server's data was reset).
 */
export class PositionNotInLogError extends Error {
  readonly code = 'POSITION_NOT_IN_LOG';
  constructor(readonly position: string) {
    super(`position ${position} is not one of this log's records: the checkpoint belongs to another log (was the event store's data reset?); rebuild the read models`);
    this.name = 'PositionNotInLogError';
  }
}

/** The store's user may not do this (e.g. read `$all` on EventStoreDB without admin or ops rights). */
export class StoreAccessDeniedError extends Error {
  readonly code = 'STORE_ACCESS_DENIED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreAccessDeniedError';
  }
}

/**
 * A record of the embedded log that cannot be read as an event: a column that is not JSON, so
 * the events file was changed outside Annals (an edit, or damage on disk; the service writes
 * only JSON). Nothing reads past it; the message says what to do.
 */
export class StoreCorruptError extends Error {
  readonly code = 'STORE_CORRUPT';
  constructor(
    /** The record's position in the log (its number). */
    readonly position: number,
    readonly stream: string,
    readonly column: 'data' | 'metadata',
    options?: { cause?: unknown },
  ) {
    super(
      `the event log's record at position ${position} (stream ${stream}) holds ${column} that is not JSON: the events file was changed outside Annals (edited, or damaged on disk), and nothing reads past that record. ` +
        "Restore the data dir from a backup ('annals restore'); to see what else changed, check an export kept from before against its signed heads ('annals audit verify')",
      options,
    );
    this.name = 'StoreCorruptError';
  }
}
