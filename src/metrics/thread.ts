/**
 * Metrics from worker threads reach the main thread's registry over the port the thread
 * already talks on: a worker's sink (`threadSink`) batches its calls and posts them as one
 * `{ kind: 'metrics', calls }` message at most every 250 ms (and when closing); the main
 * thread's side (`replayMetrics`, wired by startWorker) replays each call on its own sink.
 * The threads' own protocols ignore a message kind they do not know, so none of them changes.
 * A worker that dies loses at most its last 250 ms of samples.
 */
import type { MessagePort } from 'node:worker_threads';
import { SINK_METHODS, type MetricsSink } from './sink.js';

type Call = [method: (typeof SINK_METHODS)[number], arg: string | number];
export interface MetricsMessage {
  kind: 'metrics';
  calls: Call[];
}

const FLUSH_MS = 250;

export function isMetricsMessage(m: unknown): m is MetricsMessage {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'metrics' && Array.isArray((m as { calls?: unknown }).calls);
}

/** A worker thread's sink: every call goes to the main thread, batched. `flush()` before the port closes. */
export function threadSink(port: Pick<MessagePort, 'postMessage'>): MetricsSink & { flush(): void } {
  let calls: Call[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (calls.length === 0) return;
    const batch = calls;
    calls = [];
    port.postMessage({ kind: 'metrics', calls: batch } satisfies MetricsMessage);
  };
  const record = (method: Call[0]) => (arg: string | number): void => {
    calls.push([method, arg]);
    if (timer === null) {
      timer = setTimeout(flush, FLUSH_MS);
      // Samples never keep a thread alive.
      timer.unref();
    }
  };
  const sink = Object.fromEntries(SINK_METHODS.map((m) => [m, record(m)])) as unknown as MetricsSink;
  return { ...sink, flush };
}

/** Replays a worker's calls on the main thread's sink; unknown methods are ignored. */
export function replayMetrics(message: MetricsMessage, sink: MetricsSink): void {
  for (const [method, arg] of message.calls) {
    if ((SINK_METHODS as readonly string[]).includes(method)) (sink[method] as (a: string | number) => void)(arg);
  }
}
