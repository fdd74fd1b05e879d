/**
 * The live feed's engine (`GET /v1/feed`, feed.ts): one store subscription for every stream,
 * fanned out, and a catch-up from the log for each stream that starts behind it.
 *
 * Why one subscription: 200 streams following the head would otherwise read every new event
 * 200 times; the hub reads it once and writes one frame (formatted once) to each live stream.
 *
 * No gap, no repeat: each stream keeps `pos`, the last log position it has been given (or
 * passed over, for an event its filter leaves out or a bookkeeping event). A stream behind
 * the hub reads the log after `pos` a page at a time; once `pos` has reached the position the
 * hub last dispatched, it joins the hub in the same synchronous step, and from then on takes
 * only the hub's events after `pos`. Positions of one store compare as strings (port.ts).
 * A filter that must read before deciding (organization=, feed-organization.ts) answers a
 * live event with a promise: the stream then leaves the hub without taking the event, and
 * catches up from the log after `pos` (that event first), awaiting each decision, until it
 * has reached the hub again. Decisions stay in log order and the hub never waits for one.
 *
 * Bounded memory: a stream in catch-up reads its next page only once the socket has drained
 * (the log waits for it, not memory). A live stream is written without waiting (the hub
 * cannot wait for its slowest reader); one whose unsent bytes (the socket's writableLength)
 * pass ANNALS_FEED_BUFFER_BYTES (measured after each burst, see burstBytes) is cut off: a final `cutoff` event names the position it can
 * resume from, the socket is ended, and destroyed if it has not flushed within a few seconds.
 * So the feed holds at most that bound plus one burst per connection, whatever the clients do.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { isFactType, SCHEMA_VERSION, upcast, type FactType } from '../../../events/index.js';
import type { EventStore, Position, StoredEvent, Subscription } from '../../store/port.js';

/** Events read from the log per page while a stream catches up (written, then the socket drains). */
const CATCH_UP_PAGE = 64;
/**
 * Live events are written in bursts of about this many bytes (a quarter of the bound, within
 * 16-256 KiB), then the event loop turns and every live stream's unsent bytes are measured.
 * node:http corks a response's socket until the next tick, so unsent bytes measured inside a
 * burst count the whole burst, readers that keep up included; measured after the turn they
 * are what the kernel did not take. Pacing by bytes rather than by a count of events (the
 * first version yielded every 16 events on a timer) keeps the hub up with the writers: at 16
 * events a turn it fell tens of thousands of events behind a batch import.
 */
const burstBytes = (bound: number): number => Math.min(256 * 1024, Math.max(16 * 1024, Math.floor(bound / 4)));
/** A turn of the event loop at least this often, whatever the bytes (a hub whose streams filter everything out). */
const BURST_EVENTS = 1_000;
/** How long a cut-off stream may take to flush its final event before its socket is destroyed. */
const CUTOFF_GRACE_MS = 5_000;

/** Which facts a stream wants (null: every fact), called once per fact in log order; a promise when deciding must read first. */
export type FeedFilter = (e: StoredEvent & { type: FactType }) => boolean | Promise<boolean>;

export interface FeedHubOptions {
  readonly store: EventStore;
  readonly log: FastifyBaseLogger;
  readonly heartbeatMs: number;
  readonly bufferBytes: number;
  /** The type of the fact a FactCorrected written under an older schema corrects (to upcast its replacement). */
  readonly typeOf: (factId: string) => FactType | undefined;
}

/** What the hub holds, for tests and figures. */
export interface FeedStats {
  readonly streams: number;
  readonly live: number;
  /** The largest unsent buffer of any stream now, in bytes. */
  readonly maxBuffered: number;
  /** The largest unsent buffer any stream has had, in bytes. */
  readonly peakBuffered: number;
  readonly cutoffs: number;
  /** The position the hub last dispatched (or started at). */
  readonly position: Position | null;
}

/** One SSE frame for a stored fact: `id:` its position, `data:` one JSON line. */
export function frameOf(e: StoredEvent, typeOf: FeedHubOptions['typeOf']): string {
  const meta = e.metadata as { factId?: string; source?: unknown; recordedBy?: string; schemaVersion?: number };
  const old = (meta.schemaVersion ?? 1) < SCHEMA_VERSION;
  const data = old ? upcast(e.type, e.data, meta.schemaVersion, typeOf) : e.data;
  const body = { factId: meta.factId ?? null, type: e.type, position: e.position, recordedAt: e.recordedAt, stream: e.stream, revision: e.revision, data, source: meta.source ?? null, recordedBy: meta.recordedBy ?? null };
  // JSON.stringify never leaves a raw newline, so one `data:` line holds the whole object.
  return `id: ${e.position}\ndata: ${JSON.stringify(body)}\n\n`;
}

