/**
 * What the main thread and the writer thread (sqlite-writer-thread.ts) say to each other,
 * and how the store's errors cross between them (a structured clone keeps only message and
 * name, and the port's callers need the error classes back).
 */
import { DuplicateEventError, StoreUnavailableError, WrongExpectedRevisionError } from './errors.js';
import type { AppendedEvent, AppendResult, ExpectedRevision } from './port.js';
import { encodePosition } from './positions.js';
import type { Database } from 'better-sqlite3';
import type { MessagePort } from 'node:worker_threads';
import type { AppendOutcome, PendingAppend, PendingEvent } from './sqlite-writer.js';

export interface WriterInit {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly cacheSizeKiB: number;
  readonly maxAppendsPerCommit: number;
  /** The seal key and the log's id (sqlite-seal.ts); absent: rows go unsealed. */
  readonly seal?: { readonly key: Uint8Array; readonly logId: string };
  /**
   * ANNALS_READ_MODELS=writer: the read models are applied on this thread, right after each
   * COMMIT, from the rows it inserted (projections/writer-apply.ts). `replyFirst`: the
   * outcomes go back before the apply and `applied` after it (two messages); else one
   * message, the outcomes with `applied`, after the apply. `paused`: a thread started again
   * while a live rebuild has the apply paused starts paused (its file is not opened until
   * `resume`: the swap replaces that file).
   */
  readonly readModels?: { readonly path: string; readonly logLevel: string; readonly replyFirst: boolean; readonly paused?: boolean };
}

export type WriterRequest =
  /**
   * Waves of appends, committed in one transaction (a single append is one wave of one): as
   * encodeUnitBytes' bytes (their buffer transferred, not copied), or as encodeUnit's text when
   * a text of the unit is not well-formed Unicode (UTF-8 cannot carry a lone surrogate as it is).
   */
  | { kind: 'append'; seq: number; unit: string | Uint8Array }
  | { kind: 'pragmas'; seq: number }
  /** Post what each COMMIT stores on `port` (sqlite-writer-feed.ts), replacing the port of that name. */
  | { kind: 'feed'; name: string; port: MessagePort }
  /**
   * With the read models on this thread: `pause` closes their file and applies nothing until
   * `resume`, which opens the file at the path again and catches up from its checkpoint (a live
   * rebuild swaps a fresh file in between; projections/writer-applied.ts). Answered `models-done`.
   */
  | { kind: 'models'; seq: number; op: 'pause' | 'resume' }
  | { kind: 'close' };

/**
 * With the read models on this thread: where they stand, sent when it changes (a catch-up
 * page applied, caught up, an apply failed or recovered), beside the positions the COMMITs carry.
 */
export interface WriterModelsState {
  /** The position applied (null: nothing, or their file not open). */
  readonly position: string | null;
  /** Caught up with the log (the commits are applied as they come) rather than catching up or retrying. */
  readonly live: boolean;
  /** Why the last apply or catch-up failed (retried with a growing pause), or null. */
  readonly error: string | null;
}

/** The writing connection's settings as SQLite reports them (synchronous: 2 = FULL). */
export interface WriterPragmas {
  journalMode: string;
  synchronous: number;
  busyTimeoutMs: number;
  /** WAL pages between the committing connection's automatic checkpoints (configureConnection). */
  walAutocheckpoint: number;
}

export type EncodedError =
  | { kind: 'wrong-expected-revision'; stream: string; expected: string; actual: string }
  | { kind: 'duplicate'; stream: string; eventId: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'other'; name: string; message: string; code?: string };

/** One append's outcome across the thread boundary; null: not attempted (an earlier wave failed). */
export type EncodedAppendOutcome = { ok: true; value: AppendResult } | { ok: false; error: EncodedError } | null;

/**
 * A unit's outcomes as they cross back (packOutcomes): the main thread sent the waves, so it
 * knows each append's stream and event ids; an append stored as sent needs only its first
 * event's position and revision, and the COMMIT's recordedAt, which every such append shares.
 */
