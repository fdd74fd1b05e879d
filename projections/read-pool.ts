/**
 * Reads off the event loop: a few worker threads (read-worker.ts), each with a connection of
 * its own to the read-model file, answer ReadQueries' questions, so that the event loop only
 * parses requests and writes answers. On one event loop a question's SQLite work (~0.17 ms
 * for a holder on the 1,000,000-fact record, 80 ms for a page of 500 sessions) is time no
 * other request is served in: /healthz waited behind every heavy page.
 *
 * What stays true across the hop:
 * - **Read your writes.** A worker's snapshot is ended before a question once the read models
 *   applied something since it was opened: every question sent after `waitFor` resolved (a
 *   write's 201, a minPosition read) reads what was applied. The main thread counts what it
 *   heard applied in a shared counter (`Atomics`), which the worker compares before each
 *   question; its snapshot also ends SNAPSHOT_MS after it was opened, as on this thread.
 * - **The answer's snapshot.** Each answer comes back with the checkpoint its statements read
 *   (position, recordedAt), so its ETag and immutability are the answer's own.
 * - **A rebuild** swaps a fresh file in, or fails and the read models reopen a file: a second
 *   counter tells the workers to reopen (a worker that cannot answers 503 until it can).
 *
 * Answers come back by structured clone; a question whose answer is already JSON text (the
 * holder) crosses as one string, and a list's items may come as JSON bytes the worker made
 * (`rawItems`), transferred, not copied: rebuilding 500 sessions from a clone and serializing
 * them again was most of what a heavy page cost the event loop. A documents page comes whole
 * (`whole`: WholeAsk): its body, cursor, Link and strong ETag made by the worker, so the event
 * loop only sets headers and sends; so does a sessions page whose items SQLite wrote (none has a
 * `more`: every page of the 1,000,000-fact benchmark record), where a page with one comes `each`. The pool holds at most `queueLimit` questions; one more is
 * refused at once (ReadsOverloadedError: 503) rather than queued behind seconds of work. Each
 * worker's lifecycle is src/store/thread-client.ts's, as for the other threads: a worker that
 * dies fails its questions as unavailable (ReadWorkerLostError) and is started again at once;
 * closing lets each answer what it was sent. Until the first worker is ready (its start
 * takes ~0.3 s), and with no pool at all (inline read models, tests), questions are answered
 * on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MetricsSink } from '../src/metrics/sink.js';
import { ThreadClient } from '../src/store/thread-client.js';
import { revived } from './crossed-errors.js';
import type { ReadQueries } from './queries.js';
import type { SnapshotState } from './query-context.js';
import type { ThreadNice } from './thread-nice.js';
import type { WarmedUp, WarmUpBudget } from './read-warm-up.js';
import type { CacheWarmBudget } from './read-cache-warm.js';
import { CURSOR_KEY, type Scope } from '../src/cursor-sign.js';

/** The questions a worker answers: ReadQueries' methods that return data. */
export type ReadMethod = {
  [K in keyof ReadQueries]: ReadQueries[K] extends (...args: never[]) => unknown ? (K extends 'invalidate' | 'snapshot' ? never : K) : never;
}[keyof ReadQueries];
export type ReadArgs<M extends ReadMethod> = Parameters<ReadQueries[M]>;
export type ReadValue<M extends ReadMethod> = ReturnType<ReadQueries[M]>;

export interface Pooled<T> {
  readonly value: T;
  /** The checkpoint the answer's statements read. */
  readonly snapshot: SnapshotState;
  /**
   * With `rawItems`: the page's items as UTF-8 JSON, made by the worker (the value's items are
   * then empty), in a buffer of their own with RAW_ROOM_BEFORE and RAW_ROOM_AFTER bytes free
   * around them (the answer's other fields are written there).
   */
  readonly rawItems?: Uint8Array;
  /** With `rawItems: 'each'`: each item's JSON without its `more`, back to back, and where each ends, with the `more`s apart. */
  readonly rawEach?: RawEach;
  /** With `whole`: the answer's body made whole by the worker, its cursor's Link and (immutable) its strong ETag (the value is then null); a sessions page with a `more` comes `rawEach` instead. */
  readonly whole?: WholeAnswer;
}

