/**
 * The main thread's side of a worker thread, written once for the store writer
 * (sqlite-writer-client.ts), the read models (projections/threaded.ts), the audit follower
 * (src/audit/follower.ts) and each read worker (projections/read-pool.ts): starting it (startWorker), the handshake (its first `ready` or
 * `failed` message), requests numbered by `seq` whose promises settle when the answer with
 * that `seq` comes back, what happens when the thread exits (every request still waiting
 * fails with the owner's "unavailable" error, then the thread is started again, a second
 * later or at the next request), and closing it (a `close` message, then its exit).
 *
 * What each message means stays with the owner: it hears every message (`onMessage`) and
 * settles requests by their `seq` (`settle`, `fail`, `progress`).
 *
 * A restart is told (with `log`): at info when the new thread is ready (which thread, why the
 * last one stopped, how long the service went without it and how long the new one took to
 * start), at warn when it is still not ready `slowRestartMs` after it was started. A thread
 * under a TypeScript loader and a busy machine can take seconds to start; an operator should
 * see that, not guess it from a `stopped` state. /metrics counts restarts
 * (annals_worker_restarts_total, worker-thread.ts).
 */
import type { Worker, WorkerOptions } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MetricsSink } from '../metrics/sink.js';
import { startWorker } from './worker-thread.js';

export interface ThreadClientOptions<Reply> {
  readonly module: URL;
  readonly workerData: unknown;
  /** What the thread does (runningWorkers, metrics' restarts). */
  readonly label: string;
  readonly metrics?: MetricsSink | undefined;
  /** Every message from the thread, the handshake's included. */
  readonly onMessage: (message: Reply, worker: Worker) => void;
  /** The handshake: `ready` resolves start(), `failed` rejects it with this error. Absent: start() resolves at once (the thread queues what it is sent). */
  readonly handshake?: (message: Reply) => { ready: true } | { failed: Error } | null;
  /** The error each waiting request fails with when the thread stops. */
  readonly unavailable: (reason: string) => Error;
  /** `later`: started again `restartAfterMs` after it exited (unless closing); `on-demand`: at the next request. */
  readonly restart: 'later' | 'on-demand';
  /** With `later`: how long after the exit (default a second; the read pool, whose questions fall back to the event loop meanwhile, restarts at once). */
  readonly restartAfterMs?: number;
  /** Told each time a thread starts (before its handshake) and each time one exits. */
  readonly onStart?: (worker: Worker) => void;
  readonly onExit?: (code: number, worker: Worker) => void;
  /** Told of the thread's uncaught error (its exit follows). */
  readonly onError?: (e: Error) => void;
  /** Told when a restart failed. */
  readonly onRestartFailed?: (e: unknown) => void;
  /** Keep the process alive only while requests wait (the writer: an idle thread must not hold the process open). */
  readonly refWhileWaiting?: boolean;
  /** Where restarts are told (see the header). Default: nowhere. */
  readonly log?: Pick<Logger, 'info' | 'warn'> | undefined;
  /** Without a handshake: the message by which the thread says it serves (for the restart's log line only; requests never wait for it). */
  readonly readyMessage?: (message: Reply) => boolean;
  /** A restarted thread not ready this long after it was started is told at warn (default 5 s). */
  readonly slowRestartMs?: number;
}

/** Why the service went without a thread: since when and what stopped it (kept across failed attempts until one is ready). */
interface Down {
  readonly since: number;
  readonly code: number;
  readonly error: string | null;
  attempts: number;
}

interface Waiting {
  resolve(value: unknown): void;
  reject(e: unknown): void;
  progress?: ((p: unknown) => void) | undefined;
}

export class ThreadClient<Request extends { kind: string }, Reply extends { kind: string }> {
  private current: Worker | null = null;
  private alive = false;
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private closing: Promise<void> | null = null;
  /** Set from a thread's exit (not closing) until a new one is ready. */
  private down: Down | null = null;
  private lastError: string | null = null;

  constructor(private readonly o: ThreadClientOptions<Reply>) {}

  /** The running thread, if any. */
  get worker(): Worker | null {
    return this.current;
  }

  /** A thread runs and (with a handshake) said it is ready. */
  get ready(): boolean {
    return this.alive;
  }

  /** Requests sent and not answered yet (the read pool picks its least busy worker by it). */
  get pending(): number {
    return this.waiting.size;
  }

