/**
 * Subscriptions for the embedded store. A subscription pulls pages from the table (catch-up
 * and live are the same loop), so a slow consumer holds at most one page and never slows
 * appends. When a page comes back empty it sleeps until this process commits (ChangeNotifier)
 * or until the poller sees another connection's commit through `PRAGMA data_version`.
 */
import type { StoredEvent, Subscription } from './port.js';

export interface Page {
  readonly events: StoredEvent[];
  /** Every event up to this position has been looked at (matching the filter or not). */
  readonly scannedTo: number;
}

export interface PageSource {
  /** Events strictly after `after`, at most `limit`, of the given types (all when undefined). */
  readPage(after: number, limit: number, types: readonly string[] | undefined): Page;
  /** A number that changes when another connection commits. */
  dataVersion(): number;
}

/**
 * Wakes sleeping subscriptions: at once after a local commit, and by polling data_version
 * for other processes' commits. The poll timer only runs while someone sleeps.
 */
export class ChangeNotifier {
  private readonly sleepers = new Map<() => void, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataVersion: () => number,
    private readonly pollIntervalMs: number,
  ) {}

  /**
   * Sleeps until a commit. `seenVersion` is the data_version read before the caller's last
   * (empty) page, so a foreign commit landing in between still wakes it on the next poll.
   */
  sleep(seenVersion: number): { wake: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.sleepers.set(wake, seenVersion);
    this.startPolling();
    return {
      wake: promise,
      cancel: () => {
        this.sleepers.delete(wake);
        wake();
        this.stopPollingIfIdle();
      },
    };
  }

  notify(): void {
    const woken = [...this.sleepers.keys()];
    this.sleepers.clear();
    for (const w of woken) w();
    this.stopPollingIfIdle();
  }

  stop(): void {
    this.notify();
  }

  private startPolling(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
  }

  private stopPollingIfIdle(): void {
    if (this.sleepers.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private poll(): void {
    let version: number;
    try {
      version = this.dataVersion();
    } catch {
      // The connection is closing; wake everyone so they see it.
      this.notify();
      return;
    }
    for (const [wake, seen] of this.sleepers) {
      if (seen !== version) {
        this.sleepers.delete(wake);
        wake();
      }
    }
    this.stopPollingIfIdle();
  }
}

export interface SubscriptionOptions {
  readonly after: number;
  readonly types: readonly string[] | undefined;
  readonly pageSize: number;
}

export class PagingSubscription implements Subscription {
  private closed = false;
  private cancelSleep: (() => void) | null = null;
  private iterator: AsyncGenerator<StoredEvent> | null = null;

  constructor(
    private readonly source: PageSource,
    private readonly notifier: ChangeNotifier,
    private readonly options: SubscriptionOptions,
    private readonly onClose: (s: PagingSubscription) => void,
  ) {}

  /** One iteration per subscription: a second for-await continues where the first stopped. */
  [Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
    this.iterator ??= this.run();
    return this.iterator;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancelSleep?.();
    this.onClose(this);
  }

  private async *run(): AsyncGenerator<StoredEvent> {
    let after = this.options.after;
    const { types, pageSize } = this.options;
    try {
      while (!this.closed) {
        const version = this.source.dataVersion();
        const page = this.source.readPage(after, pageSize, types);
        if (page.events.length === 0 && page.scannedTo <= after) {
          const sleep = this.notifier.sleep(version);
          this.cancelSleep = sleep.cancel;
          await sleep.wake;
          this.cancelSleep = null;
          continue;
        }
        after = page.scannedTo;
        for (const ev of page.events) {
          if (this.closed) return;
          yield ev;
        }
      }
    } finally {
      // A consumer that breaks out of for-await closes the subscription.
      if (!this.closed) await this.close();
    }
  }
}
