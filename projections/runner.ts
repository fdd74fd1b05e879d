/**
 * The projection runner: catches up from the checkpoint by reading pages of the log, then
 * follows it live through a subscription, applying events in batches (each batch and the
 * checkpoint in one transaction). A failure of the store or of the read-model file (a full
 * disk) is transient until proven otherwise: the runner retries from the checkpoint with a
 * growing pause and resumes by itself; an event a projection cannot handle is parked by the
 * writer and the runner goes on.
 */
import type { Logger } from 'pino';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { LogEvent, ReadModelWriter } from './db.js';

/** The part of the store port the runner uses (structurally src/store/port.ts EventStore). */
export interface LogSource {
  readAll(options?: { after?: string; limit?: number }): Promise<readonly LogEvent[]>;
  subscribe(options?: { after?: string }): AsyncIterable<LogEvent> & { close(): Promise<void> };
  head(): Promise<string | null>;
  /** The embedded store's SQLite file, when the log is one: a bulk build reads it on a thread of its own (BuildOptions.decodeThread). */
  readonly path?: string;
}

export interface RunnerOptions {
  /** Events per transaction. Default 2000. */
  readonly batchSize?: number;
  /** First wait before retrying after a failure; doubled at each failure in a row. Default 250 ms. */
  readonly retryMs?: number;
  /** Longest wait between retries. Default 10000 ms. */
  readonly maxRetryMs?: number;
  /** Called after each applied batch, with its events (e.g. to drop caches of the current record). */
  readonly onApplied?: (events: readonly LogEvent[]) => void;
}

export type RunnerState = 'idle' | 'catching-up' | 'live' | 'retrying' | 'stopped';

export class Runner {
  state: RunnerState = 'idle';
  caughtUpOnce = false;
  lastError: string | null = null;
  /** Failures in a row (0 once a batch was applied or the runner went live). */
  failures = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private sub: { close(): Promise<void> } | null = null;
  private loop: Promise<void> | null = null;
  private readonly waiters = new PositionWaiters();
  private readonly batchSize: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;

  constructor(
    private readonly writer: ReadModelWriter,
    private readonly store: LogSource,
    private readonly log: Logger,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000;
    this.retryMs = options.retryMs ?? 250;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  /** Resolves once the catch-up reached the head seen when it began (or the runner stopped). */
  async caughtUp(): Promise<void> {
    while (!this.caughtUpOnce && !this.stopped) await new Promise((r) => setTimeout(r, 5));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.sub?.close();
    await this.loop;
    this.state = 'stopped';
    this.waiters.cancelAll();
  }

  applied(): string | null {
    return this.writer.checkpoint().position;
  }

  /** True once `position` is applied; false after `timeoutMs`. */
  waitFor(position: string, timeoutMs: number): Promise<boolean> {
    const cp = this.applied();
    if (cp !== null && cp >= position) return Promise.resolve(true);
    return this.stopped ? Promise.resolve(false) : this.waiters.wait(position, timeoutMs);
  }

  private notify(): void {
    const cp = this.applied();
    if (cp !== null) this.waiters.reached(cp);
  }

  private apply(events: readonly LogEvent[]): void {
    if (events.length === 0) return;
    this.writer.applyBatch(events);
    this.failures = 0;
    this.options.onApplied?.(events);
    this.notify();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        this.state = 'catching-up';
        for (;;) {
          const cp = this.applied();
          const page = await this.store.readAll({ ...(cp ? { after: cp } : {}), limit: this.batchSize });
          if (this.stopped) return;
          if (page.length === 0) break;
          this.apply(page);
        }
        this.caughtUpOnce = true;
        this.state = 'live';
        this.failures = 0;
        this.lastError = null;
        await this.follow();
      } catch (err) {
        if (this.stopped) return;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.state = 'retrying';
        const delayMs = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(this.failures, 20));
        this.failures++;
        this.log.error({ err, failures: this.failures, retryInMs: delayMs }, 'projection runner failed; retrying from the checkpoint');
        await this.pause(delayMs);
      }
    }
  }

  /** Waits before a retry; stop() cuts it short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async follow(): Promise<void> {
    const cp = this.applied();
    const sub = this.store.subscribe(cp ? { after: cp } : {});
    this.sub = sub;
    if (this.stopped) await sub.close();
    let buffer: LogEvent[] = [];
    let scheduled = false;
    let failure: unknown = null;
    const flush = () => {
      scheduled = false;
      const batch = buffer;
      buffer = [];
      try {
        this.apply(batch);
      } catch (err) {
        failure = err;
        void sub.close();
      }
    };
    try {
      for await (const e of sub) {
        buffer.push(e);
        if (buffer.length >= this.batchSize) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }
      if (!failure) flush();
    } finally {
      this.sub = null;
    }
    if (failure) throw failure;
  }
}
