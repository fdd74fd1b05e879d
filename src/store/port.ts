/**
 * The event store port: the one narrow interface every adapter (embedded SQLite, EventStoreDB)
 * implements and the contract suite in test/fixtures/store-contract.ts checks. It knows no
 * meaning: streams, revisions, positions and opaque JSON payloads.
 */

/**
 * A global position in the log. Opaque to callers, but positions of one store compare
 * correctly as plain strings (`a < b` means a was committed before b), so they can be kept
 * as checkpoints in SQLite TEXT columns and compared without knowing the adapter.
 */
export type Position = string;

/**
 * What the writer believes about the stream it read:
 * - `any`: no check;
 * - `no_stream`: the stream must not exist yet;
 * - `stream_exists`: the stream must have at least one event;
 * - a number: the revision of the stream's last event (revisions start at 0).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

/** An event to append. `id` is a UUID (for facts: the factId's 128 bits, see events/ids.ts). */
export interface NewEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** An event as stored. `recordedAt` is assigned by the store at commit (RFC 3339 UTC, ms). */
export interface StoredEvent {
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
  readonly position: Position;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

export interface AppendedEvent {
  readonly id: string;
  readonly revision: number;
  readonly position: Position;
  readonly recordedAt: string;
}

export interface AppendResult {
  readonly stream: string;
  /** The stream's revision after the append (the last event's revision). */
  readonly nextRevision: number;
  /** One entry per appended event, in order. On an idempotent retry: the original ones. */
  readonly events: readonly AppendedEvent[];
}

export interface ReadStreamOptions {
  /** Default `forwards`. */
  readonly direction?: 'forwards' | 'backwards';
  /** First revision to read (inclusive). Default: the start (forwards) or the end (backwards). */
  readonly fromRevision?: number;
  /** Maximum number of events. Default: all. */
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** Read events strictly after this position. Default: from the very start. */
  readonly after?: Position;
  /** Maximum number of events. Default: all. */
  readonly limit?: number;
  /** Only these event types. Default: every type. */
  readonly types?: readonly string[];
}

export type SubscribeOptions = Omit<ReadAllOptions, 'limit'>;

/** One append of a wave (see EventStore.appendWaves). */
export interface AppendRequest {
  readonly stream: string;
  readonly events: readonly NewEvent[];
  readonly expected: ExpectedRevision;
}

/**
 * What became of one append of a wave: as `Promise.allSettled` says, or `skipped` when an
 * earlier wave failed. An append split to fit the store's limit (see `appendLimit`) that failed
 * after its first parts were stored says what was: `stored`, its leading events, in order.
 */
export type WaveOutcome =
  | PromiseFulfilledResult<AppendResult>
  | (PromiseRejectedResult & { readonly stored?: AppendResult })
  | { readonly status: 'skipped' };

/** How much one append may carry, in the store's own count (EventStoreDB's MaxAppendSize). */
export interface AppendLimit {
  /** The most one append may carry, as `size` counts; may shrink when the store says so. */
  readonly maxBytes: number;
  /** An event's size as the store counts it against `maxBytes`. */
  size(event: NewEvent): number;
}

/**
 * A subscription to `$all`: first every stored event after `after` (catch-up), then each new
 * one as it is committed (live), in global order, each exactly once. Iterate it with
 * `for await`; `close()` ends the iteration.
 */
export interface Subscription extends AsyncIterable<StoredEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  /** Human-readable adapter name for logs and /readyz, e.g. `sqlite:/data/events.db`. */
  readonly name: string;
  /**
   * Optional: the most one append may carry. `append` refuses more with AppendTooLargeError
   * (nothing stored); `appendWaves()` of src/store/waves.ts splits a larger append into
   * appends that fit, chained by expected revision. Absent: no limit.
   */
  readonly appendLimit?: AppendLimit;
  /**
   * Appends atomically (all events or none). Throws WrongExpectedRevisionError when the
   * expectation does not hold. If every event id is already stored in this stream with the
   * same type, data and metadata, nothing is stored and the original result is returned;
   * an id stored with other content throws DuplicateEventError.
   */
  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * Optional: appends waves in order. The appends of one wave are independent of each other;
   * a wave is attempted only when every append of the waves before it succeeded (the others
   * are `skipped`), so a later wave may depend on an earlier one (a registration on its key's
   * reservation). Each append keeps `append`'s semantics. An adapter that can commit all the
   * waves together (the embedded store: one transaction, one fsync) implements this; callers
   * use `appendWaves()` of src/store/waves.ts, which appends wave by wave otherwise.
   */
  appendWaves?(waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]>;
  /** A stream that does not exist reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  readAll(options?: ReadAllOptions): Promise<StoredEvent[]>;
  subscribe(options?: SubscribeOptions): Subscription;
  /** The position of the last event in the log, or null when the log is empty. */
  head(): Promise<Position | null>;
  close(): Promise<void>;
}
