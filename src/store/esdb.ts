/**
 * The EventStoreDB adapter of the store port, on @eventstore/db-client 6.x. Driver errors are
 * translated here (and in esdb-errors.ts) and nowhere else.
 *
 * Two things EventStoreDB does not give directly, and how the adapter gets them:
 * - per-event positions and `recordedAt`: an append answers only the batch's last position,
 *   so the appended events are read back by revision (they are immutable, so no race);
 * - the port's idempotency (same ids + same content → original result; same id, other
 *   content → DuplicateEventError): the server is idempotent by id only, so the adapter
 *   compares the content of what it reads back, and on a wrong expected version looks for
 *   the ids in the stream before reporting a conflict.
 * Event ids are unique across streams through reservations (esdb-ids.ts).
 *
 * The server's limits, as EventStoreDB 24.10 has them:
 * - MaxAppendSize (1 MiB by default): `appendLimit` tells callers what one append may carry
 *   (waves.ts splits larger ones), an append over it is refused here before anything is sent,
 *   and a server configured lower teaches the adapter its limit through its refusal;
 * - 100 concurrent HTTP/2 streams a connection (Kestrel's default): the client queues calls past
 *   that while their deadlines run, so the adapter keeps at most `maxConcurrentCalls` calls of its
 *   own in flight (subscriptions aside);
 * - clusters: every call but subscriptions `requires-leader`, so a follower answers NotLeader
 *   and the client reconnects to the leader rather than reading behind it.
 */
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { AppendTooLargeError, DuplicateEventError, PositionNotInLogError, StoreUnavailableError } from './errors.js';
import { reserveIds } from './esdb-ids.js';
import { isDiscoveryFailure, isInvalidPosition, translateError, wrongExpectedRevision } from './esdb-errors.js';
import { isSystemEvent, sameContent, toEsdbEvent, toStoredEvent } from './esdb-events.js';
import { decodeEsdbPosition, encodeEsdbPosition, type EsdbPosition } from './esdb-position.js';
import { EsdbSubscription, type RetryPolicy } from './esdb-subscription.js';
import type {
  AppendLimit,
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  Subscription,
  SubscribeOptions,
} from './port.js';

export interface EsdbStoreOptions {
  /** Events per `$all` page in readAll and head. Default 500, minimum 2. */
  readonly pageSize?: number;
  /** Resubscription backoff of subscriptions. Defaults: see RetryPolicy. */
  readonly retry?: RetryPolicy;
  /** Check at open that the server answers (fail fast on a wrong address). Default true. */
  readonly verify?: boolean;
  /** The server's MaxAppendSize, until a refusal tells otherwise. Default 1 MiB, EventStoreDB's default. */
  readonly maxAppendSize?: number;
  /** Most calls of this store in flight at once (the server allows 100 streams a connection). Default 64. */
  readonly maxConcurrentCalls?: number;
}

/** Options every call but a subscription carries: only the leader answers them. */
const LEADER = { requiresLeader: true } as const;

/**
 * An event's size as EventStoreDB 25.0 counts it against MaxAppendSize: data, metadata and
 * twice the type's length. 24.10 counts the data alone (a C# precedence slip in
 * Event.SizeOnDisk), so this never lets through what either refuses.
 */
function eventSize(e: NewEvent): number {
  return Buffer.byteLength(JSON.stringify(e.data) ?? '') + Buffer.byteLength(JSON.stringify(e.metadata) ?? '') + 2 * e.type.length;
}

/** A counting semaphore: `run` waits for one of `limit` slots. */
class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await op();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Opens the store on `esdb://` / `esdb+discover://` connection strings. */
export async function openEsdbStore(connectionString: string, options: EsdbStoreOptions = {}): Promise<EventStore> {
  const store = new EsdbStore(() => EventStoreDBClient.connectionString(connectionString), redact(connectionString), options);
  if (options.verify !== false) {
    try {
      await store.head();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

/** Credentials never reach logs or /readyz. */
function redact(connectionString: string): string {
  return `esdb:${connectionString.replace(/^(esdb(?:\+discover)?:\/\/)[^@/]*@/, '$1')}`;
}

function esdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`invalid expected revision: ${expected}`);
      return BigInt(expected);
  }
}

class EsdbStore implements EventStore {
  private readonly pageSize: number;
  private readonly gate: Gate;
  private maxAppendBytes: number;
  readonly appendLimit: AppendLimit;
  private readonly subscriptions = new Set<EsdbSubscription>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  private client: EventStoreDBClient;
  private readonly retired: EventStoreDBClient[] = [];

