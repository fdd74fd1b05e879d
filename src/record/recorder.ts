/**
 * The recorder: the write side's application service. For each fact: validate, resolve
 * references (keys to ids, ids to standing entities of the right kind), read the stream,
 * decide, append with the expected revision, and answer once this process's read models have
 * applied it. A conflicting concurrent write makes it read and decide again (a few times)
 * before answering 409. Nothing here knows HTTP.
 */
import type { Logger } from 'pino';
import { DomainError } from '../domain/index.js';
import { NO_METRICS, secondsSince, type MetricsSink } from '../metrics/sink.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppendTooLargeError, DuplicateEventError, StoreUnavailableError, StreamDeletedError, WrongExpectedRevisionError } from '../store/errors.js';
import type { AppendRequest, EventStore, Position } from '../store/port.js';
import { appendWaves } from '../store/waves.js';
import { openFactIndex } from './fact-index.js';
import { factIdFromIdempotencyKey } from './idempotency.js';
import { parseFactRequest, type FactRequest } from './request.js';
import { Recording, type CommitOutcome, type Prepared, type RecordedFact } from './recording.js';
import { StateCache } from './states.js';

export interface RecorderDeps {
  store: EventStore;
  /** This process's read models: the answer waits until they applied the write. */
  readModels: { waitFor(position: Position, timeoutMs: number): Promise<boolean> };
  /** What the factIds this recorder makes up are dated by (recordedAt is the store's). Default: the wall clock. */
  clock?: () => Date;
  /** A new factId, given the clock's time in ms (e.g. the ulid package's monotonicFactory()). */
  newId: (now: number) => string;
  /** How long an answer waits for the read models. Default 2,000 ms. */
  readWaitMs?: number;
  /**
   * Single facts: after a group of more than one, how long the next group may wait for as many
   * facts as that one held (see `linger` below): fewer, larger groups under concurrent writers.
   * Default 0 (no wait); the service's is ANNALS_GROUP_LINGER_MS.
   */
  groupLingerMs?: number;
  /** Attempts when a concurrent write wins (the first decides optimistically). Default 6. */
  maxAttempts?: number;
  log?: Logger;
  /** Facts recorded by type, append latency, group sizes. Default: none kept. */
  metrics?: MetricsSink;
}

export interface RecordContext {
  /** The authenticated principal, stored as `recordedBy`. */
  principal: string;
  /** The request id, stored as `correlationId`. */
  correlationId: string;
  /** The `Idempotency-Key` header, if any. */
  idempotencyKey?: string;
}

export interface BatchOutcome {
  /** How many facts, from the first, are recorded: `results.length` (and `error.index` when there is an error). */
  recorded: number;
  /** Those facts' results, in the batch's order: `results[i]` is fact i. */
  results: RecordedFact[];
  /** The first refused fact, or the first not stored: its index in the batch and why (a DomainError, or a store error). */
  error?: { index: number; error: unknown };
  /**
   * Facts after `error.index` that are recorded all the same, in the batch's order, each with
   * its index; absent when there are none (always, on the embedded store). EventStoreDB has no
   * multi-stream transaction: a part's appends go out in waves, each wave's concurrently, so a
   * store fault can leave a fact stored that comes after the first one not stored.
   */
  alsoRecorded?: Array<RecordedFact & { index: number }>;
}

