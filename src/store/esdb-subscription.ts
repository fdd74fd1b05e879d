/**
 * A port Subscription over EventStoreDB's catch-up subscription to `$all`. System events are
 * filtered on the server (excludeSystemEvents, or an event-type regex for `types`). When the
 * subscription drops (server restart, network cut, leader change) it resubscribes from the
 * last position it delivered, with exponential backoff, so its consumer neither misses nor
 * sees twice an event; errors that retrying cannot fix end the iteration with that error.
 */
import {
  EventStoreDBClient,
  START,
  eventTypeFilter,
  excludeSystemEvents,
  type AllStreamSubscription,
} from '@eventstore/db-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { PositionNotInLogError } from './errors.js';
import { isDiscoveryFailure, isInvalidPosition, isTransient, translateError } from './esdb-errors.js';
import { toStoredEvent } from './esdb-events.js';
import { decodeEsdbPosition } from './esdb-position.js';
import type { Position, StoredEvent, SubscribeOptions, Subscription } from './port.js';

export interface RetryPolicy {
  /** First delay before resubscribing. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Cap of the doubling delay. Default 5000 ms. */
  readonly maxDelayMs?: number;
}

export class EsdbSubscription implements Subscription {
  private closed = false;
  private current: AllStreamSubscription | null = null;
  private readonly wakeUp = new AbortController();
  private iterator: AsyncGenerator<StoredEvent> | null = null;

  constructor(
    /** The store's current client (replaced when its discovery failed). */
    private readonly client: () => EventStoreDBClient,
    private readonly options: SubscribeOptions,
    private readonly retry: RetryPolicy = {},
    /** Called once when the subscription ends, however it ends. */
    private readonly onEnd: () => void = () => {},
    /** Called with a client whose discovery failed. */
    private readonly onDiscoveryFailure: (client: EventStoreDBClient) => void = () => {},
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
    // One server subscription per port subscription: iterating twice shares it.
    this.iterator ??= this.run();
    return this.iterator;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeUp.abort();
    this.onEnd();
    await this.drop();
  }

  private async drop(): Promise<void> {
    const sub = this.current;
    this.current = null;
    if (!sub) return;
    await sub.unsubscribe().catch(() => undefined);
    // A cancelled call does not always end its stream: destroying it ends our for-await.
    sub.destroy();
  }

  private filter() {
    const types = this.options.types;
    if (!types) return excludeSystemEvents();
    const alternatives = types.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
    return eventTypeFilter({ regex: `^(?:${alternatives})$` });
  }

  private async *run(): AsyncGenerator<StoredEvent> {
    let last: Position | undefined = this.options.after;
    if (last !== undefined) decodeEsdbPosition(last);
    const types = this.options.types ? new Set(this.options.types) : null;
    let attempt = 0;
    try {
      while (!this.closed) {
        const client = this.client();
        const sub = client.subscribeToAll({
          fromPosition: last === undefined ? START : decodeEsdbPosition(last),
          filter: this.filter(),
        });
        this.current = sub;
        try {
          for await (const resolved of sub) {
            attempt = 0;
            const event = toStoredEvent(resolved);
            // Resubscribing starts after `last`; the comparison also guards against a server
            // that includes it, so an event is never delivered twice.
            if (!event || (last !== undefined && event.position <= last)) continue;
            if (types && !types.has(event.type)) continue;
            last = event.position;
            yield event;
            if (this.closed) return;
          }
        } catch (err) {
          if (this.closed) return;
          if (isInvalidPosition(err) && last !== undefined) throw new PositionNotInLogError(last);
          if (isDiscoveryFailure(err)) this.onDiscoveryFailure(client);
          if (!isTransient(err)) throw translateError(err, 'subscribe');
        }
        if (this.closed) return;
        // The stream ended or dropped: wait, then resubscribe from the last delivered event.
        const base = this.retry.initialDelayMs ?? 100;
        const delay = Math.min(this.retry.maxDelayMs ?? 5_000, base * 2 ** attempt);
        attempt = Math.min(attempt + 1, 30);
        await sleep(delay, undefined, { signal: this.wakeUp.signal }).catch(() => undefined);
      }
    } finally {
      if (!this.closed) this.onEnd();
      this.closed = true;
      await this.drop();
    }
  }
}