/**
 * A list page the worker makes whole (read-worker.ts `wholeOf`): the body
 * `{"validAt":…,"knownAt":…,"<field>":[…],"nextCursor":…}` as UTF-8, the next page's cursor
 * signed (src/cursor-sign.ts) and its `Link` made from `url`, and, when the answer is immutable
 * (`strong` and `knownAt` before the recordedAt of the worker's snapshot: reads-answer.ts
 * isImmutable), its strong ETag (the SHA-1 of those bytes). The event loop only sets the
 * headers and sends (reads-answer.ts sendWhole).
 */
export interface WholeAsk {
  readonly field: string;
  readonly validAt: string | null;
  readonly knownAt: string;
  /** What the cursor is bound to (paging.ts scopeOf). */
  readonly scope: Scope;
  /** The request's URL, for the Link. */
  readonly url: string;
  /** The answer may be immutable: its knownAt was pinned and no default stood in for validAt. */
  readonly strong: boolean;
}
export interface WholeAnswer {
  /** The body, in a buffer of its own (given back once written: ReadPool.giveBack). */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The strong ETag (quoted), or null: a current answer, whose weak ETag the event loop makes. */
  readonly etag: string | null;
  /** The Link header's value, or null: no next page. */
  readonly link: string | null;
}

/** Answers' buffers the pool keeps to give back to the workers (ReadPool.giveBack), and each worker keeps to write pages in (read-worker.ts). */
export const SPENT_KEPT = 64;
/** …of at most this many bytes each (a page of 50 sessions is ~45 KB, of 50 documents ~20 KB): at most 16 MiB kept a side. */
export const SPENT_MAX_BYTES = 256 * 1024;

/** Bytes free before and after a `rawItems` in its buffer: the rest of a list's answer around its items (reads-answer.ts answerBytes: `{"validAt":…,"knownAt":…,"documents":` and `,"nextCursor":"…"}`). */
export const RAW_ROOM_BEFORE = 256;
export const RAW_ROOM_AFTER = 1024;

/** Items as JSON one after another (item i is bytes[ends[i-1] ?? 0, ends[i])), each without its `more`, which is in `more[i]` with the item's id. */
export interface RawEach {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly ends: Uint32Array<ArrayBuffer>;
  readonly more: readonly (ItemMore | undefined)[];
}
export interface ItemMore {
  readonly id: unknown;
  readonly more: unknown;
}

/**
 * The page inside a list question's answer: the answer itself (`{ items, next }`) or its
 * `page` (`{ office, page }`, `{ organization, page }`); null for anything else.
 */
export function pageIn(value: unknown): { items: unknown[] } | null {
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray((value as { items?: unknown }).items)) return value as { items: unknown[] };
  const page = (value as { page?: unknown }).page;
  return page !== null && typeof page === 'object' && Array.isArray((page as { items?: unknown }).items) ? (page as { items: unknown[] }) : null;
}

/** A copy of `value` whose page (pageIn) holds `items` instead (never changes `value`: the worker's caches may hold it). */
export function withItems<T>(value: T, items: unknown): T {
  const v = value as { items?: unknown; page?: object };
  return (Array.isArray(v.items) ? { ...v, items } : { ...v, page: { ...v.page, items } }) as T;
}

/**
 * Shared counters: [0] what the read models applied (bumped on each change), [1] the file
 * (bumped by a rebuild's swap), [2] whether the workers may open the file (OPEN_HELD until the
 * read models are open, when the pool was started `held`; OPEN_GO; OPEN_CLOSED: closed first).
 */
export const APPLIED = 0;
export const FILE = 1;
export const OPEN = 2;
export const OPEN_HELD = 0;
export const OPEN_GO = 1;
export const OPEN_CLOSED = 2;

