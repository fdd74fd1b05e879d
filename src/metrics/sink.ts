/**
 * What the parts below HTTP report about their work, as a narrow interface: the recorder, the
 * store's writer and the worker-thread helper call these and import nothing else of metrics.
 * The main thread's implementation is prometheus.ts; a worker thread's (thread.ts) forwards
 * each call to the main thread. `NO_METRICS` is for the CLI and for callers that keep none.
 */
export interface MetricsSink {
  /** A fact newly recorded (a retry of a recorded factId is not counted again). */
  factRecorded(type: string): void;
  /** The recorder's append of one unit of waves, from the call to the store's answer. */
  appendSeconds(seconds: number): void;
  /** One store transaction, BEGIN to COMMIT (the COMMIT's fsync included). */
  commitSeconds(seconds: number): void;
  /** Facts decided and appended together: a group of single facts, or a batch. */
  groupSize(facts: number): void;
  /** A worker thread started again after its first start (it had exited). */
  workerRestarted(worker: string): void;
}

/** The method names of MetricsSink, for forwarding calls across a thread boundary. */
export const SINK_METHODS = ['factRecorded', 'appendSeconds', 'commitSeconds', 'groupSize', 'workerRestarted'] as const satisfies readonly (keyof MetricsSink)[];

const nothing = (): void => undefined;
export const NO_METRICS: MetricsSink = {
  factRecorded: nothing,
  appendSeconds: nothing,
  commitSeconds: nothing,
  groupSize: nothing,
  workerRestarted: nothing,
};

/** Seconds since `start` (a `performance.now()` reading). */
export const secondsSince = (start: number): number => (performance.now() - start) / 1000;
