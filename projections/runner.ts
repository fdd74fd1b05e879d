/**
 * The projection runner: catches up from the checkpoint by reading pages of the log, then
 * follows it live through a subscription, applying events in batches (each batch and the
 * checkpoint in one transaction). Store failures are retried; an event a projection cannot
 * handle is parked by the writer and the runner goes on.
 */
import type { Logger } from 'pino';
import { PositionWaiters } from '../src/store/position-waiters.js';
import type { LogEvent, ReadModelWriter } from './db.js';

/** The part of the store port the runner uses (structurally src/store/port.ts EventStore). */
export interface LogSource {
  readAll(options?: { after?: string; limit?: number }): Promise<readonly LogEvent[]>;
  subscribe(options?: { after?: string }): AsyncIterable<LogEvent> & { close(): Promise<void> };
  head(): Promise<string | null>;
}

export interface RunnerOptions {
  /** Events per transaction. Default 2000. */
  readonly batchSize?: number;
  /** Wait before retrying after a store error. Default 500 ms. */
  readonly retryMs?: number;
  /** Called after each applied batch, with its events (e.g. to drop caches of the current record). */
  readonly onApplied?: (events: readonly LogEvent[]) => void;
}

export type RunnerState = 'idle' | 'catching-up' | 'live' | 'retrying' | 'stopped';

export class Runner {
  state: RunnerState = 'idle';
  caughtUpOnce = false;
  lastError: string | null = null;
  private stopped = false;
  private sub: { close(): Promise<void> } | null = null;
  private loop: Promise<void> | null = null;
  private readonly waiters = new PositionWaiters();
  private readonly batchSize: number;
  private readonly retryMs: number;

  constructor(
    private readonly writer: ReadModelWriter,
    private readonly store: LogSource,
    private readonly log: Logger,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000;
    this.retryMs = options.retryMs ?? 500;
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
        await this.follow();
      } catch (err) {
        if (this.stopped) return;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.state = 'retrying';
        this.log.error({ err }, 'projection runner failed; retrying');
        await new Promise((r) => setTimeout(r, this.retryMs));
      }
    }
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