export interface ReadWorkerInit {
  readonly path: string;
  readonly counters: SharedArrayBuffer;
  readonly snapshotMs?: number | undefined;
  /** Added to the worker thread's nice value (thread-nice.ts); 0 leaves it at the process's. */
  readonly nice?: number | undefined;
  /** The warm-up before the worker says ready (read-warm-up.ts); default WARM_UP. */
  readonly warmUp?: WarmUpBudget | undefined;
  /** The page cache filled after it is ready (read-cache-warm.ts); default CACHE_WARM. */
  readonly cacheWarm?: CacheWarmBudget | undefined;
  /** How long a batch's answers may wait for the rest of the batch (read-worker.ts `answerAll`); default 1 ms. */
  readonly batchHoldMs?: number | undefined;
  /** Bytes of the file read through a memory map (read-worker.ts `open`); default 0: none. */
  readonly mmapBytes?: number | undefined;
  /** The key the worker signs cursors under (src/cursor-sign.ts), given once at its start; never logged. */
  readonly cursorKey: string;
}

export type ReadJob = { readonly kind: 'read'; readonly seq: number; readonly method: ReadMethod; readonly args: readonly unknown[]; readonly rawItems?: RawMode; readonly whole?: WholeAsk };
/**
 * `reads`: the questions of one turn of the event loop, answered by one `answers` message;
 * `spent`: answers' buffers the event loop has written (ReadPool.giveBack), for the worker's next pages.
 * `release`: close the connection now (the next question opens the file at the path again).
 */
export type ReadRequest = ReadJob | { readonly kind: 'reads'; readonly jobs: readonly ReadJob[]; readonly spent?: ArrayBuffer[] } | { readonly kind: 'release' } | { readonly kind: 'close' };
/** `page`: the items as one JSON array; `each`: each item apart, its `more` left out (RawEach), or as `page` when SQLite wrote the items (none has a `more`: read-worker.ts). */
export type RawMode = 'page' | 'each';
export type ReadAnswer =
  | { readonly kind: 'answer'; readonly seq: number; readonly value: unknown; readonly snapshot: SnapshotState; readonly rawItems?: Uint8Array; readonly rawEach?: RawEach; readonly whole?: WholeAnswer }
  | { readonly kind: 'error'; readonly seq: number; readonly name: string; readonly message: string };
/** `held`: its modules are loaded and it waits for the pool's `open()` (a pool started `held`). */
export type ReadReply = { readonly kind: 'ready'; readonly thread: ThreadNice; readonly warmedUp?: WarmedUp; readonly mmapBytes?: number } | { readonly kind: 'held' } | ReadAnswer | { readonly kind: 'answers'; readonly replies: readonly ReadAnswer[] };

/** The pool holds `queueLimit` questions already: a 503 with Retry-After, not a wait. */
export class ReadsOverloadedError extends Error {
  constructor(readonly held: number) {
    super(`${held} read questions are waiting for the read workers; retry in a second`);
    this.name = 'ReadsOverloadedError';
  }
}

/** An error made without a stack trace (a refusal under load: capturing one costs the event loop more than the refusal). */
export function stackless<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The worker answering a question died (it is started again): retry. */
export class ReadWorkerLostError extends Error {
  constructor() {
    super('the read worker answering this question stopped; retry shortly');
    this.name = 'ReadWorkerLostError';
  }
}