  /** Starts a thread; resolves after its handshake. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w = startWorker(this.o.module, { workerData: this.o.workerData } as WorkerOptions, this.o.label, this.o.metrics);
      this.current = w;
      if (this.o.refWhileWaiting) w.unref();
      const restarting = this.restarting();
      let settled = this.o.handshake === undefined;
      if (settled) {
        this.alive = true;
        // Nothing says when such a thread serves: its start is its readiness.
        if (this.o.readyMessage === undefined) restarting?.ready();
        resolve();
      }
      w.on('message', (m: Reply) => {
        if (!settled) {
          const h = (this.o.handshake as NonNullable<ThreadClientOptions<Reply>['handshake']>)(m);
          if (h !== null) {
            settled = true;
            if ('ready' in h) {
              this.alive = true;
              restarting?.ready();
              resolve();
            } else reject(h.failed);
          }
        } else if (this.o.handshake === undefined && this.o.readyMessage?.(m)) restarting?.ready();
        this.o.onMessage(m, w);
      });
      w.on('error', (e) => {
        this.lastError = e.message;
        this.o.onError?.(e); // the exit that follows says what to do
      });
      w.on('exit', (code) => {
        restarting?.ended();
        if (this.current === w) {
          this.current = null;
          this.alive = false;
        }
        if (this.closing === null) {
          if (this.down === null) this.down = { since: performance.now(), code, error: this.lastError, attempts: 0 };
          this.lastError = null;
        }
        this.failAll(this.o.unavailable(`the ${this.o.label} thread exited (${code})`));
        if (!settled) {
          settled = true;
          reject(new Error(`the ${this.o.label} thread exited (${code}) before it was ready`));
        }
        this.o.onExit?.(code, w);
        if (this.closing === null && this.o.restart === 'later') {
          setTimeout(() => {
            if (this.closing === null && this.current === null) this.start().catch((e: unknown) => this.o.onRestartFailed?.(e));
          }, this.o.restartAfterMs ?? 1000).unref();
        }
      });
      this.o.onStart?.(w);
    });
  }

  /**
   * With a thread down (`down`), the start under way is a restart: it is told when ready, and
   * at warn if that takes longer than `slowRestartMs`. Null for a first start; without `log` it
   * still clears `down` when the new thread is ready, and says nothing.
   */
  private restarting(): { ready(): void; ended(): void } | null {
    const down = this.down;
    if (down === null) return null;
    down.attempts++;
    const log = this.o.log;
    const startedAt = performance.now();
    const thread = this.o.label;
    const reason = down.error === null ? `exited with code ${down.code}` : `failed: ${down.error}`;
    const slowMs = this.o.slowRestartMs ?? 5000;
    const slow = log
      ? setTimeout(() => {
          const now = performance.now();
          log.warn({ thread, reason, attempts: down.attempts, startingMs: Math.round(now - startedAt), downMs: Math.round(now - down.since) }, `the ${thread} thread, started again, is still not ready after ${(slowMs / 1000).toFixed(1)} s`);
        }, slowMs).unref()
      : undefined;
    let done = false;
    return {
      ready: () => {
        if (done) return;
        done = true;
        clearTimeout(slow);
        if (this.down === down) this.down = null;
        const now = performance.now();
        log?.info({ thread, reason, attempts: down.attempts, startMs: Math.round(now - startedAt), downMs: Math.round(now - down.since) }, `the ${thread} thread is ready again`);
      },
      ended: () => {
        done = true;
        clearTimeout(slow);
      },
    };
  }

  /**
   * Sends the request `make(seq)` and waits for its answer. Without a ready thread it fails
   * at once with the owner's "unavailable" error (restart 'later') or starts one ('on-demand').
   */
  request<T>(make: (seq: number) => Request, progress?: (p: unknown) => void): Promise<T> {
    return this.requestVia(make, (m, w) => w.postMessage(m), progress);
  }

  /**
   * request(), but the message goes to `send` instead of the thread: the read pool gathers a
   * turn's questions into one message (read-pool.ts). Its answer still settles by `seq`.
   */
  requestVia<T>(make: (seq: number) => Request, send: (message: Request, worker: Worker) => void, progress?: (p: unknown) => void): Promise<T> {
    if (this.current === null && this.o.restart === 'on-demand' && this.closing === null) void this.start().catch(() => undefined);
    const w = this.current;
    if (w === null || !this.alive) return Promise.reject(this.o.unavailable(`the ${this.o.label} thread is restarting`));
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject, progress });
      if (this.o.refWhileWaiting && this.waiting.size === 1) w.ref();
      send(make(seq), w);
    });
  }

  /** A message that needs no answer; dropped when no thread runs. */
  post(message: Request, transfer?: readonly Transferable[]): void {
    this.current?.postMessage(message, transfer as never);
  }

  settle(seq: number, value: unknown): void {
    const w = this.take(seq);
    w?.resolve(value);
  }

  fail(seq: number, error: unknown): void {
    this.take(seq)?.reject(error);
  }

  progress(seq: number, value: unknown): void {
    this.waiting.get(seq)?.progress?.(value);
  }

  /** Every request waiting fails with `error` (the thread reported a fault of its own). */
  failAll(error: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    this.unrefIfIdle();
    for (const w of all) w.reject(error);
  }

  /** Sends `close` and resolves when the thread exited; no restart after it. */
  close(message: Request): Promise<void> {
    this.closing ??= (async () => {
      const w = this.current;
      if (w === null) return;
      w.ref();
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.postMessage(message);
      });
    })();
    return this.closing;
  }

  private take(seq: number): Waiting | undefined {
    const w = this.waiting.get(seq);
    if (w === undefined) return undefined;
    this.waiting.delete(seq);
    this.unrefIfIdle();
    return w;
  }

  private unrefIfIdle(): void {
    if (this.o.refWhileWaiting && this.waiting.size === 0 && this.closing === null) this.current?.unref();
  }
}
