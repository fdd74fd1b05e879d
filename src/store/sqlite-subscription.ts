/**
 * Subscriptions for the embedded store. A subscription pulls pages from the table (catch-up
 * and live are the same loop), so a slow consumer holds at most one page and never slows
 * appends. When a page comes back empty it sleeps until this process commits (ChangeNotifier)
 * or until the poller sees another connection's commit through `PRAGMA data_version`.
 */
import type { StoredEvent, Subscription } from './port.js';
import type { CommittedFeed } from './sqlite-writer-feed.js';

/**
 * With a writer handing its commits (sqlite-writer-feed.ts), how long the log may stay ahead
 * of what was handed before the subscription reads it itself: a commit of another process, or
 * a batch that never came. A batch normally arrives within a millisecond of its commit.
 */
const FEED_GRACE_MS = 100;

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
  /** The last position stored (0: none). */
  head(): number;
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
  /** What the writer hands (an unfiltered subscription of a follower thread), and whether this subscription reports seals (StoredEvent.integrity). */
  readonly feed?: { readonly feed: CommittedFeed; readonly checksSeals: boolean };
}

export class PagingSubscription implements Subscription {
  private closed = false;
  private cancelSleep: (() => void) | null = null;
  private iterator: AsyncGenerator<StoredEvent> | null = null;
  private fed: SubscriptionOptions['feed'];

  constructor(
    private readonly source: PageSource,
    private readonly notifier: ChangeNotifier,
    private readonly options: SubscriptionOptions,
    private readonly onClose: (s: PagingSubscription) => void,
  ) {
    this.fed = options.feed;
  }

  /** Another subscription takes the writer's batches from now on: this one reads the log. */
  unfeed(): void {
    this.fed = undefined;
  }

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
    /** The log was read up to its head at least once since the last gap (a catch-up is done by reading). */
    let caughtUp = false;
    /** Since when the log has been ahead of what was handed (0: it is not). */
    let aheadSince = 0;
    /** When the log's head was last compared with what was handed (0: not since the last gap). */
    let lookedAt = 0;
    try {
      while (!this.closed) {
        const feed = this.fed;
        if (feed !== undefined) {
          const got = feed.feed.take(after, feed.checksSeals);
          if (got === 'gap') {
            caughtUp = false;
            lookedAt = 0;
          } else if (got !== null) {
            after = got.last;
            aheadSince = 0;
            for (const ev of got.events) {
              if (this.closed) return;
              if (types === undefined || types.includes(ev.type)) yield ev;
            }
            continue;
          } else if (caughtUp && aheadSince === 0 && feed.feed.live) {
            // The log was not ahead of what was handed when last looked at, and every batch
            // since followed on: it need not be looked at again (two statements, each a read
            // transaction, a wake-up) before FEED_GRACE_MS passed. A commit the writer did not
            // hand is seen then, or at once as a gap when the writer's next batch comes.
            const since = Date.now() - lookedAt;
            if (since < FEED_GRACE_MS) {
              await this.sleepFed(feed.feed, null, FEED_GRACE_MS - since);
              continue;
            }
          }
        }
        const version = this.source.dataVersion();
        if (feed !== undefined && feed.feed.live && caughtUp) {
          // The writer hands what it commits: the log is read only when it stays ahead of that.
          const ahead = this.source.head() > after;
          const now = Date.now();
          lookedAt = now;
          if (ahead && aheadSince === 0) aheadSince = now;
          if (!ahead || now - aheadSince < FEED_GRACE_MS) {
            if (!ahead) aheadSince = 0;
            await this.sleepFed(feed.feed, version, ahead ? FEED_GRACE_MS - (now - aheadSince) : null);
            continue;
          }
          aheadSince = 0;
        }
        const page = this.source.readPage(after, pageSize, types);
        if (page.events.length === 0 && page.scannedTo <= after) {
          caughtUp = true;
          if (feed !== undefined && feed.feed.live) continue;
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

  /** Sleeps until a batch is handed, a commit is seen (poll or poke; not with `version` null), or `ms` passed. */
  private async sleepFed(feed: CommittedFeed, version: number | null, ms: number | null): Promise<void> {
    const arrival = feed.arrival();
    const sleep = version === null ? null : this.notifier.sleep(version);
    const timer = ms === null ? null : setTimeout(() => arrival.cancel(), Math.max(1, ms));
    this.cancelSleep = () => {
      sleep?.cancel();
      arrival.cancel();
    };
    await (sleep === null ? arrival.wait : Promise.race([arrival.wait, sleep.wake]));
    if (timer !== null) clearTimeout(timer);
    sleep?.cancel();
    arrival.cancel();
    this.cancelSleep = null;
  }
}
