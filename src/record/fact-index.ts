/**
 * factId → stream, for the facts a correction or retraction names by factId only. The port
 * has no read by event id, so the recorder keeps this small index itself: fed by a store
 * subscription from the start of the log (facts recorded by other processes too) and by its
 * own appends as they return (so a correction can follow its original at once). A lookup
 * that misses waits for the subscription to reach the log's head before answering "unknown".
 *
 * Memory: one Map entry per fact, about 100–150 bytes (1M facts ≈ 100–150 MB). Stream names
 * are interned, so facts of one stream share the string.
 */
import type { Logger } from 'pino';
import type { EventStore, Position, Subscription } from '../store/port.js';

export interface FactIndex {
  get(factId: string): string | undefined;
  /** Like get, but first lets the subscription reach the head of the log (bounded wait). */
  lookup(factId: string, timeoutMs?: number): Promise<string | undefined>;
  set(factId: string, stream: string): void;
  /** Resolves once the subscription has seen every event up to the head it found at start. */
  ready(): Promise<void>;
  /** Subscribers told of each event the subscription delivers (e.g. to drop cached state). */
  onEvent(listener: (stream: string, type: string) => void): void;
  close(): Promise<void>;
}

export function openFactIndex(store: EventStore, log?: Logger): FactIndex {
  const byFact = new Map<string, string>();
  const streams = new Map<string, string>();
  const listeners: Array<(stream: string, type: string) => void> = [];
  let seen: Position | null = null;
  let waiters: Array<() => void> = [];
  let closed = false;
  let subscription: Subscription | undefined;

  const intern = (s: string): string => {
    const known = streams.get(s);
    if (known) return known;
    streams.set(s, s);
    return s;
  };
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  async function reached(target: Position | null, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (target !== null && (seen === null || seen < target)) {
      if (closed || Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  const running = (async () => {
    subscription = store.subscribe();
    try {
      for await (const event of subscription) {
        const factId = event.metadata['factId'];
        if (typeof factId === 'string' && event.type !== 'KeyReserved') byFact.set(factId, intern(event.stream));
        seen = event.position;
        for (const l of listeners) l(event.stream, event.type);
        wake();
      }
    } catch (err) {
      /* c8 ignore next 2 -- only on a store failure mid-subscription */
      if (!closed) log?.error({ err }, 'fact index subscription failed; corrections will wait for it');
    }
  })();

  let startHead: Promise<Position | null> | undefined;
  return {
    get: (factId) => byFact.get(factId),
    async lookup(factId, timeoutMs = 5_000) {
      const hit = byFact.get(factId);
      if (hit !== undefined) return hit;
      await reached(await store.head(), timeoutMs);
      return byFact.get(factId);
    },
    set(factId, stream) {
      byFact.set(factId, intern(stream));
    },
    async ready() {
      startHead ??= store.head();
      await reached(await startHead, 60_000);
    },
    onEvent(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      wake();
      await subscription?.close();
      await running;
    },
  };
}
