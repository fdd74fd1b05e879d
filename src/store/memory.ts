/**
 * An in-memory adapter of the store port: the same contract as the embedded and EventStoreDB
 * adapters (it runs the same contract suite), nothing durable. For fast tests and property
 * tests only; the service never uses it.
 */
import { isDeepStrictEqual } from 'node:util';
import { DuplicateEventError, WrongExpectedRevisionError } from './errors.js';
import type { AppendResult, EventStore, ExpectedRevision, NewEvent, Position, ReadAllOptions, ReadStreamOptions, StoredEvent, SubscribeOptions, Subscription } from './port.js';

const encode = (n: number): Position => String(n).padStart(20, '0');

export interface MemoryStoreOptions {
  /** What recordedAt is read from at each append (never going back before the last one). Default: the wall clock. */
  readonly clock?: () => Date;
}

export function createMemoryStore(options: MemoryStoreOptions = {}): EventStore {
  const clock = options.clock ?? (() => new Date());
  const log: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const byId = new Map<string, StoredEvent>();
  const waiters = new Set<() => void>();
  let lastRecordedAt = '';
  let closed = false;

  function check(stream: string, expected: ExpectedRevision, current: StoredEvent[] | undefined): void {
    const actual = current?.length ? String(current.length - 1) : 'no_stream';
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && !current?.length) ||
      (expected === 'stream_exists' && !!current?.length) ||
      (typeof expected === 'number' && current?.length === expected + 1);
    if (!ok) throw new WrongExpectedRevisionError(stream, String(expected), actual);
  }

  function replay(stream: string, events: readonly NewEvent[]): AppendResult | null {
    const found = events.map((e) => byId.get(e.id));
    if (found.every((f) => f === undefined)) return null;
    found.forEach((f, i) => {
      const e = events[i] as NewEvent;
      if (!f || f.stream !== stream || f.type !== e.type || !isDeepStrictEqual(f.data, e.data) || !isDeepStrictEqual(f.metadata, e.metadata)) {
        throw new DuplicateEventError(stream, e.id);
      }
    });
    const stored = found as StoredEvent[];
    return { stream, nextRevision: (stored.at(-1) as StoredEvent).revision, events: stored.map(({ id, revision, position, recordedAt }) => ({ id, revision, position, recordedAt })) };
  }

  const matches = (e: StoredEvent, o: ReadAllOptions): boolean =>
    (o.after === undefined || e.position > o.after) && (!o.types || o.types.includes(e.type));

  return {
    name: 'memory',
    async append(stream, events, expected) {
      if (closed) throw new Error('store closed');
      const again = replay(stream, events);
      if (again) return again;
      const current = streams.get(stream);
      check(stream, expected, current);
      const now = clock().toISOString();
      lastRecordedAt = now > lastRecordedAt ? now : lastRecordedAt;
      const list = current ?? [];
      const appended = events.map((e): StoredEvent => {
        const stored: StoredEvent = {
          id: e.id,
          stream,
          revision: list.length,
          position: encode(log.length + 1),
          type: e.type,
          data: structuredClone(e.data),
          metadata: structuredClone(e.metadata),
          recordedAt: lastRecordedAt,
        };
        list.push(stored);
        log.push(stored);
        byId.set(e.id, stored);
        return stored;
      });
      streams.set(stream, list);
      for (const wake of [...waiters]) wake();
      return { stream, nextRevision: list.length - 1, events: appended.map(({ id, revision, position, recordedAt }) => ({ id, revision, position, recordedAt })) };
    },
    async readStream(stream, options: ReadStreamOptions = {}) {
      const list = streams.get(stream) ?? [];
      const limit = options.limit ?? Infinity;
      if (options.direction === 'backwards') {
        const from = options.fromRevision ?? list.length - 1;
        return list.filter((e) => e.revision <= from).reverse().slice(0, limit);
      }
      return list.filter((e) => e.revision >= (options.fromRevision ?? 0)).slice(0, limit);
    },
    async readAll(options: ReadAllOptions = {}) {
      return log.filter((e) => matches(e, options)).slice(0, options.limit ?? Infinity);
    },
    subscribe(options: SubscribeOptions = {}): Subscription {
      let after = options.after;
      let open = true;
      let wake: (() => void) | undefined;
      return {
        async close() {
          open = false;
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          while (open && !closed) {
            const next = log.filter((e) => matches(e, { ...options, after }));
            for (const e of next) {
              if (!open) return;
              after = e.position;
              yield e;
            }
            if (next.length === 0) {
              await new Promise<void>((resolve) => {
                wake = () => {
                  waiters.delete(wake as () => void);
                  resolve();
                };
                waiters.add(wake);
              });
            }
          }
        },
      };
    },
    async head() {
      return log.at(-1)?.position ?? null;
    },
    async close() {
      closed = true;
      for (const wake of [...waiters]) wake();
    },
  };
}
