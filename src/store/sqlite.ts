/**
 * The embedded event store: one SQLite file through better-sqlite3, WAL with
 * synchronous=FULL, global positions assigned inside BEGIN IMMEDIATE, concurrent appends
 * group-committed (sqlite-writer.ts). Several processes may open the same file: writers wait
 * for each other up to `busyTimeoutMs`, subscriptions see the other processes' commits by
 * polling.
 *
 * Opening is synchronous (better-sqlite3 is); every EventStore method still returns a
 * promise, as the port requires.
 */
import type { Logger } from 'pino';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreUnavailableError } from './errors.js';
import type {
  AppendRequest,
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  SubscribeOptions,
  Subscription,
  WaveOutcome,
} from './port.js';
import { decodePosition, encodePosition } from './positions.js';
import { randomUUID } from 'node:crypto';
import { ensurePrivateFile } from './private-files.js';
import { EVENT_COLUMNS, RowReader, SEALED_COLUMNS, rowsToEvents, sealedRowsToEvents, toJsonText, type EventRow, type SealedRow } from './sqlite-rows.js';
import { configureConnection, migrate, readLogId } from './sqlite-schema.js';
import { Sealer } from './sqlite-seal.js';
import { translateSqliteError } from './sqlite-errors.js';
import { ChangeNotifier, PagingSubscription, type Page, type PageSource } from './sqlite-subscription.js';
import { GroupWriter, type AppendOutcome, type PendingAppend } from './sqlite-writer.js';
import { skipped } from './waves.js';
import { WriterThread } from './sqlite-writer-client.js';
import { readPragmas, type WriterModelsState, type WriterPragmas } from './sqlite-writer-protocol.js';
import type { MetricsSink } from '../metrics/sink.js';
import type { MessagePort } from 'node:worker_threads';
import type { CommittedFeed } from './sqlite-writer-feed.js';

export interface SqliteStoreOptions {
  /** How long a write waits for another process's write lock before StoreUnavailableError. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Most appends group-committed in one transaction (one `appendWaves` call is never split, however many it has). Default 1000. */
  readonly maxAppendsPerCommit?: number;
  /** How often an idle subscription checks for other processes' commits. Default 50 ms. */
  readonly pollIntervalMs?: number;
  /** Events a subscription reads per page while catching up. Default 1000 (larger pages measured slower: the page outgrows the young generation and GC dominates). */
  readonly subscriptionPageSize?: number;
  /**
   * Positions scanned per query when reading with several types (see rowsAfter): bounds the
   * sort SQLite does per query. Default 16384.
   */
  readonly typeScanWindow?: number;
  /** SQLite page cache of this connection in KiB. Default 65536 (64 MiB). */
  readonly cacheSizeKiB?: number;
  /**
   * Where appends are committed: `thread` (default), a worker thread with its own connection,
   * so inserts and the COMMIT's fsync do not stop the event loop; `inline`, on the caller's
   * thread (one thread less; what a short-lived CLI or a test may prefer).
   */
  readonly writer?: 'thread' | 'inline';
  /**
   * What `recordedAt` is read from, at commit (kept from going back before the last stored
   * event). Default: the wall clock. Only the inline writer takes one: the writer thread
   * commits in another thread, which reads its own wall clock.
   */
  readonly clock?: () => Date;
  /** Hears commit latencies and writer-thread restarts (src/metrics/sink.ts). Default: nobody. */
  readonly metrics?: MetricsSink;
  /** Where a writer thread's restart is told (thread-client.ts). Default: nowhere. */
  readonly log?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Seals every appended row with this key (sqlite-seal.ts: HMAC-SHA256, 32 bytes or more)
   * and lets `checked()` verify seals. Default: none (rows go unsealed; tests and tools).
   */
  readonly sealKey?: Uint8Array;
  /**
   * Opens an existing file for reading only (export, replay, backup beside a running
   * service): nothing created or migrated, appends refused. Default false.
   */
  readonly readOnly?: boolean;
  /**
   * Where the writer hands what it commits (sqlite-writer-feed.ts): a follower thread's store
   * gives it to its unfiltered subscription, which then reads the log only to catch up or to
   * fill a gap. Default: none (subscriptions read every event from the file).
   */
  readonly feed?: CommittedFeed;
  /** ANNALS_READ_MODELS=writer (writer thread only): the read models applied on the writer's thread after each COMMIT (WriterInit.readModels). */
  readonly readModels?: { readonly path: string; readonly logLevel: string; readonly replyFirst: boolean };
}

