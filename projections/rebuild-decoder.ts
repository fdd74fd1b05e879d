/**
 * A bulk build's log, read and decoded on the second core: starts rebuild-thread.ts on the
 * embedded store's file and hands the writer its batches in log order, at most `ahead`
 * batches decoded before the writer applied them (memory stays bounded when the writer is
 * the slower side, as it is).
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../src/store/worker-thread.js';
import type { LogEvent } from './db.js';
import type { Cell } from './types.js';

/**
 * The decoding thread's young generation: it makes short-lived objects of every event
 * (parsed JSON, evolve's rows), and a larger nursery collects them less often.
 */
const YOUNG_MB = 64;

export interface DecodeInit {
  /** The embedded store's SQLite file. */
  readonly path: string;
  /** Read from after this position (null: from the start). */
  readonly after: string | null;
  readonly pageSize: number;
  /** Events a batch handed to the writer holds at most (a page is cut into batches). */
  readonly batchSize: number;
  /** Only the events recorded at or before this moment (a replay's fold). */
  readonly knownAt?: string;
  /** Batches decoded ahead of the writer. */
  readonly ahead: number;
  /** The thread's young generation, MB (default 64; a replay's, whose memory is bounded: 8). */
  readonly youngMb?: number;
  /** Tables whose rows are dropped before a batch is posted (a replay's fold: read-out.ts READ_OUT_SKIPPED_TABLES); their cells are still checked. */
  readonly skipTables?: readonly string[];
}

/** A piece of a decoded batch, applied in order: runs of plain facts' rows between the events the writer applies itself. */
export type Segment =
  /** Plain facts (FACT_STRIDE cells each, bulk-rows.ts) and their rows: one flat cell array per BULK_TABLES entry, each row its fact's number then its columns. */
  | { readonly kind: 'rows'; readonly tables: Cell[][]; readonly facts: Cell[] }
  /** A correction or retraction, applied by the writer (it reads the `facts` table). */
  | { readonly kind: 'event'; readonly event: LogEvent }
  /** An event a projection cannot apply: parked, and `err` logged as the writer's thread logs the error of an event it parks (its class, message and stack: bulk-rows.ts cloneableError). */
  | { readonly kind: 'park'; readonly event: LogEvent; readonly factId: string | null; readonly error: string; readonly err: unknown };

export interface DecodedBatch {
  readonly kind: 'batch';
  /** Events applied by this batch (knownAt filtered), and the last of them. */
  readonly events: number;
  readonly last: { readonly position: string; readonly id: string; readonly recordedAt: string };
  /** The position of the event before `last` in this batch; null when `last` is its only event. */
  readonly previous: string | null;
  readonly segments: Segment[];
  /** The last position read (knownAt may have left later events out). */
  readonly after: string;
}

export type DecoderMessage = DecodedBatch | { readonly kind: 'skipped'; readonly after: string } | { readonly kind: 'end' } | { readonly kind: 'failed'; readonly message: string };

/** What the writer sends back: one more batch may be decoded. */
export interface DecoderCredit {
  readonly more: number;
}

/**
 * The decoded batches, in log order, until the log's end as the thread read it. Each batch
 * taken frees room for one more; `close()` stops the thread (at the end, or on a failure).
 * `signal` ends the iteration early, even while waiting for the thread's first batch (its
 * start takes up to seconds): the build sees it stopped and closes the thread.
 */
export function decodeInThread(init: DecodeInit, signal?: AbortSignal): AsyncIterable<DecodedBatch | { kind: 'skipped'; after: string }> & { close(): Promise<void> } {
  const worker: Worker = startWorker(new URL(`./rebuild-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: init.youngMb ?? YOUNG_MB } }, 'rebuild decoder');
  const queue: DecoderMessage[] = [];
  let waiting: (() => void) | null = null;
  let failure: Error | null = null;
  const wake = (): void => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  worker.on('message', (m: DecoderMessage) => {
    queue.push(m);
    wake();
  });
  worker.on('error', (err) => {
    failure = err;
    wake();
  });
  signal?.addEventListener('abort', wake, { once: true });
  worker.on('exit', (code) => {
    failure ??= code === 0 ? null : new Error(`the rebuild's decoding thread stopped (exit code ${code})`);
    queue.push({ kind: 'end' });
    wake();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length === 0 && failure === null && signal?.aborted !== true) await new Promise<void>((r) => (waiting = r));
        if (signal?.aborted) return;
        if (failure) throw failure;
        const m = queue.shift() as DecoderMessage;
        if (m.kind === 'end') return;
        if (m.kind === 'failed') throw new Error(`the rebuild could not read the log: ${m.message}`);
        yield m;
        if (m.kind === 'batch') worker.postMessage({ more: 1 } satisfies DecoderCredit);
      }
    },
    async close() {
      signal?.removeEventListener('abort', wake);
      await worker.terminate();
    },
  };
}
