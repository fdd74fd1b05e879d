/**
 * Group commit for the embedded store. better-sqlite3 is synchronous and each COMMIT under
 * synchronous=FULL costs an fsync, so appends issued while the event loop is busy are queued
 * and committed together on the next `setImmediate`: one BEGIN IMMEDIATE ... COMMIT, each
 * append of several events inside its own SAVEPOINT so a failed expectation rolls back only
 * that append (an append of one event needs none: see applyInSavepoint). Every
 * caller's promise settles after the shared COMMIT, so an acknowledged append is durable.
 *
 * The unit queued is a list of waves (EventStore.appendWaves): a wave is applied only when
 * every append of the waves before it succeeded, all in the same transaction, so appends that
 * must follow one another in the log still share one fsync. A single append is one wave of one.
 */
import type { Database, Statement } from 'better-sqlite3';
import { secondsSince, type MetricsSink } from '../metrics/sink.js';
import { DuplicateEventError, WrongExpectedRevisionError } from './errors.js';
import type { AppendedEvent, AppendResult, ExpectedRevision } from './port.js';
import { encodePosition } from './positions.js';
import { sameJson } from './sqlite-rows.js';
import { translateSqliteError } from './sqlite-errors.js';
import type { Sealer } from './sqlite-seal.js';

/** An event already serialised, so nothing inside the transaction can throw on bad input. */
export interface PendingEvent {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

export interface PendingAppend {
  readonly stream: string;
  readonly events: readonly PendingEvent[];
  readonly expected: ExpectedRevision;
}

/** One append's outcome; null when it was not attempted because an earlier wave failed. */
export type AppendOutcome = { ok: true; value: AppendResult } | { ok: false; error: unknown } | null;

export interface PendingWaves {
  readonly waves: readonly (readonly PendingAppend[])[];
  /** After the COMMIT: one outcome per append, wave by wave. */
  readonly resolve: (outcomes: AppendOutcome[][]) => void;
  /** A driver fault aborted the transaction: nothing of it was stored. */
  readonly reject: (e: unknown) => void;
}

/** Thrown inside a savepoint when an id is already stored; handled after rolling it back. */
class IdConflict extends Error {}

type Outcome = { ok: true; value: AppendResult } | { ok: false; error: unknown };

type StoredById = [position: number, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string];

export interface GroupWriterOptions {
  /** Most appends in one transaction; the rest go in the next one (a unit of waves is never split). */
  readonly maxAppendsPerCommit: number;
  /** Called after every COMMIT that stored at least one event. */
  readonly onCommitted: () => void;
  /** What recordedAt is read from, once per transaction. Default: the wall clock. */
  readonly clock?: () => Date;
  /** Told how long each transaction took (annals_store_commit_duration_seconds). Default: nobody. */
  readonly metrics?: Pick<MetricsSink, 'commitSeconds'>;
  /** Seals every row it inserts (sqlite-seal.ts); null: rows go unsealed (tests, tools without the key). */
  readonly sealer: Sealer | null;
  /**
   * Called after every COMMIT that stored events, with the rows it stored in log order,
   * exactly as inserted (sqlite-writer-feed.ts hands them to the log's followers). Default: nobody.
   */
  readonly onStored?: (rows: readonly StoredRow[]) => void;
}

/** A row as the writer inserted it: position, id, stream, revision, type, data and metadata (JSON text), recordedAt. */
export type StoredRow = [position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string];

export class GroupWriter {
  private queue: PendingWaves[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollbackTo: Statement;
  private readonly tail: Statement<[], [number, string]>;
  private readonly lastRevision: Statement<[string], [number]>;
  private readonly insert: Statement<[number, string, string, number, string, string, string, string, Buffer | null]>;
  private readonly byId: Statement<[string], StoredById>;

  // Per-transaction state.
  private nextPosition = 0;
  private recordedAt = '';
  /** The rows inserted in this transaction, when someone hears them (onStored); an append rolled back takes its rows out. */
  private stored: StoredRow[] | null = null;

  constructor(
    private readonly db: Database,
    private readonly options: GroupWriterOptions,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT annals_append');
    this.release = db.prepare('RELEASE annals_append');
    this.rollbackTo = db.prepare('ROLLBACK TO annals_append');
    this.tail = db.prepare<[], [number, string]>('SELECT position, recorded_at FROM events ORDER BY position DESC LIMIT 1').raw();
    this.lastRevision = db
      .prepare<[string], [number]>('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1')
      .raw();
    this.insert = db.prepare(
      'INSERT INTO events (position, id, stream, revision, type, data, metadata, recorded_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.byId = db
      .prepare<[string], StoredById>('SELECT position, stream, revision, type, data, metadata, recorded_at FROM events WHERE id = ?')
      .raw();
  }

  enqueue(unit: PendingWaves): void {
    this.queue.push(unit);
    if (this.scheduled === null) this.scheduled = setImmediate(() => this.flush());
  }

  /** Commits everything queued now, synchronously. Used by the timer and by close(). */
  flush(): void {
    if (this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    while (this.queue.length > 0) {
      let units = 0;
      let appends = 0;
      while (units < this.queue.length) {
        const size = appendsIn(this.queue[units] as PendingWaves);
        if (units > 0 && appends + size > this.options.maxAppendsPerCommit) break;
        appends += size;
        units++;
      }
      const batch = units === this.queue.length ? this.queue : this.queue.slice(0, units);
      this.queue = batch === this.queue ? [] : this.queue.slice(units);
      this.commitBatch(batch);
    }
  }

  private commitBatch(batch: readonly PendingWaves[]): void {
    const outcomes: AppendOutcome[][][] = [];
    let stored = false;
    const started = performance.now();
    try {
      this.begin.run();
      const tail = this.tail.get();
      this.nextPosition = (tail?.[0] ?? 0) + 1;
      // Never before the last stored event, even if this clock is behind another writer's.
      const now = (this.options.clock?.() ?? new Date()).toISOString();
      this.recordedAt = tail !== undefined && tail[1] > now ? tail[1] : now;
      const firstPosition = this.nextPosition;
      this.stored = this.options.onStored ? [] : null;
      for (const unit of batch) outcomes.push(this.applyWaves(unit.waves));
      stored = this.nextPosition > firstPosition;
      this.commit.run();
      this.options.metrics?.commitSeconds(secondsSince(started));
    } catch (e) {
      this.stored = null;
      /* c8 ignore start: needs a driver fault (disk full, I/O error, lock timeout mid-batch) */
      if (this.db.inTransaction) {
        try {
          this.rollback.run();
        } catch {
          // The connection is already broken; the original error says why.
        }
      }
      /* c8 ignore stop */
      const error = translateSqliteError(e);
      for (const a of batch) a.reject(error);
      return;
    }
    const rows = this.stored;
    this.stored = null;
    // The followers first: their copy is on its way before the callers hear the outcome.
    if (stored && rows !== null) this.options.onStored?.(rows);
    for (let i = 0; i < batch.length; i++) (batch[i] as PendingWaves).resolve(outcomes[i] as AppendOutcome[][]);
    if (stored) this.options.onCommitted();
  }

  private applyWaves(waves: readonly (readonly PendingAppend[])[]): AppendOutcome[][] {
    const outcomes: AppendOutcome[][] = [];
    let failed = false;
    for (const wave of waves) {
      if (failed) {
        outcomes.push(wave.map(() => null));
        continue;
      }
      const done = wave.map((append) => this.applyInSavepoint(append));
      failed = done.some((o) => !o.ok);
      outcomes.push(done);
    }
    return outcomes;
  }

  /**
   * Port errors (expectation, duplicate) belong to one append and are returned as its
   * outcome; anything else is a driver fault that aborts the whole transaction.
   */
  private applyInSavepoint(append: PendingAppend): Outcome {
    const firstPosition = this.nextPosition;
    const firstRow = this.stored?.length ?? 0;
    // One event (most appends: a fact, a key reservation) needs no savepoint: the expectation
    // is checked before anything is written, and a failed INSERT undoes itself (SQLite's
    // statement journal) without ending the transaction. Two statements fewer per append.
    const savepoint = append.events.length > 1;
    if (savepoint) this.savepoint.run();
    try {
      const value = this.apply(append);
      if (savepoint) this.release.run();
      return { ok: true, value };
    } catch (e) {
      if (savepoint) {
        this.rollbackTo.run();
        this.release.run();
      }
      this.nextPosition = firstPosition;
      if (this.stored !== null) this.stored.length = firstRow;
      if (e instanceof WrongExpectedRevisionError || e instanceof DuplicateEventError) return { ok: false, error: e };
      if (e instanceof IdConflict) {
        try {
          const retry = this.findRetry(append);
          if (retry !== null) return { ok: true, value: retry };
          return { ok: false, error: new DuplicateEventError(append.stream, duplicateWithin(append.events)) };
        } catch (e2) {
          if (e2 instanceof DuplicateEventError) return { ok: false, error: e2 };
          throw e2;
        }
      }
      throw e;
    }
  }

  private apply(append: PendingAppend): AppendResult {
    const { stream, events, expected } = append;
    const current = this.lastRevision.get(stream)?.[0] ?? null;
    if (!expectationHolds(expected, current)) {
      // A retry of an append that succeeded must answer as it did the first time, even
      // though the stream has moved past the expectation since.
      const retry = this.findRetry(append);
      if (retry !== null) return retry;
      throw new WrongExpectedRevisionError(stream, String(expected), current === null ? 'no_stream' : String(current));
    }
    let revision = current === null ? 0 : current + 1;
    const appended: AppendedEvent[] = [];
    const sealer = this.options.sealer;
    for (const ev of events) {
      const position = this.nextPosition;
      const seal = sealer === null ? null : sealer.seal(position, ev.id, stream, revision, ev.type, ev.data, ev.metadata, this.recordedAt);
      try {
        this.insert.run(position, ev.id, stream, revision, ev.type, ev.data, ev.metadata, this.recordedAt, seal);
      } catch (e) {
        if (isUniqueViolation(e)) throw new IdConflict();
        throw e;
      }
      this.stored?.push([position, ev.id, stream, revision, ev.type, ev.data, ev.metadata, this.recordedAt]);
      appended.push({ id: ev.id, revision, position: encodePosition(position), recordedAt: this.recordedAt });
      this.nextPosition = position + 1;
      revision++;
    }
    return { stream, nextRevision: revision - 1 < 0 ? -1 : revision - 1, events: appended };
  }

  /**
   * The original result when every id is already stored in this stream with the same
   * content; null when none of them is stored; DuplicateEventError for anything in between.
   */
  private findRetry(append: PendingAppend): AppendResult | null {
    if (append.events.length === 0) return null;
    const found: AppendedEvent[] = [];
    let missing: string | null = null;
    let nextRevision = -1;
    for (const ev of append.events) {
      const row = this.byId.get(ev.id);
      if (row === undefined) {
        missing ??= ev.id;
        continue;
      }
      const [position, stream, revision, type, data, metadata, recordedAt] = row;
      if (stream !== append.stream || type !== ev.type || !sameJson(data, ev.data) || !sameJson(metadata, ev.metadata)) {
        throw new DuplicateEventError(append.stream, ev.id);
      }
      found.push({ id: ev.id, revision, position: encodePosition(position), recordedAt });
      if (revision > nextRevision) nextRevision = revision;
    }
    if (found.length === 0) return null;
    if (missing !== null) throw new DuplicateEventError(append.stream, (found[0] as AppendedEvent).id);
    return { stream: append.stream, nextRevision, events: found };
  }
}

function appendsIn(unit: PendingWaves): number {
  let n = 0;
  for (const wave of unit.waves) n += wave.length;
  return n;
}

export function expectationHolds(expected: ExpectedRevision, current: number | null): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === null;
    case 'stream_exists':
      return current !== null;
    default:
      return current === expected;
  }
}

function isUniqueViolation(e: unknown): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    String((e as { message?: unknown }).message).includes('events.id')
  );
}

/** The first id that appears twice in one append (the only way an id conflicts with itself). */
function duplicateWithin(events: readonly PendingEvent[]): string {
  const seen = new Set<string>();
  for (const ev of events) {
    if (seen.has(ev.id)) return ev.id;
    seen.add(ev.id);
  }
  /* c8 ignore next 2: a unique violation always has a cause found above or in the table */
  return events[0]?.id ?? '';
}