/** The embedded store, plus what only it can answer (used by tests and /readyz). */
export interface SqliteEventStore extends EventStore {
  readonly path: string;
  /** Always present here: every wave in one transaction. */
  appendWaves(waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]>;
  /** The connection's settings as SQLite reports them (synchronous: 2 = FULL). */
  pragmas(): WriterPragmas;
  /** The same, of the connection that commits appends (the writer thread's, or this one). */
  writerPragmas(): Promise<WriterPragmas>;
  /** Where appends commit (SqliteStoreOptions.writer). */
  readonly writer: 'thread' | 'inline';
  /** Calls `listener` after each of this store's commits that stored events (e.g. to wake a follower in another thread). */
  onCommitted(listener: () => void): void;
  /** Another connection committed: let subscriptions read on now rather than at their next poll. */
  poke(): void;
  /**
   * Has the writer thread post what each COMMIT stored on a port of its own, handed to
   * `deliver` now and again after the writer thread restarts (the caller passes it to the
   * follower thread, whose store takes it as its `feed`). Calling again with the same name
   * replaces the port (the follower restarted). False with the inline writer: nothing to hand.
   */
  handCommitted(name: string, deliver: (port: MessagePort) => void): boolean;
  /**
   * With the read models on the writer thread (SqliteStoreOptions.readModels): calls `listener`
   * with each position they reached, before the outcomes of that COMMIT settle, and starts the
   * thread now. False without a writer thread.
   */
  onReadModelsApplied(listener: (position: string | null) => void, onState?: (state: WriterModelsState) => void): boolean;
  /**
   * With the read models on the writer thread: `pause` closes their file there and applies
   * nothing until `resume`, which opens the file at the path again and catches up from its
   * checkpoint (a live rebuild swaps a fresh file in between). Rejects without a writer thread.
   */
  readModelsOnWriter(op: 'pause' | 'resume'): Promise<void>;
  /** The log's random id, made with the file (table `meta`); null for a file older than seals opened read-only. */
  readonly logId: string | null;
  /**
   * This store, reading each event with its seal checked (StoredEvent.integrity): what the
   * audit follower and verify read. Needs `sealKey`.
   */
  checked(): EventStore;
  /** A consistent copy of the whole file at `dest` while others go on writing (SQLite's online backup). */
  backup(dest: string): Promise<void>;
  /**
   * What `readAll` (every type) reads, as the rows SQLite returns them, unparsed (EventRow;
   * rowToEvent makes each an event). The rebuild's decoding thread makes each event as it
   * decodes it, so a page's parsed events are not all alive at once.
   */
  readAllRows(options?: Omit<ReadAllOptions, 'types'>): EventRow[];
}