class FeedStream {
  /** The last log position this stream has been given or passed over (null: before the first event). */
  pos: Position | null;
  live = false;
  closed = false;
  private drainWaiter: (() => void) | null = null;

  constructor(
    private readonly hub: FeedHub,
    readonly res: ServerResponse,
    after: Position | null,
    readonly filter: FeedFilter | null,
  ) {
    this.pos = after;
    res.on('drain', () => this.wakeDrain());
    res.on('close', () => this.close());
  }

  get buffered(): number {
    return this.res.writableLength;
  }

  /** Writes a frame; false when the stream was cut off (or had closed). `bounded`: cut it off past the bound. */
  write(frame: string, bounded = true): boolean {
    if (this.closed) return false;
    this.res.write(frame);
    return bounded ? this.hub.checkBound(this) : true;
  }

  /**
   * Takes an event (from the log or the hub) after `pos`; false once the stream is done.
   * Unbounded: a catch-up page is written whole (the next waits for the drain), and the hub
   * measures live streams after each burst (FeedHub.follow).
   */
  take(e: StoredEvent): boolean {
    if (this.pos !== null && e.position <= this.pos) return !this.closed;
    const wanted = this.wants(e);
    if (wanted instanceof Promise) {
      // Not taken: the stream reads on from the log after `pos`, this event first.
      wanted.catch(() => undefined);
      this.hub.fallBehind(this);
      return !this.closed;
    }
    return this.taken(e, wanted);
  }

  /** The same as take for an event read from the log (catch-up), the filter's decision awaited. */
  takeLogged(e: StoredEvent): boolean | Promise<boolean> {
    if (this.pos !== null && e.position <= this.pos) return !this.closed;
    const wanted = this.wants(e);
    return wanted instanceof Promise ? wanted.then((w) => this.taken(e, w)) : this.taken(e, wanted);
  }

  private wants(e: StoredEvent): boolean | Promise<boolean> {
    if (!isFactType(e.type)) return false;
    return this.filter === null ? true : this.filter(e as StoredEvent & { type: FactType });
  }

  private taken(e: StoredEvent, wanted: boolean): boolean {
    if (this.closed) return false;
    this.pos = e.position;
    return wanted ? this.write(this.hub.frame(e), false) : true;
  }

  /** Resolves once the socket has drained (or the stream closed). */
  drained(): Promise<void> {
    if (this.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiter = resolve;
    });
  }

  private wakeDrain(): void {
    const w = this.drainWaiter;
    this.drainWaiter = null;
    w?.();
  }

  /** Ends the stream, with a last frame (a cutoff event or a comment). */
  end(last: string): void {
    if (this.closed) return;
    this.res.end(last);
    this.close();
    // A reader that never reads would keep those bytes for ever: it gets a few seconds.
    if (!this.res.writableFinished) setTimeout(() => this.res.destroy(), CUTOFF_GRACE_MS).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.wakeDrain();
  }
}

export class FeedHub {
  private position: Position | null = null;
  private started: Promise<void> | null = null;
  private sub: Subscription | null = null;
  private readonly streams = new Set<FeedStream>();
  private readonly live = new Set<FeedStream>();
  private heartbeat: NodeJS.Timeout | null = null;
  private closing = false;
  /** The frame of the event being dispatched, formatted once for every live stream. */
  private lastFrame: { position: Position; frame: string } | null = null;
  private peakBuffered = 0;
  private cutoffs = 0;

  constructor(private readonly o: FeedHubOptions) {}

  /**
   * Serves one stream on `res` (headers already sent) after `after` (null: from the start of
   * the log; `'now'`: from the hub's present position). Returns once the stream is live or over.
   */
  async serve(res: ServerResponse, after: Position | null | 'now', filter: FeedFilter | null): Promise<void> {
    await this.start();
    const stream = new FeedStream(this, res, after === 'now' ? this.position : after, filter);
    if (this.closing) return stream.end(': the server is closing; reconnect shortly\n\n');
    this.streams.add(stream);
    this.startHeartbeat();
    await this.run(stream);
  }

