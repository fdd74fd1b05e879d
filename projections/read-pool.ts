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
 * - **A rebuild** swaps a fresh file in: a second counter tells the workers to reopen.
 *
 * Answers come back by structured clone; a question whose answer is already JSON text (the
 * holder) crosses as one string. The pool holds at most `queueLimit` questions; one more is
 * refused at once (ReadsOverloadedError: 503) rather than queued behind seconds of work. A
 * worker that dies fails its questions as unavailable and is started again. Until the first
 * worker is ready (its start takes ~0.3 s), and with no pool at all (inline read models,
 * tests), questions are answered on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MetricsSink } from '../src/metrics/sink.js';
import { startWorker } from '../src/store/worker-thread.js';
import type { ReadQueries } from './queries.js';
import type { SnapshotState } from './query-context.js';

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
}

/** Shared counters: [0] what the read models applied (bumped on each change), [1] the file (bumped by a rebuild's swap). */
export const APPLIED = 0;
export const FILE = 1;

export interface ReadWorkerInit {
  readonly path: string;
  readonly counters: SharedArrayBuffer;
  readonly snapshotMs?: number | undefined;
}

export type ReadJob = { readonly id: number; readonly method: ReadMethod; readonly args: readonly unknown[] };
export type ReadReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'answer'; readonly id: number; readonly value: unknown; readonly snapshot: SnapshotState }
  | { readonly kind: 'error'; readonly id: number; readonly name: string; readonly message: string };

/** The pool holds `queueLimit` questions already: a 503 with Retry-After, not a wait. */
export class ReadsOverloadedError extends Error {
  constructor(readonly held: number) {
    super(`${held} read questions are waiting for the read workers; retry in a second`);
    this.name = 'ReadsOverloadedError';
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
}

interface Slot {
  worker: Worker;
  ready: boolean;
  inFlight: Map<number, { resolve(p: Pooled<unknown>): void; reject(e: unknown): void }>;
}

export class ReadPool {
  private readonly counters = new Int32Array(new SharedArrayBuffer(8));
  private readonly slots: Slot[] = [];
  private seq = 0;
  private held = 0;
  private closed = false;
  private lastApplied: string | null = null;
  private lastQueries: ReadQueries | null = null;

  constructor(private readonly opts: ReadPoolOptions) {
    this.lastQueries = opts.queries();
    for (let i = 0; i < opts.size; i++) this.slots.push(this.start());
  }

  /** Questions sent and not answered yet. */
  get pending(): number {
    return this.held;
  }

  /** Workers ready to answer. */
  get ready(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  private start(): Slot {
    const url = new URL(`./read-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const init: ReadWorkerInit = { path: this.opts.path, counters: this.counters.buffer as SharedArrayBuffer, snapshotMs: this.opts.snapshotMs };
    const worker = startWorker(url, { workerData: init }, 'reads', this.opts.metrics);
    // The runtime's close ends the pool; an idle worker alone keeps no process alive.
    worker.unref();
    const slot: Slot = { worker, ready: false, inFlight: new Map() };
    worker.on('message', (m: ReadReply) => {
      if (m.kind === 'ready') {
        slot.ready = true;
        return;
      }
      const job = slot.inFlight.get(m.id);
      if (!job) return;
      slot.inFlight.delete(m.id);
      this.held -= 1;
      if (m.kind === 'answer') job.resolve({ value: m.value, snapshot: m.snapshot });
      else job.reject(Object.assign(new Error(m.message), { name: m.name }));
    });
    worker.on('error', (err) => this.opts.log.error({ err }, 'a read worker failed'));
    worker.once('exit', (code) => {
      slot.ready = false;
      for (const job of slot.inFlight.values()) job.reject(new ReadWorkerLostError());
      this.held -= slot.inFlight.size;
      slot.inFlight.clear();
      if (this.closed) return;
      this.opts.log.warn({ code }, 'a read worker exited; starting another');
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.start();
    });
    return slot;
  }

  /**
   * `method(...args)` on a worker, with the snapshot it read; null when no worker is ready
   * (the caller answers on its own thread). Rejects with ReadsOverloadedError past the limit.
   */
  run<M extends ReadMethod>(method: M, args: ReadArgs<M>): Promise<Pooled<ReadValue<M>>> | null {
    let best: Slot | null = null;
    for (const s of this.slots) if (s.ready && (best === null || s.inFlight.size < best.inFlight.size)) best = s;
    if (best === null || this.closed) return null;
    if (this.held >= this.opts.queueLimit) return Promise.reject(new ReadsOverloadedError(this.held));
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
    const id = ++this.seq;
    const slot = best;
    this.held += 1;
    return new Promise((resolve, reject) => {
      slot.inFlight.set(id, { resolve: resolve as (p: Pooled<unknown>) => void, reject });
      slot.worker.postMessage({ id, method, args } satisfies ReadJob);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
