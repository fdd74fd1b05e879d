/**
 * What the main thread and the writer thread (sqlite-writer-thread.ts) say to each other,
 * and how the store's errors cross between them (a structured clone keeps only message and
 * name, and the port's callers need the error classes back).
 */
import { DuplicateEventError, StoreUnavailableError, WrongExpectedRevisionError } from './errors.js';
import type { AppendResult } from './port.js';
import type { Database } from 'better-sqlite3';
import type { MessagePort } from 'node:worker_threads';
import type { AppendOutcome, PendingAppend } from './sqlite-writer.js';

export interface WriterInit {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly cacheSizeKiB: number;
  readonly maxAppendsPerCommit: number;
  /** The seal key and the log's id (sqlite-seal.ts); absent: rows go unsealed. */
  readonly seal?: { readonly key: Uint8Array; readonly logId: string };
}

export type WriterRequest =
  /** Waves of appends, committed in one transaction (a single append is one wave of one). */
  | { kind: 'append'; seq: number; waves: readonly (readonly PendingAppend[])[] }
  | { kind: 'pragmas'; seq: number }
  /** Post what each COMMIT stores on `port` (sqlite-writer-feed.ts), replacing the port of that name. */
  | { kind: 'feed'; name: string; port: MessagePort }
  | { kind: 'close' };

/** The writing connection's settings as SQLite reports them (synchronous: 2 = FULL). */
export interface WriterPragmas {
  journalMode: string;
  synchronous: number;
  busyTimeoutMs: number;
}

export type EncodedError =
  | { kind: 'wrong-expected-revision'; stream: string; expected: string; actual: string }
  | { kind: 'duplicate'; stream: string; eventId: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'other'; name: string; message: string; code?: string };

/** One append's outcome across the thread boundary; null: not attempted (an earlier wave failed). */
export type EncodedAppendOutcome = { ok: true; value: AppendResult } | { ok: false; error: EncodedError } | null;

/** A unit's outcomes, or the driver fault that aborted its transaction. */
export type WriterOutcome = { seq: number; ok: true; value: EncodedAppendOutcome[][] } | { seq: number; ok: false; error: EncodedError };

export type WriterReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: EncodedError }
  | { kind: 'outcomes'; outcomes: WriterOutcome[] }
  | { kind: 'pragmas'; seq: number; value: WriterPragmas }
  | { kind: 'closed' };

export function encodeWriterError(e: unknown): EncodedError {
  if (e instanceof WrongExpectedRevisionError) return { kind: 'wrong-expected-revision', stream: e.stream, expected: e.expected, actual: e.actual };
  if (e instanceof DuplicateEventError) return { kind: 'duplicate', stream: e.stream, eventId: e.eventId };
  if (e instanceof StoreUnavailableError) return { kind: 'unavailable', message: e.message };
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  return { kind: 'other', name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function encodeOutcomes(outcomes: AppendOutcome[][]): EncodedAppendOutcome[][] {
  return outcomes.map((wave) => wave.map((o) => (o === null || o.ok ? o : { ok: false, error: encodeWriterError(o.error) })));
}

export function decodeOutcomes(outcomes: EncodedAppendOutcome[][]): AppendOutcome[][] {
  return outcomes.map((wave) => wave.map((o) => (o === null || o.ok ? o : { ok: false, error: decodeWriterError(o.error) })));
}

export function decodeWriterError(e: EncodedError): Error {
  switch (e.kind) {
    case 'wrong-expected-revision':
      return new WrongExpectedRevisionError(e.stream, e.expected, e.actual);
    case 'duplicate':
      return new DuplicateEventError(e.stream, e.eventId);
    case 'unavailable':
      return new StoreUnavailableError(e.message);
    default: {
      const err = Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code });
      err.name = e.name;
      return err;
    }
  }
}

export function readPragmas(db: Database): WriterPragmas {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
    busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
  };
}
