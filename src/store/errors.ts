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
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