/** Opens (creating if needed) the store file at `path`. Throws StoreUnavailableError if it cannot. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteEventStore {
  if (options.clock && options.writer !== 'inline') throw new RangeError("a clock is taken by the inline writer only (writer: 'inline'); the writer thread reads its own wall clock");
  let db: Db;
  try {
    // Created 0600 before SQLite opens it, so the log and its -wal and -shm stay the owner's.
    if (!options.readOnly) ensurePrivateFile(path, { sqlite: true });
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000, fileMustExist: options.readOnly === true });
  } catch (e) {
    const missing = options.readOnly && (e as { code?: string }).code === 'SQLITE_CANTOPEN';
    throw new StoreUnavailableError(missing ? `there is no event log at ${path}: check --data-dir (nothing was ever recorded there)` : `cannot open embedded store at ${path}: ${(e as Error).message}`, { cause: e });
  }
  let logId: string | null;
  try {
    configureConnection(db, { busyTimeoutMs: options.busyTimeoutMs ?? 5000, cacheSizeKiB: options.cacheSizeKiB ?? 65536 });
    if (options.readOnly) {
      logId = readLogId(db);
      db.pragma('query_only = ON');
    } else logId = migrate(db, options.sealKey ?? null, () => randomUUID());
  } catch (e) {
    db.close();
    const t = translateSqliteError(e);
    if (t instanceof StoreUnavailableError) throw t;
    throw new StoreUnavailableError(`cannot open embedded store at ${path}: ${(e as Error).message}`, { cause: e });
  }
  return new SqliteStore(db, path, options, logId);
}

class SqliteStore implements SqliteEventStore {
  readonly name: string;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Exactly one of the two. */
  private readonly inline: GroupWriter | null = null;
  private readonly thread: WriterThread | null = null;
  private readonly notifier: ChangeNotifier;
  private readonly subscriptions = new Set<PagingSubscription>();
  private readonly committedListeners: Array<() => void> = [];
  private readonly pageSize: number;
  private readonly typeScanWindow: number;
  private readonly readOnly: boolean;
  private readonly sealer: Sealer | null;
  private readonly plain: RowReader;
  private readonly feed: CommittedFeed | null;
  private sealed: RowReader | null = null;
  private view: (EventStore & { readonly logId: string | null }) | null = null;

  private readonly headStmt: Statement<[], [number]>;
  private readonly dataVersionStmt: Statement<[], [number]>;

  constructor(
    private readonly db: Db,
    readonly path: string,
    options: SqliteStoreOptions,
    readonly logId: string | null,
  ) {
    this.name = `sqlite:${path}`;
    this.pageSize = Math.max(1, options.subscriptionPageSize ?? 1000);
    this.typeScanWindow = Math.max(1, options.typeScanWindow ?? 16_384);
    this.notifier = new ChangeNotifier(() => this.dataVersion(), Math.max(1, options.pollIntervalMs ?? 50));
    const maxAppendsPerCommit = Math.max(1, options.maxAppendsPerCommit ?? 1000);
    const onCommitted = () => {
      this.notifier.notify();
      for (const l of this.committedListeners) l();
    };
    this.readOnly = options.readOnly === true;
    this.feed = options.feed ?? null;
    const seal = options.sealKey !== undefined && logId !== null ? { key: options.sealKey, logId } : undefined;
    this.sealer = seal ? new Sealer(seal.key, seal.logId) : null;
    if (options.writer === 'inline' || this.readOnly) this.inline = new GroupWriter(db, { maxAppendsPerCommit, onCommitted, sealer: this.sealer, ...(options.clock ? { clock: options.clock } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) });
    else {
      const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
      this.thread = new WriterThread({ path, busyTimeoutMs, cacheSizeKiB: options.cacheSizeKiB ?? 65536, maxAppendsPerCommit, ...(seal ? { seal } : {}), ...(options.readModels ? { readModels: options.readModels } : {}) }, onCommitted, options.metrics, options.log);
    }
    this.plain = new RowReader(db, EVENT_COLUMNS, (rows) => rowsToEvents(rows as EventRow[]));
    this.headStmt = db.prepare<[], [number]>('SELECT max(position) FROM events').raw();
    this.dataVersionStmt = db.prepare<[], [number]>('PRAGMA data_version').raw();
  }

  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(closedError(this.name));
    if (this.readOnly) return Promise.reject(readOnlyError(this.name));
    let pending: PendingAppend;
    try {
      pending = serialise({ stream, events, expected });
    } catch (e) {
      return Promise.reject(e);
    }
    return this.commitWaves([[pending]]).then((outcomes) => {
      const o = outcomes[0]?.[0] as Exclude<AppendOutcome, null>;
      if (o.ok) return o.value;
      throw o.error;
    });
  }

  /**
   * All the waves in one transaction (one fsync). A malformed append fails like a refused
   * one: the rest of its wave is still appended, the later waves are not.
   */
  async appendWaves(waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]> {
    if (this.closed) throw closedError(this.name);
    if (this.readOnly) throw readOnlyError(this.name);
    const outcomes: (WaveOutcome | undefined)[][] = [];
    const sent: PendingAppend[][] = [];
    let malformed = false;
    for (const wave of waves) {
      if (malformed) {
        outcomes.push(wave.map(() => skipped()));
        continue;
      }
      const mine: (WaveOutcome | undefined)[] = [];
      const toSend: PendingAppend[] = [];
      for (const a of wave) {
        try {
          toSend.push(serialise(a));
          mine.push(undefined);
        } catch (reason) {
          mine.push({ status: 'rejected', reason });
          malformed = true;
        }
      }
      outcomes.push(mine);
      sent.push(toSend);
    }
    // Every append malformed: nothing to commit, no write lock to take.
    const committed = sent.some((w) => w.length > 0) ? await this.commitWaves(sent) : [];
    return outcomes.map((wave, w) => {
      let k = 0;
      return wave.map((o) => o ?? settled((committed[w] as AppendOutcome[])[k++] as AppendOutcome));
    });
  }

  private commitWaves(waves: PendingAppend[][]): Promise<AppendOutcome[][]> {
    if (this.thread !== null) return this.thread.appendWaves(waves);
    const writer = this.inline as GroupWriter;
    return new Promise((resolve, reject) => writer.enqueue({ waves, resolve, reject }));
  }

  readStream(stream: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    return this.readStreamWith(this.plain, stream, options);
  }

  readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return this.readAllWith(this.plain, options);
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    return this.subscribeWith(this.plain, options);
  }

  readAllRows(options: Omit<ReadAllOptions, 'types'> = {}): EventRow[] {
    const after = options.after === undefined ? 0 : decodePosition(options.after);
    const limit = limitOf(options.limit);
    if (limit === 0) return [];
    this.assertOpen();
    return this.guard(() => this.plain.allAfter.all(after, limit) as EventRow[]);
  }

  checked(): EventStore {
    if (this.view !== null) return this.view;
    const sealer = this.sealer;
    if (sealer === null) throw new Error(`${this.name} was opened without a seal key: it cannot check seals`);
    const reader = (this.sealed ??= new RowReader(this.db, SEALED_COLUMNS, (rows) => sealedRowsToEvents(rows as SealedRow[], sealer)));
    this.view = {
      name: `${this.name} (seals checked)`,
      logId: this.logId,
      append: (stream, events, expected) => this.append(stream, events, expected),
      appendWaves: (waves) => this.appendWaves(waves),
      readStream: (stream, options = {}) => this.readStreamWith(reader, stream, options),
      readAll: (options = {}) => this.readAllWith(reader, options),
      subscribe: (options = {}) => this.subscribeWith(reader, options),
      head: () => this.head(),
      // The view owns nothing: whoever opened the store closes it.
      close: async () => undefined,
    };
    return this.view;
  }

  async backup(dest: string): Promise<void> {
    this.assertOpen();
    // One step copies every page under one read transaction: a consistent snapshot, where
    // small steps would start over each time another connection commits (SQLite's rule).
    await this.guardAsync(() => this.db.backup(dest, { progress: () => 0x7fffffff }));
  }

  private async readStreamWith(reader: RowReader, stream: string, options: ReadStreamOptions): Promise<StoredEvent[]> {
    const limit = limitOf(options.limit);
    if (limit === 0) return [];
    return this.read(reader, () =>
      options.direction === 'backwards'
        ? reader.streamBackwards.all(stream, options.fromRevision ?? Number.MAX_SAFE_INTEGER, limit)
        : reader.streamForwards.all(stream, options.fromRevision ?? 0, limit),
    );
  }

  private async readAllWith(reader: RowReader, options: ReadAllOptions): Promise<StoredEvent[]> {
    const after = options.after === undefined ? 0 : decodePosition(options.after);
    const limit = limitOf(options.limit);
    if (limit === 0) return [];
    return this.read(reader, () => this.rowsAfter(reader, after, Number.MAX_SAFE_INTEGER, limit, options.types));
  }

  private subscribeWith(reader: RowReader, options: SubscribeOptions): Subscription {
    const after = options.after === undefined ? 0 : decodePosition(options.after);
    const source: PageSource = { readPage: (a, limit, types) => this.readPage(reader, a, limit, types), dataVersion: () => this.dataVersion(), head: () => this.headNumber() };
    // The writer's batches go to the follower's one unfiltered subscription (the latest made).
    const fed = this.feed !== null && options.types === undefined;
    if (fed) for (const s of this.subscriptions) s.unfeed();
    const sub = new PagingSubscription(
      source,
      this.notifier,
      {
        after,
        types: options.types === undefined ? undefined : [...options.types],
        pageSize: this.pageSize,
        ...(fed ? { feed: { feed: this.feed as CommittedFeed, checksSeals: reader !== this.plain } } : {}),
      },
      (s) => this.subscriptions.delete(s),
    );
    if (this.closed) void sub.close();
    else this.subscriptions.add(sub);
    return sub;
  }

  async head(): Promise<Position | null> {
    this.assertOpen();
    const n = this.guard(() => this.headStmt.get()?.[0] ?? null);
    return n === null ? null : encodePosition(n);
  }

  pragmas(): WriterPragmas {
    this.assertOpen();
    return readPragmas(this.db);
  }

  async writerPragmas(): Promise<WriterPragmas> {
    this.assertOpen();
    return this.thread === null ? readPragmas(this.db) : await this.thread.pragmas();
  }

  onReadModelsApplied(listener: (position: string | null) => void, onState?: (state: WriterModelsState) => void): boolean {
    if (this.thread === null) return false;
    this.thread.onApplied(listener);
    if (onState) this.thread.onModelsState(onState);
    this.thread.startNow();
    return true;
  }

  async readModelsOnWriter(op: 'pause' | 'resume'): Promise<void> {
    this.assertOpen();
    if (this.thread === null) throw new Error('the read models are applied on the writer thread only with one (ANNALS_SQLITE_WRITER=thread)');
    await this.thread.models(op);
  }

  handCommitted(name: string, deliver: (port: MessagePort) => void): boolean {
    if (this.thread === null || this.closed) return false;
    this.thread.handCommitted(name, deliver);
    return true;
  }

  onCommitted(listener: () => void): void {
    this.committedListeners.push(listener);
  }

  poke(): void {
    if (!this.closed) this.notifier.notify();
  }

  get writer(): 'thread' | 'inline' {
    return this.thread === null ? 'inline' : 'thread';
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  // For subscriptions (PageSource).

  private readPage(reader: RowReader, after: number, limit: number, types: readonly string[] | undefined): Page {
    this.assertOpen();
    return this.guard(() => {
      // Bound the page by the head read first, so "scanned up to head" is true even when
      // another process commits between the two statements.
      const head = this.headStmt.get()?.[0] ?? 0;
      if (head <= after) return { events: [], scannedTo: after };
      const rows = this.rowsAfter(reader, after, head, limit, types);
      const events = reader.toEvents(rows);
      const scannedTo = rows.length === limit ? ((rows[rows.length - 1] as unknown[])[0] as number) : head;
      return { events, scannedTo };
    });
  }

  private headNumber(): number {
    this.assertOpen();
    return this.guard(() => this.headStmt.get()?.[0] ?? 0);
  }

  private dataVersion(): number {
    return this.dataVersionStmt.get()?.[0] ?? 0;
  }

  private rowsAfter(reader: RowReader, after: number, upTo: number, limit: number, types: readonly string[] | undefined): unknown[][] {
    if (types === undefined) {
      return upTo === Number.MAX_SAFE_INTEGER ? reader.allAfter.all(after, limit) : reader.allAfterUpTo.all(after, upTo, limit);
    }
    if (types.length === 0) return [];
    const stmt = reader.typed(types.length);
    if (types.length === 1) return stmt.all(after, upTo, ...types, limit);
    // With several types SQLite reads the (type, position) index once per type and sorts:
    // over the whole log that is a sort of every later match for each page, quadratic over a
    // catch-up. Walking bounded windows of positions keeps each sort small.
    const end = upTo === Number.MAX_SAFE_INTEGER ? (this.headStmt.get()?.[0] ?? 0) : upTo;
    const rows: unknown[][] = [];
    for (let from = after; from < end && (limit < 0 || rows.length < limit); from += this.typeScanWindow) {
      const to = Math.min(end, from + this.typeScanWindow);
      const got = stmt.all(from, to, ...types, limit < 0 ? -1 : limit - rows.length);
      for (const r of got) rows.push(r);
    }
    return rows;
  }

  private read(reader: RowReader, query: () => unknown[][]): StoredEvent[] {
    this.assertOpen();
    return this.guard(() => reader.toEvents(query()));
  }

  private async guardAsync<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw translateSqliteError(e);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw closedError(this.name);
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    // Queued appends were accepted before close: commit them rather than drop them.
    this.inline?.flush();
    await this.thread?.close();
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.feed?.close();
    this.notifier.stop();
    this.db.close();
  }
}

