/**
 * ANNALS_READ_MODELS=writer (#19, the embedded store's default): the read models applied on
 * the store writer's thread, right after each COMMIT, from the rows the writer just inserted:
 * no JSON handoff to another thread, no parse of a batch's text, no other thread woken. The
 * event loop hears the position applied with (or just after) the outcomes
 * (src/store/sqlite-writer-thread.ts), and where they stand (WriterModelsState) when it changes.
 *
 * readmodels.db keeps its own checkpoint, committed with the rows it applies (db.ts), in its
 * own transaction after the log's COMMIT: a crash between the two leaves the read models
 * behind the log, and they catch up from the log (this thread's connection to events.db) when
 * the thread starts again, as the runner does. A catch-up (at start, after a failed apply,
 * after a batch that does not start right after the checkpoint, after a rebuild's swap) reads
 * the log a page at a time, each page in its own turn of this thread's event loop: appends
 * commit between pages (their rows are reached by the catch-up) rather than wait for its end.
 * A failed apply (a full disk, a lock held on the file) is retried from the log with a growing
 * pause, and said (`error`). The log stays the source of truth; the appends' outcomes never
 * depend on the apply.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { decodePosition, encodePosition } from '../src/store/positions.js';
import { rowToEvent } from '../src/store/sqlite-rows.js';
import type { WriterModelsState } from '../src/store/sqlite-writer-protocol.js';
import type { StoredRow } from '../src/store/sqlite-writer.js';
import { ReadModelWriter, openDb, type LogEvent } from './db.js';

/** Events a catch-up applies in one turn (one transaction): an append arriving meanwhile waits for at most one page (~25 ms). */
const PAGE = 500;
const RETRY_FIRST_MS = 250;
const BUSY_MS = 100;
const RETRY_MAX_MS = 10_000;

type Row = [position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string];

export class WriterApply {
  /** The read-model file's connection and writer; null until opened (an open that fails is retried like an apply), and while paused. */
  private db: Db | null = null;
  private writer: ReadModelWriter | null = null;
  private readonly page: Statement<[number, number], Row>;
  /** The checkpoint's position as a number (0: nothing applied). */
  private at = 0;
  /** Not caught up: a catch-up runs (or waits for its retry); the commits' rows are left to it. */
  private behind = true;
  /** A rebuild's swap: the file closed, nothing applied until resume(). */
  private paused = false;
  private closed = false;
  private retryMs = RETRY_FIRST_MS;
  private retry: NodeJS.Timeout | null = null;
  private step: NodeJS.Immediate | null = null;
  lastError: string | null = null;
  /** What was last told (a change is told again). */
  private told = '';

  constructor(
    events: Db,
    private readonly path: string,
    private readonly log: Logger,
    /** Told where the read models stand when it changes (a catch-up's page, caught up, failing, recovered). */
    private readonly onState: (state: WriterModelsState) => void,
    /** Started again during a live rebuild's pause: the file is left closed until resume() (the swap replaces it). */
    paused = false,
  ) {
    this.page = events.prepare<[number, number], Row>('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT +?').raw();
    if (paused) {
      this.pause();
      return;
    }
    // A file that does not open does not stop the appends: it is opened again with the retries.
    this.attempt(() => void this.open());
    this.catchUp();
  }

  /** The position applied (null: nothing yet, or the file not open). */
  get position(): string | null {
    return this.writer?.checkpoint().position ?? null;
  }

  get state(): WriterModelsState {
    return { position: this.position, live: !this.behind && !this.paused, error: this.lastError };
  }

  private open(): ReadModelWriter {
    if (this.writer !== null) return this.writer;
    const db = openDb(this.path);
    try {
      // Nothing else writes this file in this mode (a rebuild builds another): a lock held on it
      // (an operator's shell in a write transaction) fails the apply after 100 ms, retried with
      // a growing pause, rather than stall the appends of this thread for the default 5 s each time.
      db.pragma(`busy_timeout = ${BUSY_MS}`);
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
    if (this.behind || this.paused) return this.position;
    const first = (rows[0] as StoredRow)[0];
    if (this.writer === null || first !== this.at + 1) {
      // Not right after the checkpoint (another process's commits): the log from the checkpoint on, by the catch-up.
      this.behind = true;
      this.catchUp();
      return this.position;
    }
    this.attempt(() => this.apply(rows));
    return this.position;
  }

  /** A rebuild's swap: the file closed here, nothing applied until resume(). */
  pause(): void {
    this.paused = true;
    this.cancel();
    this.detach();
    this.tell();
  }

  /** After a rebuild's swap: the file at the path opened and caught up from its checkpoint. */
  resume(): void {
    this.paused = false;
    // Opened again: the file at the path is the one the swap put there.
    this.detach();
    this.behind = true;
    this.catchUp();
  }

  close(): void {
    this.closed = true;
    this.cancel();
    this.detach();
  }

  private cancel(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    if (this.step !== null) clearImmediate(this.step);
    [this.retry, this.step] = [null, null];
  }

  private detach(): void {
    this.db?.close();
    [this.db, this.writer] = [null, null];
  }

  private apply(rows: readonly (Row | StoredRow)[]): void {
    const events = new Array<LogEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) events[i] = rowToEvent(rows[i] as Row); // a record that is not JSON: a StoreCorruptError naming it, the runner's lastError
    (this.writer as ReadModelWriter).applyBatch(events);
    this.at = (rows[rows.length - 1] as Row)[0];
  }

  /** Starts (or goes on with) the catch-up: one page a turn, up to the log's end. */
  private catchUp(): void {
    if (this.step !== null || this.retry !== null || this.paused || this.closed) return;
    this.step = setImmediate(() => {
      this.step = null;
      if (this.paused || this.closed) return;
      const more = this.attempt(() => {
        this.open();
        const rows = this.page.all(this.at, PAGE);
        if (rows.length > 0) this.apply(rows);
        return rows.length === PAGE;
      });
      if (more === true) this.catchUp();
      else if (more === false) this.behind = false;
      this.tell();
    });
  }

  private tell(): void {
    const s = this.state;
    const text = `${s.position} ${s.live} ${s.error}`;
    if (text === this.told) return;
    this.told = text;
    this.onState(s);
  }

  /** Runs `work`; a failure is said, and the log from the checkpoint on applied again after a growing pause. */
  private attempt<T>(work: () => T): T | undefined {
    try {
      const value = work();
      if (this.lastError !== null) this.log.info({ position: this.position }, 'the read models apply again on the writer thread');
      this.lastError = null;
      this.retryMs = RETRY_FIRST_MS;
      return value;
    } catch (err) {
      this.behind = true;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.error({ err, retryInMs: this.retryMs }, 'the read models could not apply the log on the writer thread; retrying from their checkpoint');
      // The connection may be in a failed transaction, or on a file no longer usable: opened again at the retry.
      this.detach();
      this.cancel();
      this.retry = setTimeout(() => {
        this.retry = null;
        this.catchUp();
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.tell();
      return undefined;
    }
  }
}
