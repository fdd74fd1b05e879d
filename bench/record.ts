/**
 * Recording throughput on this machine: `npm run bench:record`.
 *
 * The real service on a fresh data dir (embedded SQLite store, real read models: every answer
 * waits until they applied the fact), listening on a local port, driven over HTTP:
 *   1. POST /v1/facts from 32 concurrent keep-alive clients: alternately a PersonRegistered
 *      with a key (two appends: the key reservation, then the registration) and a
 *      DelegateAttended naming that person by key at the client's own session;
 *   2. POST /v1/facts/batch, batches of BENCH_BATCH_SIZE facts of the same mix, one client
 *      (facts/s counts the time from sending a batch to its answer).
 * The clients run in a process of their own (bench/http-load.ts: plain keep-alive sockets, like
 * wrk), so they do not take the server's event loop.
 * Targets (the issue): >= 5,000 facts/s through /v1/facts at 32 clients (the store's group
 * commit shares fsyncs between concurrent appends), >= 50,000 facts/s through the batch.
 * Progress goes to stderr, results to stdout.
 *
 * Environment: BENCH_SINGLE (default 40,000) facts through /v1/facts; BENCH_WARM (default 0)
 * facts through /v1/facts before those, unmeasured (the JIT's compilations, on V8's helper threads
 * as "other", are then mostly done: a long-running service's cost); BENCH_BATCH (default
 * 200,000) facts through the batch endpoint; BENCH_BATCH_SIZE (default 10,000).
 * BENCH_PROFILE=DIR: the main thread's CPU profile and allocation sample of the single-fact
 * phase and of the batch phase, each alone (DIR/single.cpuprofile, DIR/single.heapprofile,
 * DIR/batch.*: open them in Chrome's DevTools), taken in-process so neither startup nor the
 * worker threads are in them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/logging.js';
import { openRuntime } from '../src/runtime.js';
import { createRecorder } from '../src/record/index.js';
import { monotonicFactory } from 'ulid';
import { runLoad, type LoadAnswer, type LoadRequest } from './http-load.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { setHeapGrowth } from '../src/heap-growth.js';
import { perFact, threadCpu } from './thread-cpu.js';
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { factFor, groupsIn, SOURCE } from './record-mix.js';

const SINGLE = Number(process.env['BENCH_SINGLE'] ?? 40_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 200_000);
const BATCH_SIZE = Number(process.env['BENCH_BATCH_SIZE'] ?? 10_000);
/** Facts through /v1/facts before the single phase's measures start (default 0: they start with the clients' first facts). */
const WARM = Number(process.env['BENCH_WARM'] ?? 0);
const CLIENTS = 32;
const TOKEN = 'bench-recorder-token-0123456789';

const progress = (msg: string): void => void process.stderr.write(`${msg}\n`);

/**
 * Each worker thread's event-loop utilisation from now until the returned function is called
 * (its synchronous SQLite work and fsyncs count as busy): which thread bounds a phase.
 */
function threadsBusy(): () => string {
  const start = new Map<string, { worker: Worker; elu: EventLoopUtilization }>();
  for (const [worker, label] of runningWorkers()) start.set(label, { worker, elu: worker.performance.eventLoopUtilization() });
  return () => {
    const parts: string[] = [];
    for (const [label, { worker, elu }] of start) parts.push(`${label} ${(worker.performance.eventLoopUtilization(elu).utilization * 100).toFixed(0)}%`);
    return parts.length ? parts.join(', ') : 'none (everything inline)';
  };
}

/**
 * With BENCH_PROFILE: starts the main thread's CPU profiler (100 µs samples) and allocation
 * sampling; the returned function stops both and writes them as DIR/<name>.cpuprofile and
 * DIR/<name>.heapprofile. Without it, nothing.
 */
async function profile(name: string): Promise<() => Promise<void>> {
  const dir = process.env['BENCH_PROFILE'];
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('HeapProfiler.enable');
  // Every allocation sampled, not only what is still alive at the end: GC cost follows the allocation rate.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  await session.post('Profiler.start');
  return async () => {
    const { profile: cpu } = await session.post('Profiler.stop');
    const { profile: heap } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(cpu));
    await writeFile(join(dir, `${name}.heapprofile`), JSON.stringify(heap));
    progress(`profile of the main thread: ${join(dir, name)}.cpuprofile, .heapprofile`);
  };
}

/**
 * Messages the event loop hears from each worker thread from now until the returned function
 * is called, by label: each wakes the event loop, so fewer a group is less CPU a fact.
 */