export interface ReadPoolOptions {
  readonly path: string;
  readonly size: number;
  readonly queueLimit: number;
  readonly log: Logger;
  readonly metrics?: MetricsSink;
  /** What was applied, read at each question (e.g. ReadModels.applied). */
  readonly applied: () => string | null;
  /** The current query facade; a new one (a rebuild swapped the file) makes the workers reopen. */
  readonly queries: () => ReadQueries;
  /** How long a worker's snapshot may stay open when nothing was applied (default SNAPSHOT_MS; tests hold one open). */
  readonly snapshotMs?: number;
  /** Added to each worker thread's nice value, so the event loop wins the CPU (default 0: the process's priority). */
  readonly nice?: number;
  /** Each worker's warm-up before it is ready (read-warm-up.ts; default WARM_UP; `{ questions: 0, ms: 0 }`: none). */
  readonly warmUp?: WarmUpBudget;
  /** Each worker's page cache filled in the background once it is ready (read-cache-warm.ts; default CACHE_WARM; `{ pages: 0, sliceMs: 0 }`: none). */
  readonly cacheWarm?: CacheWarmBudget;
  /** How long a worker holds a batch's answers for the rest of the batch (default 1 ms; tests choose). */
  readonly batchHoldMs?: number;
  /** Bytes of the file each worker's connection reads through a memory map (PRAGMA mmap_size; read-worker.ts `open`); default 0: none, every page through SQLite's cache. */
  readonly mmapBytes?: number;
  /**
   * The workers start now and load their modules, but open the file only at `open()` (the
   * runtime starts them beside the store writer and the audit follower, and opens them once
   * the read models are open and checked against the log). `applied` and `queries` are not
   * read before `open()`. Default false: they open it as soon as they are loaded.
   */
  readonly held?: boolean;
  /** The key cursors are signed under, for pages the workers make whole (default CURSOR_KEY, as the event loop's paging.ts). */
  readonly cursorKey?: string;
}

/** One worker: its lifecycle and numbered questions are ThreadClient's (src/store/thread-client.ts). */
type ReadThread = ThreadClient<ReadRequest, ReadReply>;

export class ReadPool {
  private readonly counters = new Int32Array(new SharedArrayBuffer(12));
  private readonly workers: ReadThread[] = [];
  private closed = false;
  private lastApplied: string | null = null;
  private lastQueries: ReadQueries | null = null;
  private readonly niced = new Map<ReadThread, ThreadNice>();
  private readonly warmed = new Map<ReadThread, WarmedUp>();
  private readonly maps = new Map<ReadThread, number>();
  private readonly waiting = new Set<ReadThread>();
  private warnedNice = false;
  /** Answers' buffers written and given back (giveBack), to go with the next questions. */
  private spent: ArrayBuffer[] = [];
  /** Questions of this turn not sent yet, by the thread they go to (send). */
  private readonly outbox = new Map<Worker, ReadJob[]>();
  private flushing = false;

  constructor(private readonly opts: ReadPoolOptions) {
    if (opts.held === true) Atomics.store(this.counters, OPEN, OPEN_HELD);
    else this.open();
    for (let i = 0; i < opts.size; i++) {
      const w = this.thread();
      this.workers.push(w);
      // Its exit before the handshake is logged (onExit) and followed by a restart.
      w.start().catch(() => undefined);
    }
  }

  /**
   * Lets the workers open the file, warm up and say ready (a pool started `held`: once the
   * read models are open). No worker answers, nor opens the file, before this.
   */
  open(): void {
    if (this.closed || Atomics.load(this.counters, OPEN) === OPEN_GO) return;
    this.lastQueries = this.opts.queries();
    Atomics.store(this.counters, OPEN, OPEN_GO);
    Atomics.notify(this.counters, OPEN);
    this.waiting.clear();
  }

  /** Workers whose modules are loaded and that wait for `open()` (a pool started `held`). */
  get held(): number {
    return this.workers.filter((w) => this.waiting.has(w)).length;
  }

  /** Questions sent and not answered yet. */
  get pending(): number {
    return this.workers.reduce((n, w) => n + w.pending, 0);
  }

  /** Workers ready to answer. */
  get ready(): number {
    return this.workers.filter((w) => w.ready).length;
  }

  /** Each running worker's thread id and nice value, as it said when ready (thread-nice.ts). */
  get threads(): ThreadNice[] {
    return this.workers.filter((w) => w.ready && this.niced.has(w)).map((w) => this.niced.get(w) as ThreadNice);
  }

  /** What each running worker's warm-up did, as it said when ready (read-warm-up.ts). */
  get warmedUp(): WarmedUp[] {
    return this.workers.filter((w) => w.ready && this.warmed.has(w)).map((w) => this.warmed.get(w) as WarmedUp);
  }