export interface PackedOutcomes {
  /** The recordedAt of the appends packed as numbers ('' when none is). */
  readonly recordedAt: string;
  /**
   * Two numbers an append, wave by wave in the unit's order: its first event's position and
   * revision (its events follow one by one), or -1 and its index in `other`.
   */
  readonly nums: Float64Array;
  /** The outcomes not packed as numbers (a refusal, an idempotent retry's originals, not attempted: null), as encodeOutcome makes them. */
  readonly other: EncodedAppendOutcome[];
}

/** A unit's outcomes, or the driver fault that aborted its transaction. */
export type WriterOutcome = { seq: number; ok: true; value: PackedOutcomes } | { seq: number; ok: false; error: EncodedError };

export type WriterReply =
  /** `applied`: with the read models on this thread, the position they reached (null: nothing applied). */
  | { kind: 'ready'; applied?: string | null }
  | { kind: 'failed'; error: EncodedError }
  /** `applied`: with the read models on this thread, the position they reached after these outcomes' COMMIT. */
  | { kind: 'outcomes'; outcomes: WriterOutcome[]; applied?: string | null }
  /** With the read models on this thread (replyFirst): what they reached after a COMMIT whose outcomes went before. */
  | { kind: 'applied'; position: string | null }
  | { kind: 'models'; state: WriterModelsState }
  | { kind: 'models-done'; seq: number }
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

export function encodeOutcome(o: AppendOutcome): EncodedAppendOutcome {
  return o === null || o.ok ? o : { ok: false, error: encodeWriterError(o.error) };
}

export function decodeOutcome(o: EncodedAppendOutcome): AppendOutcome {
  return o === null || o.ok ? o : { ok: false, error: decodeWriterError(o.error) };
}

/**
 * A unit's outcomes packed (PackedOutcomes): an append whose result is exactly what
 * unpackOutcomes makes again from the waves sent (its stream, its events' ids in order, their
 * revisions and positions one after the other from the first, the shared recordedAt, its
 * nextRevision the last event's) goes as two numbers; any other as encodeOutcome makes it.
 * A structured clone of an object, an array and four strings an event cost the writer (and
 * the event loop its copy) more than the numbers.
 */
export function packOutcomes(outcomes: readonly AppendOutcome[][], waves: readonly (readonly PendingAppend[])[]): PackedOutcomes {
  let appends = 0;
  for (const wave of waves) appends += wave.length;
  const nums = new Float64Array(2 * appends);
  const other: EncodedAppendOutcome[] = [];
  let recordedAt = '';
  let j = 0;
  for (let w = 0; w < waves.length; w++) {
    const wave = waves[w] as readonly PendingAppend[];
    const results = outcomes[w] as readonly AppendOutcome[];
    for (let i = 0; i < wave.length; i++, j += 2) {
      const o = results[i] as AppendOutcome;
      const first = o !== null && o.ok ? asSent(o.value, wave[i] as PendingAppend, recordedAt) : -1;
      if (first >= 0) {
        const e = (o as { value: AppendResult }).value.events[0] as AppendResult['events'][number];
        recordedAt = e.recordedAt;
        nums[j] = first;
        nums[j + 1] = e.revision;
      } else {
        nums[j] = -1;
        nums[j + 1] = other.length;
        other.push(encodeOutcome(o));
      }
    }
  }
  return { recordedAt, nums, other };
}

/** The first event's position as a number when `r` is what unpackOutcomes makes again from `sent` (with `recordedAt`, or any one when ''), else -1. */
function asSent(r: AppendResult, sent: PendingAppend, recordedAt: string): number {
  const events = r.events;
  const n = sent.events.length;
  if (n === 0 || events.length !== n || r.stream !== sent.stream) return -1;
  const e0 = events[0] as AppendResult['events'][number];
  const at = recordedAt === '' ? e0.recordedAt : recordedAt;
  const p0 = Number(e0.position);
  if (!Number.isSafeInteger(p0) || p0 < 0 || encodePosition(p0) !== e0.position) return -1;
  const r0 = e0.revision;
  if (r.nextRevision !== r0 + n - 1) return -1;
  for (let k = 0; k < n; k++) {
    const e = events[k] as AppendResult['events'][number];
    if (e.id !== (sent.events[k] as PendingEvent).id || e.revision !== r0 + k || e.recordedAt !== at) return -1;
    if (k > 0 && e.position !== encodePosition(p0 + k)) return -1;
  }
  return p0;
}