export interface Recorder {
  /** Records one validated fact; throws DomainError (or a store error) when refused. */
  record(request: FactRequest, context: RecordContext): Promise<RecordedFact>;
  /** Records up to 10,000 facts in order, stopping at the first refused one. Items are unvalidated. */
  recordBatch(items: readonly unknown[], context: RecordContext): Promise<BatchOutcome>;
  /** Reads the log into the factId index now (otherwise done on the first lookup that misses). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export type { RecordedFact };

type Item = Prepared | { index: number; error: unknown };

/** What one attempt at a batch comes to (see `run`). */
type Attempt = BatchOutcome | 'retry' | 'refused-optimistically' | { upTo: { index: number; error: unknown } };

/** Most appends a recording sends to the store as one unit (see `append` below). */
const ONE_UNIT_MAX_APPENDS = 1_000;

/**
 * A batch is committed in parts as it is decided: once the facts decided since the last commit
 * make this many appends (a fact makes at most two), they are committed, as one unit (one
 * transaction of the embedded store), before the next facts are decided. What each fact
 * allocates on the way (its request's checks, its events and their texts) then dies young
 * instead of living, through every scavenge, until the whole batch is decided and stored. The
 * units are as many as before: a batch of 10,000 of bench:record's mix is 11 (~997 facts a
 * part), where the whole batch's three waves made 5 + 5 + 1.
 */
const PART_APPENDS = ONE_UNIT_MAX_APPENDS - 2;

/**
 * Waits before sending a commit again when the store did not answer it and may have stored it
 * (StoreUnavailableError.outcomeUnknown: timed out, reply lost). EventStoreDB may have stored a write it answered Timeout for, or lost the reply of (a
 * leader stopping): sent again, the same events at the same expected revisions are found
 * stored (the server is idempotent by event id at a revision), so the fact is answered once,
 * as recorded by this request. After these, the answer is 503 with Retry-After.
 */
const COMMIT_RETRY_DELAYS_MS = [50, 200, 500, 1_000];

/** A stream deleted in the store refuses the fact that would go there: 409, never a 500. */
function deletedStream(err: StreamDeletedError): DomainError {
  return new DomainError('conflict', `${err.message}; the fact cannot be recorded`);
}

export function createRecorder(deps: RecorderDeps): Recorder {
  const { store } = deps;
  const index = openFactIndex(store);
  const cache = new StateCache(store);
  const maxAttempts = deps.maxAttempts ?? 6;
  // The factIds' time in ms: the wall clock's without a Date a fact when no clock is given.
  const clock = deps.clock;
  const nowMs = clock ? () => clock().getTime() : Date.now;
  /*
   * A group of single facts or a small batch goes to the store as one unit (the embedded
   * store: one commit). A large batch goes wave by wave, in units of up to 1,000 appends, so
   * the read models and the audit follower apply its first appends while the writer stores
   * the next ones (as one unit, batches of 10,000 facts measured ~6% slower).
   */
  const metrics = deps.metrics ?? NO_METRICS;
  const append = async (waves: AppendRequest[][]) => {
    const started = performance.now();
    try {
      return await appendWaves(store, waves, { maxUnit: ONE_UNIT_MAX_APPENDS });
    } finally {
      metrics.appendSeconds(secondsSince(started));
    }
  };
  const readWaitMs = deps.readWaitMs ?? 2_000;

  function prepare(request: FactRequest, i: number, context: RecordContext, batch: boolean): Prepared {
    if (request.factId !== undefined) {
      return { index: i, request, factId: request.factId, principal: context.principal, correlationId: context.correlationId, ...(context.idempotencyKey ? { idempotencyKey: context.idempotencyKey } : {}) };
    }
    if (context.idempotencyKey !== undefined) {
      const key = batch ? `${context.idempotencyKey}\n${i}` : context.idempotencyKey;
      return { index: i, request, factId: factIdFromIdempotencyKey(context.principal, key), idempotencyKey: context.idempotencyKey, principal: context.principal, correlationId: context.correlationId };
    }
    return { index: i, request, factId: deps.newId(nowMs()), generated: true, principal: context.principal, correlationId: context.correlationId };
  }

  const locks = new Map<string, Promise<void>>();
  /** One decision at a time per stream in this process (a promise chain per stream). */
  async function lock(stream: string): Promise<() => void> {
    const before = locks.get(stream) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    locks.set(stream, tail);
    await before;
    return () => {
      release();
      if (locks.get(stream) === tail) locks.delete(stream);
    };
  }

  async function run(batch: Item[], single: boolean): Promise<BatchOutcome> {
    let items = batch;
    // What any attempt committed so far, by index: a later attempt that fails on a store fault answers these (stored, whatever follows).
    const stored = new Map<number, RecordedFact>();
    for (let attempt = 1; ; attempt++) {
      // The first attempt decides on what this process knows; the next ones read first.
      const optimistic = attempt === 1;
      const recording = new Recording({ cache, index, optimistic, ...(single ? { lock } : {}) });
      let outcome: Attempt;
      try {
        outcome = await attemptOnce(recording, items, attempt, optimistic, stored);
      } finally {
        recording.release();
      }
      if (outcome === 'refused-optimistically') continue;
      if (typeof outcome === 'object' && 'upTo' in outcome) {
        // Refused at its append while facts before it were not stored (their wave came after the
        // failed one): decide again the facts before it (the stored ones are found recorded), then stop there.
        const { upTo } = outcome;
        items = [...items.slice(0, upTo.index), upTo];
        continue;
      }
      if (outcome !== 'retry') return await settle(outcome);
      // Let the writers that won go first; jitter so the losers do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }

  async function settle(outcome: BatchOutcome): Promise<BatchOutcome> {
    let last: Position | undefined;
    for (const r of outcome.alsoRecorded ? [...outcome.results, ...outcome.alsoRecorded] : outcome.results) {
      if (r.position && (last === undefined || r.position > last)) last = r.position;
    }
    if (last !== undefined && !(await deps.readModels.waitFor(last, readWaitMs))) {
      deps.log?.warn({ position: last, readWaitMs }, 'read models did not apply the write in time; answering anyway');
    }
    return outcome;
  }

  /**
   * The answer of a batch stopped at `error.index`: the facts before it (all stored), the error,
   * and the facts after it that are stored all the same (`alsoRecorded`; on EventStoreDB only:
   * see BatchOutcome). `stored` holds every fact any attempt stored (or found recorded).
   */
  function stopped(stored: Map<number, RecordedFact>, error: { index: number; error: unknown }): BatchOutcome {
    const results: RecordedFact[] = [];
    for (let i = 0; i < error.index; i++) {
      const r = stored.get(i);
      if (r) results.push(r);
    }
    const after = [...stored].filter(([i]) => i > error.index).sort(([a], [b]) => a - b);
    const outcome: BatchOutcome = { recorded: results.length, results, error };
    if (after.length > 0) outcome.alsoRecorded = after.map(([index, r]) => ({ ...r, index }));
    return outcome;
  }

  /** The first index that no attempt stored. */
  function firstNotStored(stored: Map<number, RecordedFact>): number {
    let i = 0;
    while (stored.has(i)) i++;
    return i;
  }

  /**
   * What the batch answers when something other than a refusal or a lost race (a store read
   * failing, an append failing on the store) stops it: the error itself when nothing of the
   * batch is stored (the request fails whole, as before parts), else the facts stored, in
   * order, up to the first that is not (this attempt's parts, or an earlier attempt's), the
   * error at that index, and any fact after it stored all the same (`alsoRecorded`): a client
   * never gets a 5xx for a batch part of which is stored, and every stored fact is answered.
   */
  function storeFault(err: unknown, stored: Map<number, RecordedFact>): BatchOutcome {
    if (stored.size === 0) throw err;
    const outcome = stopped(stored, { index: firstNotStored(stored), error: err });
    deps.log?.warn({ err, recorded: outcome.recorded, alsoRecorded: outcome.alsoRecorded?.length ?? 0 }, 'a batch stopped on a store fault after some of it was stored; answering what was stored');
    return outcome;
  }

  async function attemptOnce(recording: Recording, items: Item[], attempt: number, optimistic: boolean, stored: Map<number, RecordedFact>): Promise<Attempt> {
    {
      let refused: BatchOutcome['error'];
      // The failure of the part that failed (a batch is committed in parts: PART_APPENDS); what every part stored is in `stored`.
      let failure: CommitOutcome['failure'];
      const commitPart = async (): Promise<void> => {
        const outcome = await commit(recording);
        for (const [i, r] of outcome.results) {
          // Counted when first stored. A later attempt of the batch finds it recorded: as a
          // duplicate (created: false), or, a factId this process made up, sent again and
          // answered by the store as the original append (created: true): not counted again.
          if (r.created && !stored.has(i)) metrics.factRecorded(r.type);
          stored.set(i, r);
        }
        failure = outcome.failure;
      };
      try {
        for (const item of items) {
          if ('error' in item) {
            refused = item;
            break;
          }
          try {
            await recording.decide(item);
          } catch (thrown) {
            const err = thrown instanceof StreamDeletedError ? deletedStream(thrown) : thrown;
            if (!(err instanceof DomainError)) throw err;
            // A refusal must stand on fresh reads, not on what this process last knew (the parts
            // committed before are then found recorded: the same results, as for a retried batch).
            if (optimistic) return 'refused-optimistically';
            refused = { index: item.index, error: err };
            break;
          }
          if (recording.appends >= PART_APPENDS) {
            await commitPart();
            if (failure) break;
          }
        }
        if (!failure) await commitPart();
      } catch (err) {
        // A store read (or an append) failed: what earlier parts stored is answered, not dropped.
        for (const stream of recording.touched) cache.drop(stream);
        return storeFault(err, stored);
      }
      if (failure?.error instanceof StreamDeletedError) {
        refused = { index: failure.index, error: deletedStream(failure.error) };
        failure = undefined;
      } else if (failure?.error instanceof AppendTooLargeError && failure.error.eventBytes !== undefined) {
        const { eventBytes, limit } = failure.error;
        const message = `the fact is ${eventBytes} bytes as the event store counts it (data, metadata and type); it takes at most ${limit} bytes in one write`;
        refused = { index: failure.index, error: new DomainError('invalid', message, { errors: [{ path: 'data', message }] }) };
        failure = undefined;
      }
      if (failure) {
        for (const stream of recording.touched) cache.drop(stream);
        // AppendTooLarge: nothing of that append was stored and the store now knows its limit: split anew.
        const raced = failure.error instanceof WrongExpectedRevisionError || failure.error instanceof DuplicateEventError || failure.error instanceof AppendTooLargeError;
        if (!raced) return storeFault(failure.error, stored);
        if (attempt < maxAttempts) {
          // A factId stored elsewhere by another process: let the index see it before deciding again.
          if (failure.error instanceof DuplicateEventError) await index.catchUp();
          return 'retry';
        }
        refused = { index: failure.index, error: new DomainError('conflict', `concurrent writes kept winning after ${maxAttempts} attempts; read again and retry (${(failure.error as Error).message})`) };
      }
      if (!refused) {
        // In the items' order (their indexes are 0, 1, …): no sort of the entries.
        const results: RecordedFact[] = [];
        for (let i = 0; i < items.length; i++) {
          const r = stored.get(i);
          if (r) results.push(r);
        }
        return { recorded: results.length, results };
      }
      // A fact refused at its append (a deleted stream, too large, lost races) while a fact
      // before it was not stored (its append was in a later wave, not attempted): that fact is
      // neither recorded nor refused, so decide the facts before the refused one again (once:
      // the refusal then stands as the attempt's last item).
      if (firstNotStored(stored) < refused.index && refused !== items[items.length - 1]) return { upTo: refused };
      return stopped(stored, refused);
    }
  }

  /** Commits, sending it again while the store does not answer (see COMMIT_RETRY_DELAYS_MS). */
  async function commit(recording: Recording): Promise<CommitOutcome> {
    let outcome = await recording.commit(append);
    for (const delay of COMMIT_RETRY_DELAYS_MS) {
      const error = outcome.failure?.error;
      if (!(error instanceof StoreUnavailableError && error.outcomeUnknown)) break;
      await sleep(delay * (0.5 + Math.random()));
      outcome = await recording.commit(append);
    }
    return outcome;
  }

  /** A fact decided on its own, the careful way: a lock per stream, retries, fresh reads. */
  async function alone(item: Prepared): Promise<RecordedFact> {
    const outcome = await run([{ ...item, index: 0 }], true);
    if (outcome.error) throw outcome.error.error;
    return outcome.results[0] as RecordedFact;
  }

  /*
   * Group commit for single facts. The store shares an fsync only between appends issued in
   * the same turn of the event loop, and requests reach their append at different turns. So
   * single facts queue here while the previous group is being decided and appended, and go
   * as one group: decided in arrival order (each against the ones before it, so concurrent
   * requests to one stream do not race), appended in waves like a batch. What the group
   * cannot settle on its own — a refusal (always decided again on fresh reads), a failed
   * append — is decided again alone.
   */
  interface Waiting {
    item: Prepared;
    resolve(result: RecordedFact): void;
    reject(err: unknown): void;
  }
  let queue: Waiting[] = [];
  let flushing = false;

  function enqueue(item: Prepared): Promise<RecordedFact> {
    return new Promise<RecordedFact>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (wake !== null && queue.length >= lingerTarget) wake();
      if (!flushing) {
        flushing = true;
        setImmediate(() => void flush());
      }
    });
  }

  /*
   * The linger (RecorderDeps.groupLingerMs): after a group of more than one fact, the next one
   * waits, up to that long, until as many facts as that group held are queued. Under a steady
   * set of concurrent writers the answers of the group just committed bring their writers'
   * next facts, so the groups double (bench:record's 32 clients: ~16 -> ~30 facts) and every
   * cost paid once a group (the COMMIT's fsyncs and shared pages, the messages between the
   * threads, the audit follower's transaction) is shared by twice as many facts. A lone writer
   * (groups of one) never waits; a wait ends at once when the queue reaches its target.
   */
  const lingerMs = deps.groupLingerMs ?? 0;
  let lastGroup = 0;
  let lingerTarget = 0;
  let wake: (() => void) | null = null;

  function linger(): Promise<void> | null {
    if (lingerMs <= 0 || lastGroup <= 1 || queue.length >= lastGroup) return null;
    lingerTarget = lastGroup;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, lingerMs);
      wake = () => {
        wake = null;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function flush(): Promise<void> {
    try {
      while (queue.length > 0) {
        const waiting = linger();
        if (waiting) await waiting;
        const group = queue;
        lastGroup = group.length;
        queue = [];
        try {
          await flushGroup(group);
        } catch (err) {
          // Not a refusal or a failed append (those are outcomes): nothing can be promised, so say so.
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      flushing = false;
    }
  }

  async function flushGroup(group: Waiting[]): Promise<void> {
    metrics.groupSize(group.length);
    const recording = new Recording({ cache, index, optimistic: true });
    const failed = new Set<number>();
    for (const [i, w] of group.entries()) {
      try {
        await recording.decide({ ...w.item, index: i });
      } catch (err) {
        // A refusal is decided again alone, on fresh reads; anything else is the answer.
        if (err instanceof StreamDeletedError) {
          failed.add(i);
          w.reject(deletedStream(err));
        } else if (!(err instanceof DomainError)) {
          failed.add(i);
          w.reject(err);
        }
      }
    }
    const outcome = await commit(recording);
    if (outcome.failure) for (const stream of recording.touched) cache.drop(stream);
    for (const r of outcome.results.values()) if (r.created) metrics.factRecorded(r.type);
    const done: Array<[Waiting, RecordedFact]> = [];
    for (const [i, w] of group.entries()) {
      const result = outcome.results.get(i);
      if (result) done.push([w, result]);
      else if (!failed.has(i)) alone(w.item).then(w.resolve, w.reject);
    }
    if (done.length > 0) {
      void settle({ recorded: done.length, results: done.map(([, r]) => r) }).then(() => {
        for (const [w, r] of done) w.resolve(r);
      }, (err: unknown) => {
        for (const [w] of done) w.reject(err);
      });
    }
  }

  return {
    // Not async: the queue's own promise is the answer (an async wrapper adds a promise and its turns a fact).
    record(request, context) {
      try {
        return enqueue(prepare(request, 0, context, false));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    async recordBatch(raw, context) {
      metrics.groupSize(raw.length);
      const items: Item[] = [];
      for (const [i, body] of raw.entries()) {
        try {
          items.push(prepare(parseFactRequest(body), i, context, true));
        } catch (err) {
          items.push({ index: i, error: err });
          break;
        }
      }
      return run(items, false);
    },
    ready: () => index.catchUp(),
    close: async () => undefined,
  };
}