  /** Each running worker's memory map of the file, in bytes, as its connection's PRAGMA mmap_size read back when it was ready (0: none). */
  get mmapBytes(): number[] {
    return this.workers.filter((w) => w.ready && this.maps.has(w)).map((w) => this.maps.get(w) as number);
  }

  private thread(): ReadThread {
    const init: ReadWorkerInit = { path: this.opts.path, counters: this.counters.buffer as SharedArrayBuffer, snapshotMs: this.opts.snapshotMs, nice: this.opts.nice, warmUp: this.opts.warmUp, cacheWarm: this.opts.cacheWarm, batchHoldMs: this.opts.batchHoldMs, mmapBytes: this.opts.mmapBytes, cursorKey: this.opts.cursorKey ?? CURSOR_KEY };
    const settle = (m: ReadAnswer): void => {
      // A point question's answer (no raw bytes) as one object of one shape, no spreads.
      if (m.kind === 'answer') client.settle(m.seq, m.whole !== undefined ? ({ value: m.value, snapshot: m.snapshot, whole: m.whole } satisfies Pooled<unknown>) : m.rawItems === undefined && m.rawEach === undefined ? ({ value: m.value, snapshot: m.snapshot } satisfies Pooled<unknown>) : ({ value: m.value, snapshot: m.snapshot, ...(m.rawItems ? { rawItems: m.rawItems } : {}), ...(m.rawEach ? { rawEach: m.rawEach } : {}) } satisfies Pooled<unknown>));
      // Its class kept (crossed-errors.ts): a file that will not open is a 503, not a 500.
      else client.fail(m.seq, revived(m));
    };
    const client: ReadThread = new ThreadClient<ReadRequest, ReadReply>({
      module: new URL(`./read-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
      workerData: init,
      label: 'reads',
      metrics: this.opts.metrics,
      log: this.opts.log,
      handshake: (m) => (m.kind === 'ready' ? { ready: true } : null),
      unavailable: () => new ReadWorkerLostError(),
      // Its questions are answered on the calling thread until the next one is ready.
      restart: 'later',
      restartAfterMs: 0,
      // The runtime's close ends the pool; an idle worker alone keeps no process alive.
      refWhileWaiting: true,
      onError: (err) => this.opts.log.error({ err }, 'a read worker failed'),
      onExit: (code) => {
        if (!this.closed) this.opts.log.warn({ code }, 'a read worker exited; starting another');
      },
      onMessage: (m) => {
        if (m.kind === 'held') this.waiting.add(client);
        else if (m.kind === 'ready') {
          this.waiting.delete(client);
          this.heard(client, m.thread);
          if (m.warmedUp) this.warmed.set(client, m.warmedUp);
          this.maps.set(client, m.mmapBytes ?? 0);
        }
        else if (m.kind === 'answers') for (const a of m.replies) settle(a);
        else settle(m);
      },
    });
    return client;
  }

  /** A worker's priority as it set it; where it could not, said once (reads still work, at the event loop's priority). */
  private heard(client: ReadThread, thread: ThreadNice): void {
    this.niced.set(client, thread);
    if (thread.error !== undefined && !this.warnedNice) {
      this.warnedNice = true;
      this.opts.log.warn({ nice: this.opts.nice, error: thread.error }, 'a read worker could not lower its CPU priority; it competes with the event loop at the same priority');
    }
  }

  /**
   * `method(...args)` on a worker, with the snapshot it read; null when no worker is ready
   * (the caller answers on its own thread). Rejects with ReadsOverloadedError past the limit.
   * `rawItems`: a list's items come back as JSON bytes made by the worker (Pooled.rawItems),
   * so the event loop neither rebuilds them from the structured clone nor serializes them.
   */
  run<M extends ReadMethod>(method: M, args: ReadArgs<M>, opts?: { rawItems?: RawMode | undefined; whole?: WholeAsk | undefined }): Promise<Pooled<ReadValue<M>>> | null {
    let best: ReadThread | null = null;
    let held = 0;
    for (const w of this.workers) {
      held += w.pending;
      if (w.ready && (best === null || w.pending < best.pending)) best = w;
    }
    if (best === null || this.closed) return null;
    if (held >= this.opts.queueLimit) return Promise.reject(stackless(() => new ReadsOverloadedError(held)));
    // What the read models applied since the last question ends the workers' snapshots.
    const applied = this.opts.applied();
    if (applied !== this.lastApplied) {
      this.lastApplied = applied;
      Atomics.add(this.counters, APPLIED, 1);
    }
    const queries = this.opts.queries();
    if (queries !== this.lastQueries) {
      this.lastQueries = queries;
      Atomics.add(this.counters, FILE, 1);
    }
    const rawItems = opts?.rawItems;
    const whole = opts?.whole;
    if (whole !== undefined) return best.requestVia<Pooled<ReadValue<M>>>((seq) => ({ kind: 'read', seq, method, args, rawItems: rawItems ?? 'page', whole }), this.send);
    // A point question's job without a spread: one object of one shape (read-worker.ts isPage: no rawItems).
    return best.requestVia<Pooled<ReadValue<M>>>(rawItems ? (seq) => ({ kind: 'read', seq, method, args, rawItems }) : (seq) => ({ kind: 'read', seq, method, args }), this.send);
  }

  /**
   * A turn's questions go to each worker as one message, once the turn has served what was
   * ready (an immediate), and come back as one: a message each way costs both threads a
   * structured clone's set-up, an event and, when the other thread sleeps, a wake-up.
   */
  private readonly send = (job: ReadRequest, worker: Worker): void => {
    const jobs = this.outbox.get(worker);
    if (jobs !== undefined) jobs.push(job as ReadJob);
    else this.outbox.set(worker, [job as ReadJob]);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(this.flush);
    }
  };

  private readonly flush = (): void => {
    this.flushing = false;
    for (const [worker, jobs] of this.outbox) {
      if (this.spent.length > 0) {
        const spent = this.spent;
        this.spent = [];
        worker.postMessage({ kind: 'reads', jobs, spent } satisfies ReadRequest, spent);
      } else worker.postMessage(jobs.length === 1 ? jobs[0] : ({ kind: 'reads', jobs } satisfies ReadRequest));
    }
    this.outbox.clear();
  };

  /**
   * A page's buffer (Pooled.rawItems) the event loop is done with (its socket wrote it): it
   * goes back to a worker with the next questions (transferred, `spent`), which writes a later
   * page in it. Transferred here, it no longer counts as this thread's external memory: a
   * buffer from another thread counts until its object is collected, and under load (32
   * connections) an answer outlives two scavenges, so its object was promoted and its bytes
   * counted until a mark-compact; every 64 MB of pages (~3,000 of documents) started one
   * ("external memory pressure"), each pausing every answer in flight. At most SPENT_KEPT wait
   * for a message; more are left to the GC.
   */
  giveBack(buffer: ArrayBuffer): void {
    // A buffer of a page far bigger than most (500 sessions: ~2 MB) is left to the GC: kept, it
    // would carry a small page's bytes as that much external memory, for the life of the process.
    if (this.spent.length < SPENT_KEPT && buffer.byteLength > 0 && buffer.byteLength <= SPENT_MAX_BYTES) this.spent.push(buffer);
  }

  /**
   * Each worker closes its connection now, not at its next question: after a rebuild that
   * failed, the read models cannot reopen their file while a connection of this process still
   * holds it with the WAL index the rebuild removed (SQLite shares it per file in a process).
   */
  release(): void {
    for (const w of this.workers) w.post({ kind: 'release' });
  }

  /** Each worker answers what it was sent, then stops; none is started again. */
  async close(): Promise<void> {
    this.closed = true;
    // Workers still held (never opened) end without opening the file.
    if (Atomics.compareExchange(this.counters, OPEN, OPEN_HELD, OPEN_CLOSED) === OPEN_HELD) Atomics.notify(this.counters, OPEN);
    this.flush();
    await Promise.all(this.workers.map((w) => w.close({ kind: 'close' })));
  }
}