function messagesHeard(): () => Map<string, number> {
  const counts = new Map<string, number>();
  const listeners: Array<() => void> = [];
  for (const [worker, label] of runningWorkers()) {
    const count = (): void => void counts.set(label, (counts.get(label) ?? 0) + 1);
    worker.on('message', count);
    listeners.push(() => worker.off('message', count));
  }
  return () => {
    for (const off of listeners) off();
    return counts;
  };
}

/** Groups the recorder decided and appended so far, and the facts in them (annals_record_group_size). */
async function groupCounts(metrics: { text(): Promise<string> }): Promise<{ groups: number; facts: number }> {
  return groupsIn(await metrics.text());
}


interface Job {
  port: number;
  kind: 'single' | 'batch';
  perClient?: number;
  /** Facts a client sends first, unmeasured: the client then says `warmed` and waits for `go`. */
  warmPerClient?: number;
  batches?: number;
  batchSize?: number;
}

interface Driven {
  seconds: number;
  /** ms, ascending. */
  latencies: number[];
  /** The client process's CPU (user + system, all its threads) during the measured run, µs. */
  cpuMicros: number;
}

const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/** The client process: runs one job with the plain-socket load generator and reports back. */
async function client(job: Job): Promise<Driven> {
  const mustBe = (status: number) => (a: LoadAnswer) => {
    if (a.status !== status) throw new Error(`answered ${a.status}: ${a.body.toString().slice(0, 500)}`);
  };
  if (job.kind === 'single') {
    const perClient = job.perClient ?? 0;
    const post = (prefix: string, count: number) => (c: number, i: number): LoadRequest | null =>
      i < count ? { method: 'POST', path: '/v1/facts', headers: HEADERS, body: JSON.stringify(factFor(prefix, c, i)) } : null;
    if (job.warmPerClient) {
      await runLoad({ port: job.port, connections: CLIENTS, next: post('unmeasured', job.warmPerClient), check: mustBe(201) });
      const go = new Promise((resolve) => process.once('message', resolve));
      process.send?.('warmed');
      await go;
    }
    await runLoad({ port: job.port, connections: CLIENTS, next: post('warm', 20), check: mustBe(201) });
    const cpu0 = process.cpuUsage();
    const r = await runLoad({ port: job.port, connections: CLIENTS, next: post('single', perClient), check: mustBe(201) });
    return { seconds: r.seconds, latencies: [...r.latencies], cpuMicros: cpuMicros(cpu0) };
  }
  const size = job.batchSize ?? 0;
  const cpu0 = process.cpuUsage();
  const r = await runLoad({
    port: job.port,
    connections: 1,
    next: (_c, b) => (b < (job.batches ?? 0) ? { method: 'POST', path: '/v1/facts/batch', headers: HEADERS, body: JSON.stringify(Array.from({ length: size }, (_, i) => factFor(`batch${b}`, (i >> 1) % CLIENTS, i))) } : null),
    check: (a) => {
      const answer = JSON.parse(a.body.toString()) as { recorded?: number; error?: unknown };
      if (a.status !== 200 || answer.recorded !== size) throw new Error(`batch: ${a.status} ${JSON.stringify(answer.error ?? answer).slice(0, 500)}`);
    },
  });
  // Facts/s counts from sending a batch to its answer (not the time spent building bodies here).
  return { seconds: r.latencies.reduce((a, b) => a + b, 0) / 1000, latencies: [...r.latencies], cpuMicros: cpuMicros(cpu0) };
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** The machine's cores, busy or idle (os.cpus() totals), from now until the returned function is called. */
function machineBusy(): () => number {
  const total = () => cpus().reduce((a, c) => ({ idle: a.idle + c.times.idle, all: a.all + c.times.idle + c.times.user + c.times.sys + c.times.nice + c.times.irq }), { idle: 0, all: 0 });
  const t0 = total();
  return () => {
    const t1 = total();
    return 1 - (t1.idle - t0.idle) / Math.max(1, t1.all - t0.all);
  };
}

/** Where the CPU of a phase went: the server process (all its threads), the client process, the machine. */
function cpuLine(label: string, facts: number, serverMicros: number, driven: Driven, busy: number): string {
  const each = (us: number) => `${Math.round(us / facts)} us a fact`;
  return `${label}: server process ${each(serverMicros)} (all threads, user + system, warm-up included), client ${each(driven.cpuMicros)}; machine ${(busy * 100).toFixed(0)}% busy (${availableParallelism()} cores)`;
}

if (process.argv[2] === '--client') {
  const job = JSON.parse(process.argv[3] as string) as Job;
  const driven = await client(job);
  process.send?.(driven, () => process.exit(0));
}

/**
 * Runs `job` in a client process of its own (see http-load.ts), so it does not share the server's thread.
 * With `warmed`: the client's unmeasured warm-up ends by calling it, and the job goes on once it resolves.
 */
function drive(job: Job, warmed?: () => Promise<void>): Promise<Driven> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--client', JSON.stringify(job)], { execArgv: ['--import', 'tsx'] });
    child.on('message', (m) => {
      if (m === 'warmed') void warmed?.().then(() => child.send('go'), reject);
      else resolve(m as Driven);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`client exited (${code}) without an answer`)));
  });
}

