/**
 * The main thread's metrics, in Prometheus text format through prom-client: the sink the
 * parts below HTTP report to (sink.ts; worker threads' calls arrive through thread.ts), the
 * HTTP layer's own counters, and gauges read when scraped (lag, parked events). One registry
 * per runtime; the process metrics (`nodejs_*`, `process_*`: event-loop delay, heap, CPU,
 * handles) are registered once per process and served beside it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricsSink } from './sink.js';

/** Events a reader is behind the log, and how long the oldest of them has waited. */
export interface Lag {
  events: number;
  seconds: number;
}

/** What the gauges read at scrape time. Each may reject (a thread restarting): the gauge then keeps its last value. */
export interface Watched {
  readModelLag(): Promise<Lag>;
  auditLag(): Promise<Lag>;
  parkedEvents(): Promise<number> | number;
}

export interface Metrics extends MetricsSink {
  /** One HTTP answer: its route pattern (`unmatched` without a route), method and status. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A request answered 503 without being served (`event-loop-delay`, `event-loop-utilization`, `read-budget`, `closing`). */
  shed(reason: string): void;
  /** A request answered 429 by a per-client limit (`anonymous`, `failed-auth`). */
  rateLimited(limiter: string): void;
  /** Wires the gauges read at scrape time. */
  watch(watched: Watched): void;
  /** The exposition text. */
  text(): Promise<string>;
  readonly contentType: string;
}

let processRegistry: Registry | null = null;
/** Process-wide metrics, once per process (each registration would enable its own event-loop monitor). */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

const LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const http = new Histogram({ name: 'annals_http_request_duration_seconds', help: 'HTTP answers by route pattern, method and status, from the request to the last byte handed to the socket', labelNames: ['method', 'route', 'status'], buckets: LATENCY, registers });
  const facts = new Counter({ name: 'annals_facts_recorded_total', help: 'Facts newly recorded, by type (retries of a recorded factId not counted)', labelNames: ['type'], registers });
  const append = new Histogram({ name: 'annals_store_append_duration_seconds', help: "The recorder's append of one unit of waves, call to answer (queueing for the writer included)", buckets: LATENCY, registers });
  const commit = new Histogram({ name: 'annals_store_commit_duration_seconds', help: "The embedded store's transactions, BEGIN to COMMIT with its fsync (on the writer thread when it runs one)", buckets: LATENCY, registers });
  const group = new Histogram({ name: 'annals_record_group_size', help: 'Facts decided and appended together: a group of single facts, or a batch', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1000, 10000], registers });
  const restarts = new Counter({ name: 'annals_worker_restarts_total', help: 'Worker threads started again after exiting, by what they do', labelNames: ['worker'], registers });
  const shed = new Counter({ name: 'annals_http_shed_total', help: 'Requests answered 503 without being served, by reason', labelNames: ['reason'], registers });
  const limited = new Counter({ name: 'annals_http_rate_limited_total', help: 'Requests answered 429 by a per-client limit, by limit', labelNames: ['limiter'], registers });

  let watched: Watched | null = null;
  const lagGauges = (prefix: string, what: string, read: (w: Watched) => Promise<Lag>) => {
    let pending: Promise<Lag | null> | null = null;
    // One read serves both gauges of a scrape.
    const current = (): Promise<Lag | null> => {
      pending ??= (watched ? read(watched).catch(() => null) : Promise.resolve(null)).finally(() => {
        pending = null;
      });
      return pending;
    };
    new Gauge({ name: `${prefix}_lag_events`, help: `Events in the log the ${what} have not applied yet (counted up to 10,000)`, registers, async collect() {
      const lag = await current();
      if (lag) this.set(lag.events);
    } });
    new Gauge({ name: `${prefix}_lag_seconds`, help: `How long the oldest event the ${what} have not applied has been in the log (0 when caught up)`, registers, async collect() {
      const lag = await current();
      if (lag) this.set(lag.seconds);
    } });
  };
  lagGauges('annals_read_model', 'read models', (w) => w.readModelLag());
  lagGauges('annals_audit', 'audit tree', (w) => w.auditLag());
  new Gauge({ name: 'annals_read_model_parked_events', help: 'Events the read models could not apply and set aside (see /v1/admin/projections)', registers, async collect() {
    if (watched) this.set(await watched.parkedEvents());
  } });

  const proc = processMetrics();
  return {
    factRecorded: (type) => facts.inc({ type }),
    appendSeconds: (s) => append.observe(s),
    commitSeconds: (s) => commit.observe(s),
    groupSize: (n) => group.observe(n),
    workerRestarted: (worker) => restarts.inc({ worker }),
    httpRequest: (method, route, status, seconds) => http.observe({ method, route, status: String(status) }, seconds),
    shed: (reason) => shed.inc({ reason }),
    rateLimited: (limiter) => limited.inc({ limiter }),
    watch(w) {
      watched = w;
    },
    async text() {
      return `${await proc.metrics()}\n${await registry.metrics()}`;
    },
    contentType: registry.contentType,
  };
}
