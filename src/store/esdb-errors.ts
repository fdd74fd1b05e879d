/**
 * The one place where @eventstore/db-client errors become the store's own errors. Conflicts
 * (WrongExpectedVersionError) are translated in esdb.ts, which first checks whether the
 * append was an idempotent retry; StreamNotFoundError is an empty read there too. Everything
 * that means "the server cannot be reached or did not answer in time" is retryable.
 */
import {
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
  isCommandError,
} from '@eventstore/db-client';
import { StoreUnavailableError, WrongExpectedRevisionError } from './errors.js';
import type { ExpectedRevision } from './port.js';

/**
 * The client hands some failures over as raw gRPC errors (e.g. when fetching server features
 * on connect); give them the client's own classification first.
 */
function asDriverError(err: unknown): unknown {
  return err instanceof Error ? convertToCommandError(err) : err;
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
    err instanceof NotLeaderError
  );
}

/** Translates a driver error; errors that are not the driver's are returned unchanged. */
export function translateError(raw: unknown, what: string): unknown {
  const err = asDriverError(raw);
  if (!(err instanceof Error) || !isCommandError(err)) return err;
  if (isTransient(err)) {
    return new StoreUnavailableError(`EventStoreDB unavailable (${what}): ${err.message}`, { cause: err });
  }
  return err;
}

export function wrongExpectedRevision(stream: string, expected: ExpectedRevision, err: WrongExpectedVersionError): WrongExpectedRevisionError {
  const actual = typeof err.actualVersion === 'bigint' ? err.actualVersion.toString(10) : 'no_stream';
  return new WrongExpectedRevisionError(stream, String(expected), actual);
}