/** ANNALS_SQLITE_WRITER, ANNALS_AUDIT_FOLLOWER and ANNALS_READ_MODELS from the environment, to compare placements. */
function threadSettings(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['ANNALS_SQLITE_WRITER', 'ANNALS_AUDIT_FOLLOWER', 'ANNALS_READ_MODELS']) if (process.env[k]) out[k] = process.env[k] as string;
  return out;
}

async function main(): Promise<void> {
  // As the service sets it at its start (src/server.ts): V8's heap growth. BENCH_HEAP_GROWTH=v8 leaves V8's own choice, a number sets that percent.
  const growth = process.env['BENCH_HEAP_GROWTH'];
  const heap = growth === 'v8' ? null : setHeapGrowth(process.execArgv, growth ? Number(growth) : undefined);
  progress(`heap growth: ${heap ?? "V8's own"}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-bench-record-'));
  const config = loadConfig({ ANNALS_DATA_DIR: dataDir, ANNALS_SEED: 'none', ANNALS_TOKENS: `recorder:${TOKEN}`, LOG_LEVEL: 'warn', ANNALS_READ_WAIT_MS: '10000', ...threadSettings() });
  const log = createLogger({ level: 'warn' });
  const opened = await openRuntime(config, { log });
  // BENCH_NO_WAIT=1: answer without waiting for the read models (to see what they cost).
  const runtime = process.env['BENCH_NO_WAIT']
    ? { ...opened, recorder: createRecorder({ store: opened.store, readModels: { waitFor: async () => true }, newId: monotonicFactory(), log }) }
    : opened;
  const app = await buildApp(runtime, { loggerInstance: log });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown): Promise<any> => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
    return json;
  };
  try {
    progress(`annals bench:record — ${cpus()[0]?.model ?? 'cpu'} x${availableParallelism()}, data in ${dataDir}`);
    // Every thread started (the read worker's start and warm-up are not the phases' CPU): /readyz answers 200.
    while ((await fetch(`${base}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 20));
    const setup = [
      { type: 'OrganizationRegistered', data: { key: 'bench-org', name: 'Bench' }, source: SOURCE },
      ...Array.from({ length: CLIENTS }, (_, c) => ({ type: 'SessionHeld', data: { key: `bench-session-${c}`, body: 'bench-org', held: { from: '2025-11-27' } }, source: SOURCE })),
    ];
    const s = await post('/v1/facts/batch', setup);
    if (s.recorded !== setup.length) throw new Error(JSON.stringify(s.error));

    progress(`1. POST /v1/facts: ${SINGLE} facts from ${CLIENTS} concurrent clients (in a client process)`);
    const perClient = Math.ceil(SINGLE / CLIENTS);
    const port = (app.server.address() as { port: number }).port;
    // The measures start here, or with BENCH_WARM after that many facts went through unmeasured (JIT and caches warm).
    const start = async () => {
      if (WARM > 0) progress('   warmed: the measures start');
      const elu0 = performance.eventLoopUtilization();
      const threads0 = threadsBusy();
      const cpuSingle = process.cpuUsage();
      const threadsSingle = threadCpu();
      const machineSingle = machineBusy();
      const groups0 = await groupCounts(runtime.metrics);
      const heard = messagesHeard();
      const profiled = await profile('single');
      return { elu0, threads0, cpuSingle, threadsSingle, machineSingle, groups0, heard, profiled };
    };
    let started: Awaited<ReturnType<typeof start>> | undefined;
    const warmPerClient = Math.ceil(WARM / CLIENTS);
    if (WARM === 0) started = await start();
    else progress(`   first ${warmPerClient * CLIENTS} facts unmeasured (BENCH_WARM)`);
    const single = await drive({ port, kind: 'single', perClient, warmPerClient }, async () => void (started = await start()));
    if (!started) throw new Error('the client never said it was warmed');
    const { elu0, threads0, cpuSingle, threadsSingle, machineSingle, groups0, heard, profiled } = started;
    await profiled();
    const groups1 = await groupCounts(runtime.metrics);
    const singleHeard = heard();
    const singleElu = performance.eventLoopUtilization(elu0);
    const singleThreads = threads0();
    const singleCpu = cpuMicros(cpuSingle);
    const singleByThread = threadsSingle();
    const singleMachine = machineSingle();
    const singleSeconds = single.seconds;
    const singleRate = (perClient * CLIENTS) / singleSeconds;
    const latencies = single.latencies.sort((a, b) => a - b);
    const pct = (p: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(1);

    progress(`2. POST /v1/facts/batch: ${BATCH} facts in batches of ${BATCH_SIZE}`);
    const batches = Math.ceil(BATCH / BATCH_SIZE);
    const elu1 = performance.eventLoopUtilization();
    const threads1 = threadsBusy();
    const cpuBatch = process.cpuUsage();
    const threadsBatch = threadCpu();
    const machineBatch = machineBusy();
    const profiledBatch = await profile('batch');
    const batch = await drive({ port, kind: 'batch', batches, batchSize: BATCH_SIZE });
    await profiledBatch();
    const batchElu = performance.eventLoopUtilization(elu1);
    const batchThreads = threads1();
    const batchCpu = cpuMicros(cpuBatch);
    const batchByThread = threadsBatch();
    const batchMachine = machineBatch();
    const batchSeconds = batch.seconds;
    const batchRate = (batches * BATCH_SIZE) / batchSeconds;
    const batchTimes = batch.latencies;

    const events = (await runtime.store.head()) ?? '0';
    const lines = [
      `POST /v1/facts, ${CLIENTS} clients: ${(perClient * CLIENTS).toLocaleString('en')} facts in ${singleSeconds.toFixed(2)} s = ${Math.round(singleRate).toLocaleString('en')} facts/s (latency ms p50 ${pct(0.5)}, p99 ${pct(0.99)}, max ${pct(1)}) [target >= 5,000: ${singleRate >= 5000 ? 'met' : 'NOT met'}]`,
      `POST /v1/facts/batch, batches of ${BATCH_SIZE.toLocaleString('en')}: ${(batches * BATCH_SIZE).toLocaleString('en')} facts in ${batchSeconds.toFixed(2)} s = ${Math.round(batchRate).toLocaleString('en')} facts/s (per batch ms median ${batchTimes.sort((a, b) => a - b)[batchTimes.length >> 1]?.toFixed(0)}) [target >= 50,000: ${batchRate >= 50000 ? 'met' : 'NOT met'}]`,
      `server main thread busy (event-loop utilisation): single ${(singleElu.utilization * 100).toFixed(0)}%, ${((singleElu.active * 1000) / (perClient * CLIENTS)).toFixed(0)} us a fact (warm-up included); batch ${(batchElu.utilization * 100).toFixed(0)}%, ${((batchElu.active * 1000) / (batches * BATCH_SIZE)).toFixed(0)} us a fact`,
      `worker threads busy: single ${singleThreads}; batch ${batchThreads}`,
      `single facts: ${groups1.groups - groups0.groups} groups of ${((groups1.facts - groups0.facts) / Math.max(1, groups1.groups - groups0.groups)).toFixed(1)} facts on average (a group: one unit to the writer; retries alone included); messages to the event loop a group: ${[...singleHeard].map(([label, n]) => `${label} ${(n / Math.max(1, groups1.groups - groups0.groups)).toFixed(2)}`).join(', ')}`,
      cpuLine('CPU, single', perClient * CLIENTS, singleCpu, single, singleMachine),
      cpuLine('CPU, batch', batches * BATCH_SIZE, batchCpu, batch, batchMachine),
      `CPU by thread, single: ${perFact(singleByThread, perClient * CLIENTS)}`,
      `CPU by thread, batch: ${perFact(batchByThread, batches * BATCH_SIZE)}`,
      `log: ${Number(events).toLocaleString('en')} events (key reservations included), store ${runtime.store.name}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await app.close();
    await opened.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// A client process (--client, above) only drives its job: it never starts a server of its own.
if (process.argv[2] !== '--client') {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:record failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