  /** A live stream whose filter must read before deciding: it catches up from the log again. */
  fallBehind(s: FeedStream): void {
    this.live.delete(s);
    s.live = false;
    void this.run(s);
  }

  stats(): FeedStats {
    let maxBuffered = 0;
    for (const s of this.streams) maxBuffered = Math.max(maxBuffered, s.buffered);
    return { streams: this.streams.size, live: this.live.size, maxBuffered, peakBuffered: this.peakBuffered, cutoffs: this.cutoffs, position: this.position };
  }

  /** Ends every stream (their clients reconnect with Last-Event-ID) and the subscription. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const s of [...this.streams]) s.end(': the server is closing; reconnect shortly\n\n');
    await this.sub?.close();
  }

  frame(e: StoredEvent): string {
    if (this.lastFrame?.position === e.position) return this.lastFrame.frame;
    const frame = frameOf(e, this.o.typeOf);
    this.lastFrame = { position: e.position, frame };
    return frame;
  }

  /** Cuts a stream off once its unsent bytes pass the bound; false if it was. */
  checkBound(s: FeedStream): boolean {
    const buffered = s.buffered;
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
    if (buffered <= this.o.bufferBytes) return !s.closed;
    this.cutoffs++;
    const resume = s.pos ?? '0';
    const detail = { reason: `more than ${this.o.bufferBytes} bytes were waiting for this client to read`, resumeAfter: resume };
    // No `id:` line: the client's Last-Event-ID stays the last fact it read.
    s.end(`event: cutoff\ndata: ${JSON.stringify(detail)}\n\n`);
    return false;
  }

  remove(s: FeedStream): void {
    this.streams.delete(s);
    this.live.delete(s);
    if (this.streams.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  private start(): Promise<void> {
    this.started ??= (async () => {
      this.position = await this.o.store.head();
      this.sub = this.o.store.subscribe(this.position === null ? {} : { after: this.position });
      void this.follow(this.sub);
    })();
    return this.started;
  }

  private async follow(sub: Subscription): Promise<void> {
    try {
      const budget = burstBytes(this.o.bufferBytes);
      let bytes = 0;
      let events = 0;
      for await (const e of sub) {
        this.position = e.position;
        // Unbounded here: the bound is checked after the turn, when the socket has been uncorked.
        for (const s of this.live) s.take(e);
        if (this.lastFrame?.position === e.position) bytes += this.lastFrame.frame.length;
        if (bytes >= budget || ++events >= BURST_EVENTS) {
          bytes = 0;
          events = 0;
          await new Promise((resolve) => setImmediate(resolve));
          for (const s of [...this.live]) this.checkBound(s);
        }
      }
    } catch (err) {
      if (this.closing) return;
      // The streams cannot go on without the log: they end, and their clients resume.
      this.o.log.error({ err }, 'feed: the subscription to the log failed; ending every stream');
      for (const s of [...this.streams]) s.end(': the feed lost the log; reconnect shortly\n\n');
      this.started = null;
    }
  }

  private async run(s: FeedStream): Promise<void> {
    try {
      await this.catchUp(s);
    } catch (err) {
      this.o.log.warn({ err }, 'feed: catch-up failed; the stream ends and its client resumes');
      s.end(': the feed could not read the log; reconnect shortly\n\n');
    }
  }

  /** Reads the log after the stream's position until it has reached the hub's, then joins it. */
  private async catchUp(s: FeedStream): Promise<void> {
    while (!s.closed) {
      if (this.position === null || (s.pos !== null && s.pos >= this.position)) {
        // Synchronous with the check: the hub dispatches nothing in between.
        this.live.add(s);
        s.live = true;
        return;
      }
      const page = await this.o.store.readAll({ ...(s.pos === null ? {} : { after: s.pos }), limit: CATCH_UP_PAGE });
      for (const e of page) {
        const taken = s.takeLogged(e);
        if (!(taken instanceof Promise ? await taken : taken)) return;
      }
      await s.drained();
    }
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = setInterval(() => {
      const comment = `: ${new Date().toISOString()}\n\n`;
      for (const s of [...this.streams]) s.write(comment);
    }, this.o.heartbeatMs);
    this.heartbeat.unref();
  }
}
