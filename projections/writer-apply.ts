/**
 * ANNALS_READ_MODELS=writer (a prototype, #19): the read models applied on the store writer's
 * thread, right after each COMMIT, from the rows the writer just inserted: no JSON handoff to
 * another thread, no parse of a batch's text, no other thread woken. The event loop hears the
 * position applied with (or just after) the outcomes (src/store/sqlite-writer-thread.ts).
 *
 * readmodels.db keeps its own checkpoint, committed with the rows it applies (db.ts), in its
 * own transaction after the log's COMMIT: a crash between the two leaves the read models
 * behind the log, and they catch up from the log (this thread's connection to events.db) when
 * the thread starts again, as the runner does. A batch that does not start right after the
 * checkpoint (another process's commits, an apply that failed) makes them catch up from the
 * log first; a failed apply (a full disk) is retried from the log with a growing pause. The
 * log stays the source of truth; the appends' outcomes never depend on the apply.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { decodePosition, encodePosition } from '../src/store/positions.js';
import type { StoredRow } from '../src/store/sqlite-writer.js';
import { ReadModelWriter, openDb, type LogEvent } from './db.js';

const PAGE = 2000;
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;

type Row = [position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string];

function toEvent(r: Row | StoredRow): LogEvent {
  return { id: r[1], stream: r[2], revision: r[3], position: encodePosition(r[0]), type: r[4], data: JSON.parse(r[5]) as unknown, metadata: JSON.parse(r[6]) as Record<string, unknown>, recordedAt: r[7] };
}

export class WriterApply {
  /** The read-model file's connection and writer; null until opened (an open that fails is retried like an apply). */
  private db: Db | null = null;
  private writer: ReadModelWriter | null = null;
  private readonly page: Statement<[number, number], Row>;
  /** The checkpoint's position as a number (0: nothing applied). */
  private at: number;
  /** The last apply failed: the next one catches up from the log first. */
  private behind = true;
  private retryMs = RETRY_FIRST_MS;
  private retry: NodeJS.Timeout | null = null;
  lastError: string | null = null;

  constructor(
    events: Db,
    private readonly path: string,
    private readonly log: Logger,
    /** Told the position after a catch-up the retry timer made (no COMMIT to carry it). */
    private readonly onCaughtUp: (position: string | null) => void,
  ) {
    this.page = events.prepare<[number, number], Row>('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT +?').raw();
    this.at = 0;
    // A file that does not open does not stop the appends: it is opened again with the retries.
    this.attempt(() => this.catchUp());
  }

  /** The position applied (null: nothing yet, or the file not open). */
  get position(): string | null {
    return this.writer?.checkpoint().position ?? null;
  }

  private open(): ReadModelWriter {
    if (this.writer !== null) return this.writer;
    const db = openDb(this.path);
    try {
      const writer = new ReadModelWriter(db, this.log);
      const cp = writer.checkpoint().position;
      this.at = cp === null ? 0 : decodePosition(cp);
      [this.db, this.writer] = [db, writer];
      return writer;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** After a COMMIT that stored `rows` (positions contiguous, in log order): applies them; returns the position applied. */
  committed(rows: readonly StoredRow[]): string | null {
    const first = (rows[0] as StoredRow)[0];
    if (this.retry !== null) return this.position;
    this.attempt(() => {
      if (this.behind || this.writer === null || first !== this.at + 1) this.catchUp();
      else this.apply(rows);
    });
    return this.position;
  }

  close(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    this.db?.close();
    [this.db, this.writer] = [null, null];
  }

  private apply(rows: readonly (Row | StoredRow)[]): void {
    const events = new Array<LogEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = toEvent(rows[i] as Row);
    (this.writer as ReadModelWriter).applyBatch(events);
    this.at = (rows[rows.length - 1] as Row)[0];
  }

  /** Reads the log after the checkpoint, a page at a time, up to its end. */
  private catchUp(): void {
    this.open();
    for (;;) {
      const rows = this.page.all(this.at, PAGE);
      if (rows.length === 0) break;
      this.apply(rows);
    }
    this.behind = false;
  }

  private attempt(work: () => void): void {
    try {
      work();
      this.lastError = null;
      this.retryMs = RETRY_FIRST_MS;
    } catch (err) {
      this.behind = true;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.error({ err, retryInMs: this.retryMs }, 'the read models could not apply the log on the writer thread; retrying from their checkpoint');
      this.retry = setTimeout(() => {
        this.retry = null;
        this.attempt(() => this.catchUp());
        if (this.retry === null) this.onCaughtUp(this.position);
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    }
  }
}