  constructor(
    private readonly newClient: () => EventStoreDBClient,
    readonly name: string,
    private readonly options: EsdbStoreOptions,
  ) {
    this.client = newClient();
    // At least 2: a page must make progress even if the server repeats its start position.
    this.pageSize = Math.max(2, options.pageSize ?? 500);
    this.gate = new Gate(Math.max(1, options.maxConcurrentCalls ?? 64));
    this.maxAppendBytes = options.maxAppendSize ?? 1024 * 1024;
    const store = this;
    this.appendLimit = {
      get maxBytes() {
        return store.maxAppendBytes;
      },
      size: eventSize,
    };
  }

  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return this.guard(() =>
      this.doAppend(stream, events, expected).catch((err: unknown) => {
        // The server may have committed what it did not answer (a Timeout, a lost reply).
        throw err instanceof StoreUnavailableError ? new StoreUnavailableError(err.message, { cause: err.cause, outcomeUnknown: true }) : err;
      }),
    );
  }

  readStream(stream: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    return this.guard(() => this.doReadStream(stream, options));
  }

  readAll(options: ReadAllOptions = {}): Promise<StoredEvent[]> {
    return this.guard(() => this.doReadAll(options));
  }

  head(): Promise<Position | null> {
    return this.guard(() => this.doHead());
  }

  /** A client whose discovery failed stays failed: the next calls get a new one. */
  private renewClient(): void {
    this.retired.push(this.client);
    this.client = this.newClient();
  }

  /** Refuses work after close(), and lets close() wait for what was issued before it. */
  private guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`${this.name} is closed`));
    const p = op().catch((err: unknown) => {
      if (isDiscoveryFailure(err)) this.renewClient();
      throw err;
    });
    this.inFlight.add(p);
    const forget = () => this.inFlight.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async doAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const expectedRevision = esdbExpected(expected);
    // Refused before anything is reserved or sent: the server would refuse it whole.
    const sizes = events.map(eventSize);
    if (sizes.reduce((n, b) => n + b, 0) > this.maxAppendBytes) {
      const largest = Math.max(...sizes);
      throw new AppendTooLargeError(stream, this.maxAppendBytes, largest > this.maxAppendBytes ? largest : undefined);
    }
    const reservations = await reserveIds(this.client, stream, events.map((e) => e.id), (owner, id) => this.isStoredIn(owner, id), (op) => this.gate.run(op));
    // Only ids already reserved for this stream can be a retry: the common path reads nothing.
    if (reservations.includes('prior')) {
      const original = await this.findStored(stream, events);
      if (original) return toResult(stream, original);
    }
    let nextRevision: number;
    try {
      const result = await this.gate.run(() => this.client.appendToStream(stream, events.map(toEsdbEvent), { expectedRevision, ...LEADER }));
      nextRevision = Number(result.nextExpectedRevision);
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) {
        const translated = translateError(err, `append to ${stream}`, stream);
        // A server configured below what the adapter assumed: learn its limit.
        if (translated instanceof AppendTooLargeError) this.maxAppendBytes = Math.min(this.maxAppendBytes, translated.limit);
        throw translated;
      }
      // A concurrent identical retry may have won the race.
      const original = await this.findStored(stream, events);
      if (original) return toResult(stream, original);
      throw wrongExpectedRevision(stream, expected, err);
    }
    if (events.length === 0) {
      // The server answers 0 for an empty append to a missing stream: ask the stream itself.
      const [last] = await this.doReadStream(stream, { direction: 'backwards', limit: 1 });
      return { stream, nextRevision: last?.revision ?? -1, events: [] };
    }
    const first = nextRevision - events.length + 1;
    const written = await this.doReadStream(stream, { fromRevision: first, limit: events.length });
    const sameIds = written.length === events.length && written.every((w, i) => w.id === events[i]!.id);
    // The server answered an idempotent retry from elsewhere in the stream: find it.
    const stored = sameIds ? written : await this.findStored(stream, events);
    if (!stored) throw new Error(`EventStoreDB append to ${stream} at revision ${nextRevision} cannot be read back`);
    // The server is idempotent by id alone; the port also wants the same content.
    stored.forEach((s, i) => {
      if (!sameContent(events[i]!, s)) throw new DuplicateEventError(stream, s.id);
    });
    return toResult(stream, stored);
  }

  /**
   * The original events when every id is already in the stream, in order and with the same
   * content; null when none is there; DuplicateEventError for any other mix (other content,
   * a partly stored set, another order).
   */
  private async findStored(stream: string, events: readonly NewEvent[]): Promise<StoredEvent[] | null> {
    if (events.length === 0) return null;
    const byId = new Map((await this.doReadStream(stream, {})).map((e) => [e.id, e]));
    const found = events.map((e) => byId.get(e.id));
    const firstFound = found.findIndex((f) => f !== undefined);
    if (firstFound < 0) return null;
    const clash = events.find((e, i) => found[i] !== undefined && !sameContent(e, found[i]!));
    if (clash) throw new DuplicateEventError(stream, clash.id);
    const base = found[0]?.revision;
    const inOrder = base !== undefined && found.every((f, i) => f?.revision === base + i);
    if (!inOrder) throw new DuplicateEventError(stream, events[firstFound]!.id);
    return found as StoredEvent[];
  }

  private async isStoredIn(stream: string, id: string): Promise<boolean> {
    return (await this.doReadStream(stream, {})).some((e) => e.id === id);
  }

  private async doReadStream(stream: string, options: ReadStreamOptions): Promise<StoredEvent[]> {
    if (options.limit === 0) return [];
    const backwards = options.direction === 'backwards';
    const fromRevision = options.fromRevision === undefined ? (backwards ? END : START) : BigInt(options.fromRevision);
    let read: ResolvedEvent[];
    try {
      read = await this.gate.run(() =>
        collect(
          this.client.readStream(stream, {
            direction: backwards ? BACKWARDS : FORWARDS,
            fromRevision,
            ...(options.limit === undefined ? {} : { maxCount: options.limit }),
            ...LEADER,
          }),
        ),
      );
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw translateError(err, `read ${stream}`, stream);
    }
    return read.map(toStoredEvent).filter((e): e is StoredEvent => e !== null);
  }

  /**
   * The 6.x client cannot filter `readAll` on the server (only subscriptions can), so system
   * events are skipped here, page by page, until `limit` events are found.
   */
  private async doReadAll(options: ReadAllOptions): Promise<StoredEvent[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const types = options.types ? new Set(options.types) : null;
    const out: StoredEvent[] = [];
    let after = options.after;
    let from: EsdbPosition | typeof START = after === undefined ? START : decodeEsdbPosition(after);
    while (out.length < limit) {
      const page = await this.readAllPage(from, FORWARDS);
      for (const r of page) {
        const pos = r.event?.position;
        if (!pos) continue;
        from = pos;
        const event = toStoredEvent(r);
        // A forward read includes the event at its start position: skip what came before.
        if (!event || (after !== undefined && event.position <= after)) continue;
        after = event.position;
        if (types && !types.has(event.type)) continue;
        out.push(event);
        if (out.length >= limit) break;
      }
      if (page.length < this.pageSize) break;
    }
    return out;
  }

  private async doHead(): Promise<Position | null> {
    let from: EsdbPosition | typeof END = END;
    for (;;) {
      const page = await this.readAllPage(from, BACKWARDS);
      for (const r of page) {
        const e = r.event;
        if (!e?.position) continue;
        from = e.position;
        if (!isSystemEvent(e.type, e.streamId)) return toStoredEvent(r)!.position;
      }
      if (page.length < this.pageSize) return null;
    }
  }

  private async readAllPage(from: EsdbPosition | typeof START | typeof END, direction: typeof FORWARDS | typeof BACKWARDS): Promise<ResolvedEvent[]> {
    try {
      return await this.gate.run(() => collect(this.client.readAll({ fromPosition: from, direction, maxCount: this.pageSize, ...LEADER })));
    } catch (err) {
      if (isInvalidPosition(err) && typeof from === 'object') throw new PositionNotInLogError(encodeEsdbPosition(from));
      throw translateError(err, 'read $all');
    }
  }

  subscribe(options: SubscribeOptions = {}): Subscription {
    const sub = new EsdbSubscription(
      () => this.client,
      options,
      this.options.retry,
      () => this.subscriptions.delete(sub),
      (failed) => {
        if (failed === this.client) this.renewClient();
      },
    );
    this.subscriptions.add(sub);
    if (this.closed) void sub.close();
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.inFlight]);
    await Promise.all([this.client, ...this.retired].map((c) => c.dispose()));
  }
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

function toResult(stream: string, stored: readonly StoredEvent[]): AppendResult {
  return {
    stream,
    nextRevision: stored[stored.length - 1]!.revision,
    events: stored.map(({ id, revision, position, recordedAt }) => ({ id, revision, position, recordedAt })),
  };
}