/** The outcomes packOutcomes packed, made again from the waves the unit sent. */
export function unpackOutcomes(packed: PackedOutcomes, waves: readonly (readonly PendingAppend[])[]): AppendOutcome[][] {
  const { nums, other, recordedAt } = packed;
  const out: AppendOutcome[][] = [];
  let j = 0;
  for (const wave of waves) {
    const results: AppendOutcome[] = [];
    for (const a of wave) {
      const first = nums[j] as number;
      const second = nums[j + 1] as number;
      j += 2;
      if (first < 0) {
        results.push(decodeOutcome(other[second] as EncodedAppendOutcome));
        continue;
      }
      const events: AppendedEvent[] = [];
      for (let k = 0; k < a.events.length; k++) events.push({ id: (a.events[k] as PendingEvent).id, revision: second + k, position: encodePosition(first + k), recordedAt });
      results.push({ ok: true, value: { stream: a.stream, nextRevision: second + a.events.length - 1, events } });
    }
    out.push(results);
  }
  return out;
}

/** True when the packed outcomes hold an append that stored (or found stored) at least one event. */
export function storedAny(packed: PackedOutcomes): boolean {
  const { nums } = packed;
  for (let j = 0; j < nums.length; j += 2) if ((nums[j] as number) >= 0) return true;
  return packed.other.some((o) => o !== null && o.ok && o.value.events.length > 0);
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

/*
 * A unit of waves as one string (encodeUnit), not as objects: what crosses to the writer thread
 * when a text of the unit is not well-formed Unicode (else encodeUnitBytes' bytes, below). A
 * structured clone of a group's appends walks every object and property on both sides (for a
 * group of 16 single facts, ~20 µs of CPU against ~4 µs for a string of the same text,
 * measured in alternating slices), while a string is copied as it is. The format is fields
 * one after the other: a count or revision as decimal digits then `,`; a text as its length
 * (UTF-16 code units), `:`, then the text itself, so no text is escaped or scanned.
 *   unit   = waves-count, wave*;  wave = appends-count, append*
 *   append = stream, expected, events-count, event*;  event = id, type, data, metadata
 *   expected = `n` then the revision, or the text `any` / `no_stream` / `stream_exists`
 */
export function encodeUnit(waves: readonly (readonly PendingAppend[])[]): string {
  let t = `${waves.length},`;
  for (const wave of waves) {
    t += `${wave.length},`;
    for (const a of wave) {
      t += `${a.stream.length}:${a.stream}${typeof a.expected === 'number' ? `n${a.expected},` : `${a.expected.length}:${a.expected}`}${a.events.length},`;
      for (const e of a.events) t += `${e.id.length}:${e.id}${e.type.length}:${e.type}${e.data.length}:${e.data}${e.metadata.length}:${e.metadata}`;
    }
  }
  return t;
}

export function decodeUnit(t: string): PendingAppend[][] {
  let at = 0;
  const count = (): number => {
    const end = t.indexOf(',', at);
    const n = Number(t.slice(at, end));
    at = end + 1;
    return n;
  };
  const text = (): string => {
    const colon = t.indexOf(':', at);
    const start = colon + 1;
    at = start + Number(t.slice(at, colon));
    return t.slice(start, at);
  };
  const expected = (): ExpectedRevision => {
    if (t.charCodeAt(at) !== 110 /* n */) return text() as ExpectedRevision;
    at++;
    return count();
  };
  return decodeWaves(count, text, expected);
}

/** A unit's waves, its fields read by `count`, `text` and `expected`: decodeUnit's from the text, decodeUnitBytes' from the bytes. */
function decodeWaves(count: () => number, text: () => string, expected: () => ExpectedRevision): PendingAppend[][] {
  const waves: PendingAppend[][] = [];
  for (let w = count(); w > 0; w--) {
    const wave: PendingAppend[] = [];
    for (let a = count(); a > 0; a--) {
      const stream = text();
      const revision = expected();
      const events: PendingEvent[] = [];
      for (let e = count(); e > 0; e--) events.push({ id: text(), type: text(), data: text(), metadata: text() });
      wave.push({ stream, expected: revision, events });
    }
    waves.push(wave);
  }
  return waves;
}

/*
 * The same unit as bytes (what the writer thread is sent): a count as a u32 (little-endian), a
 * text as its UTF-8 byte length (u32) then its bytes, `expected` as a tag byte (0: the revision
 * follows as a float64; 1: the text `any` / `no_stream` / `stream_exists` follows). Its buffer is
 * transferred, where a string is copied twice by postMessage (into the message, then into the
 * writer's heap) after being flattened from the `+=` ropes encodeUnit builds: a unit of ~700
 * events cost ~3.7 µs of CPU an event as text against ~1.2 µs as bytes (both threads, a
 * stand-alone test). The layout is the same as encodeUnit's, field for field.
 *   unit   = waves-count, wave*;  wave = appends-count, append*
 *   append = stream, expected, events-count, event*;  event = id, type, data, metadata
 */

/** String.prototype.isWellFormed (Node 20; the ES2024 lib this project does not compile against). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A growing buffer of one unit's bytes (not from Buffer's shared pool: its ArrayBuffer is transferred). */
class UnitBytes {
  buf: Buffer;
  at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  private room(n: number): void {
    if (this.buf.length - this.at >= n) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u32(n: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32LE(n, this.at);
  }

  byte(n: number): void {
    this.room(1);
    this.buf[this.at++] = n;
  }

  f64(n: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(n, this.at);
  }

  /** False (nothing written) when `s` is not well-formed Unicode. */
  text(s: string): boolean {
    if (!wellFormed(s)) return false;
    // Three bytes a UTF-16 code unit at most; the exact length only when that much is not there.
    if (this.buf.length - this.at < 4 + 3 * s.length) this.room(4 + Buffer.byteLength(s, 'utf8'));
    const n = this.buf.write(s, this.at + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
    return true;
  }
}

/** The unit as bytes (the layout above); null when one of its texts is not well-formed Unicode (send encodeUnit's text). */
export function encodeUnitBytes(waves: readonly (readonly PendingAppend[])[]): Uint8Array | null {
  // Sized for ASCII texts (nearly all): it grows when they take more.
  let size = 16;
  for (const wave of waves) {
    for (const a of wave) {
      size += a.stream.length + 32;
      for (const e of a.events) size += e.id.length + e.type.length + e.data.length + e.metadata.length + 16;
    }
  }
  const b = new UnitBytes(size);
  b.u32(waves.length);
  for (const wave of waves) {
    b.u32(wave.length);
    for (const a of wave) {
      if (!b.text(a.stream)) return null;
      if (typeof a.expected === 'number') {
        b.byte(0);
        b.f64(a.expected);
      } else {
        b.byte(1);
        if (!b.text(a.expected)) return null;
      }
      b.u32(a.events.length);
      for (const e of a.events) if (!(b.text(e.id) && b.text(e.type) && b.text(e.data) && b.text(e.metadata))) return null;
    }
  }
  return new Uint8Array(b.buf.buffer, b.buf.byteOffset, b.at);
}

export function decodeUnitBytes(bytes: Uint8Array): PendingAppend[][] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const count = (): number => {
    const n = b.readUInt32LE(at);
    at += 4;
    return n;
  };
  const text = (): string => {
    const end = at + 4 + b.readUInt32LE(at);
    const s = b.toString('utf8', at + 4, end);
    at = end;
    return s;
  };
  const expected = (): ExpectedRevision => {
    if (b[at++] !== 0) return text() as ExpectedRevision;
    const n = b.readDoubleLE(at);
    at += 8;
    return n;
  };
  return decodeWaves(count, text, expected);
}

export function readPragmas(db: Database): WriterPragmas {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
    busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
    walAutocheckpoint: Number(db.pragma('wal_autocheckpoint', { simple: true })),
  };
}
