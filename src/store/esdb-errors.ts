/**
 * The one place where @eventstore/db-client errors become the store's own errors. Conflicts
 * (WrongExpectedVersionError) are translated in esdb.ts, which first checks whether the
 * append was an idempotent retry; StreamNotFoundError is an empty read there too. Everything
 * that means "the server cannot be reached or did not answer in time" is retryable.
 */
import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError as DriverStreamDeletedError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  convertToCommandError,
  isCommandError,
} from '@eventstore/db-client';
import { AppendTooLargeError, StoreAccessDeniedError, StoreUnavailableError, StreamDeletedError, WrongExpectedRevisionError } from './errors.js';
import type { ExpectedRevision } from './port.js';

/**
 * The client hands some failures over as raw gRPC errors (e.g. when fetching server features
 * on connect); give them the client's own classification first.
 */
function asDriverError(err: unknown): unknown {
  return err instanceof Error ? convertToCommandError(err) : err;
}

/**
 * BatchAppend answers "not ready" (no leader elected yet) and "busy" in-band with an Empty
 * detail the 6.x client does not recognise: they arrive as UnknownError("Could not recognize …").
 */
const NOT_READY = /Could not recognize (Server Is Not Ready|Server Is Busy|No leader info available)/;
/** The client's discovery found no leader or follower in gossip (an election under way, nodes down). */
const NO_NODE = /^Failed to discover after \d+ attempts/;

/**
 * A discovery that found no node to use. The 6.x client keeps the failure cached (its server
 * features promise stays rejected), so every later call fails the same way: the adapter
 * replaces the client.
 */
export function isDiscoveryFailure(raw: unknown): boolean {
  const err = raw instanceof StoreUnavailableError ? raw.cause : raw;
  return err instanceof Error && !isCommandError(err) && NO_NODE.test(err.message);
}

/** Transient driver errors: retrying (after reconnecting, which the client does) may succeed. */
export function isTransient(raw: unknown): boolean {
  const err = asDriverError(raw);
  return (
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError ||
    err instanceof TimeoutError ||
    // The server ended a long-running call (shutdown, leader change): reconnect and resume.
    err instanceof CancelledError ||
    err instanceof NotLeaderError ||
    (err instanceof UnknownError && NOT_READY.test(err.message)) ||
    (err instanceof Error && !isCommandError(err) && NO_NODE.test(err.message))
  );
}

/** Translates a driver error; errors that are not the driver's are returned unchanged. */
export function translateError(raw: unknown, what: string, stream?: string): unknown {
  const err = asDriverError(raw);
  if (!(err instanceof Error)) return err;
  if (isTransient(err)) {
    return new StoreUnavailableError(`EventStoreDB unavailable (${what}): ${err.message}`, { cause: err });
  }
  if (err instanceof MaxAppendSizeExceededError) return new AppendTooLargeError(stream ?? '?', err.maxAppendSize);
  if (err instanceof DriverStreamDeletedError) return new StreamDeletedError(err.streamName || stream || '?');
  if (err instanceof AccessDeniedError) {
    return new StoreAccessDeniedError(`EventStoreDB denied ${what}: the connection string's user needs read rights on $all and write rights on the streams (a member of $admins or $ops)`, { cause: err });
  }
  return err;
}

/** The server refused a `$all` position inside a record (24.10: InvalidPosition, which the client reports as UnknownError). */
export function isInvalidPosition(raw: unknown): boolean {
  const err = asDriverError(raw);
  return err instanceof UnknownError && /invalid position|InvalidPosition/.test(err.message);
}

export function wrongExpectedRevision(stream: string, expected: ExpectedRevision, err: WrongExpectedVersionError): WrongExpectedRevisionError {
  const actual = typeof err.actualVersion === 'bigint' ? err.actualVersion.toString(10) : 'no_stream';
  return new WrongExpectedRevisionError(stream, String(expected), actual);
}
