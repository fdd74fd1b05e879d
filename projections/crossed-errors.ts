/**
 * Errors that cross from a read-model thread (thread.ts, read-worker.ts) to the event loop
 * keep their class: a structured clone keeps only an Error's message, and src/http/errors.ts
 * maps classes to statuses, so a 503 (ReadModelsUnavailableError), a 409
 * (RebuildInProgressError) or a failed rebuild's 503 would otherwise all answer 500. A class
 * not listed here crosses as a plain Error with its name kept: a bug, which stays a 500.
 */
import { LogMismatchError } from '../src/store/identity.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { ReadModelsUnavailableError, RebuildFailedError, RebuildInProgressError, RebuildStoppedError } from './reader.js';

/** An error as it crosses: its class's name, its message and its cause's code (SQLITE_FULL, EBUSY), if any. */
export interface CrossedError {
  readonly name: string;
  readonly message: string;
  readonly causeCode?: string;
}

export function crossing(e: unknown): CrossedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e.cause as { code?: unknown } | undefined)?.code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { causeCode: code } : {}) };
}

const CLASSES: Record<string, (message: string, cause: unknown) => Error> = {
  ReadModelsUnavailableError: (m) => new ReadModelsUnavailableError(m),
  RebuildInProgressError: () => new RebuildInProgressError(),
  RebuildFailedError: (m, cause) => new RebuildFailedError(m, { cause }),
  RebuildStoppedError: (m) => new RebuildStoppedError(m),
  StoreUnavailableError: (m, cause) => new StoreUnavailableError(m, { cause }),
  LogMismatchError: (m) => new LogMismatchError(m),
};

/** The error on this side: its own class where it is one of CLASSES, else a plain Error of that name. */
export function revived(c: CrossedError): Error {
  const cause = c.causeCode === undefined ? undefined : Object.assign(new Error(c.causeCode), { code: c.causeCode });
  const make = Object.hasOwn(CLASSES, c.name) ? CLASSES[c.name] : undefined;
  return make ? make(c.message, cause) : Object.assign(new Error(c.message, cause === undefined ? undefined : { cause }), { name: c.name });
}