function closedError(name: string): StoreUnavailableError {
  return new StoreUnavailableError(`${name} is closed`);
}

function readOnlyError(name: string): Error {
  return new TypeError(`${name} was opened read-only: it takes no appends`);
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined) return -1; // SQLite: no limit
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** Checks an append and serialises its payloads, so nothing inside the transaction can throw on bad input. */
function serialise({ stream, events, expected }: AppendRequest): PendingAppend {
  validateAppend(stream, events, expected);
  return { stream, expected, events: events.map((e) => ({ id: e.id, type: e.type, data: toJsonText(e.data), metadata: toJsonText(e.metadata) })) };
}

function settled(o: AppendOutcome): WaveOutcome {
  if (o === null) return skipped();
  return o.ok ? { status: 'fulfilled', value: o.value } : { status: 'rejected', reason: o.error };
}

function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('stream must be a non-empty string');
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  if (typeof expected === 'number') {
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new TypeError(`expected revision must be a non-negative integer, got ${expected}`);
    }
  } else if (expected !== 'any' && expected !== 'no_stream' && expected !== 'stream_exists') {
    throw new TypeError(`unknown expected revision ${String(expected)}`);
  }
  for (const e of events) {
    if (typeof e.id !== 'string' || e.id.length === 0) throw new TypeError('event id must be a non-empty string');
    if (typeof e.type !== 'string' || e.type.length === 0) throw new TypeError('event type must be a non-empty string');
    if (typeof e.metadata !== 'object' || e.metadata === null || Array.isArray(e.metadata)) {
      throw new TypeError('event metadata must be an object');
    }
  }
}
