/**
 * Read-side benchmark: `npm run bench:read` (BENCH_FACTS=1000000 by default).
 *
 *   1. Records BENCH_FACTS facts of every kind (appointments, departures, sessions with
 *      capacities, documents, chairmanships, memberships, corrections, retractions) into the
 *      embedded store, through the store port, in a temp dir: bench/history.ts, a record the
 *      deciders accept (each office a succession, not overlapping random terms).
 *   2. Rebuilds every read model from that log into a fresh file: events/s.
 *   3. Starts the real service (runtime + Fastify app) on that data dir and, from a separate
 *      client process with 32 keep-alive connections (bench/http-load.ts: plain sockets, like wrk), measures `GET /healthz` and
 *      `GET /v1/offices/{office}/holder?validAt=` (random office, random day) in the same run:
 *      requests/s, p50 and p99, and the holder/healthz ratio.
 * Targets: rebuild >= 100,000 events/s; holder >= 50% of the /healthz rate with p99 < 10 ms.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { monotonicFactory } from 'ulid';
import { ulidToUuid } from '../events/index.js';
import { rebuildReadModels } from '../projections/index.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime } from '../src/runtime.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { NewEvent } from '../src/store/port.js';
import { quantile, runLoad } from './http-load.js';
import { prng } from '../test/fixtures/history.js';
import { benchHistory } from './history.js';

const CONNECTIONS = 32;
const PHASE_MS = Number(process.env['BENCH_PHASE_MS'] ?? 10_000);
const WARMUP_MS = 2_000;
const SLICE_MS = 1_000;

// Random picks come from `prng` (mulberry32, shared with the tests' histories). The LCG used
// before, `(seed * 1103515245 + 12345) % 2^31` in doubles, overflowed 2^53 and fell into short
// cycles: most appointments landed on a few hundred of the 10,000 offices.

// ---------------------------------------------------------------- client process
interface Phase {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

async function runClient(port: number, offices: string[]): Promise<void> {
  const rnd = prng(12345);
  const pad = (n: number) => String(n).padStart(2, '0');
  const urls: Record<string, () => string> = {
    healthz: () => '/healthz',
    holder: () => `/v1/offices/${offices[Math.floor(rnd() * offices.length)]}/holder?validAt=${1990 + Math.floor(rnd() * 41)}-${pad(1 + Math.floor(rnd() * 12))}-${pad(1 + Math.floor(rnd() * 28))}`,
  };
  /**
   * Each endpoint for `ms` in all, in alternating slices of SLICE_MS: the machine's speed
   * drifts (a VM here), and interleaving puts the drift on both sides of the ratio.
   */
  const phases = async (names: string[], ms: number): Promise<Phase[]> => {
    const acc = names.map(() => ({ latencies: [] as number[], errors: 0, seconds: 0 }));
    for (let done = 0; done < ms; done += SLICE_MS) {
      for (const [i, name] of names.entries()) {
        const url = urls[name] as () => string;
        const r = await runLoad({ port, connections: CONNECTIONS, durationMs: Math.min(SLICE_MS, ms - done), next: () => ({ method: 'GET', path: url() }) });
        const a = acc[i] as (typeof acc)[number];
        for (const l of r.latencies) a.latencies.push(l);
        a.errors += r.errors;
        a.seconds += r.seconds;
      }
    }
    return names.map((name, i) => {
      const a = acc[i] as (typeof acc)[number];
      const sorted = Float64Array.from(a.latencies).sort();
      return { name, requests: sorted.length, errors: a.errors, rps: sorted.length / a.seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
    });
  };
  // Warm-up: every sampled office once (the current-succession cache fills as a running
  // service's would), then each phase briefly.
  let next = 0;
  await runLoad({ port, connections: CONNECTIONS, next: () => (next < offices.length ? { method: 'GET', path: `/v1/offices/${offices[next++]}/holder` } : null) });
  await phases(['healthz', 'holder'], WARMUP_MS);
  const results = await phases(['healthz', 'holder'], PHASE_MS);
  await new Promise((resolve) => process.send?.(results, resolve));
}

if (process.argv[2] === '--client') {
  const offices = JSON.parse(process.argv[4] as string) as string[];
  await runClient(Number(process.argv[3]), offices);
  process.exit(0);
}

// ---------------------------------------------------------------- server process

/** This machine's raw SQLite rate (one table, three indexes, 200,000 rows), to read the figures against. */
function sqliteBaseline(): number {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (a, b, c, d, e, f); CREATE INDEX t_a ON t(a); CREATE INDEX t_b ON t(b, c); CREATE INDEX t_d ON t(d)');
  const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((from: number) => {
    for (let i = from; i < from + 5000; i++) ins.run(String(i).padStart(26, '0'), `office-${(i * 7919) % 10000}`, '2024-01-01T00:00:00.000Z', `person-${(i * 104729) % 20000}`, '2001-01-01', '{"title":"x"}');
  });
  const t0 = performance.now();
  for (let n = 0; n < 200_000; n += 5000) tx(n);
  db.close();
  return 200_000 / ((performance.now() - t0) / 1000);
}
const N = Number(process.env['BENCH_FACTS'] ?? 1_000_000);
const OFFICES = Number(process.env['BENCH_OFFICES'] ?? 10_000);
const PEOPLE = Number(process.env['BENCH_PEOPLE'] ?? 20_000);

// BENCH_KEEP=<dir>: record into <dir> and keep it; a second run on it skips recording and
// rebuilding and measures the serving only (to iterate on the query path).
const keep = process.env['BENCH_KEEP'];
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'annals-bench-read-')));
const reuse = keep !== undefined && existsSync(join(keep, 'readmodels.db'));
if (keep !== undefined) mkdirSync(keep, { recursive: true });
const log = pino({ level: 'silent' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

try {
  // 1. Record.
  const store = openSqliteStore(join(dir, 'events.db'));
  const offices: string[] = [];
  let recorded = 0;
  let rebuilt: { eventsPerSecond: number } | null = null;
  if (reuse) {
    for (const e of await store.readAll({ types: ['OfficeEstablished'] })) offices.push((e.metadata as { factId: string }).factId);
    recorded = Number((await store.head()) ?? 0);
    console.log(`reusing ${dir}: ${fmt(recorded)} events, ${fmt(offices.length)} offices`);
  } else {
    const source = { title: 'Benchmark source', publisher: 'bench' };
    let batch: Promise<unknown>[] = [];
    const t0 = performance.now();
    // A record the deciders would accept (bench/history.ts), appended straight to the store.
    for (const f of benchHistory({ facts: N, offices: OFFICES, people: PEOPLE, seed: 42, newId: monotonicFactory() }, offices)) {
      const e: NewEvent = { id: ulidToUuid(f.factId), type: f.type, data: f.data, metadata: { factId: f.factId, recordedBy: 'recorder:bench', source, correlationId: `bench-${recorded}`, schemaVersion: 1 } };
      batch.push(store.append(f.stream, [e], 'any'));
      recorded += 1;
      if (batch.length >= 5000) {
        await Promise.all(batch);
        batch = [];
      }
    }
    await Promise.all(batch);
    const writeMs = performance.now() - t0;
    console.log(`recorded ${fmt(recorded)} facts in ${(writeMs / 1000).toFixed(1)} s (${fmt(recorded / (writeMs / 1000))}/s through the store port)`);

    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; raw SQLite baseline ${fmt(sqliteBaseline())} rows/s (1 table, 3 indexes, in memory)`);

    // 2. Rebuild.
    const result = await rebuildReadModels({
      store,
      path: join(dir, 'readmodels.db'),
      log,
      onProgress: (p) => process.stdout.write(`\rrebuild: ${fmt(p.applied)} events, ${fmt(p.eventsPerSecond)} events/s   `),
    });
    process.stdout.write('\n');
    console.log(`rebuild: ${fmt(result.events)} events in ${(result.elapsedMs / 1000).toFixed(2)} s = ${fmt(result.eventsPerSecond)} events/s`);
    rebuilt = result;
  }

  // 3. Serve and measure.
  // Every connection comes from one address, as many clients would not: no per-client limit.
  const config = loadConfig({ ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'silent', ANNALS_TOKENS: 'recorder:bench-recorder-token-0123', ANNALS_RATE_LIMIT_ANONYMOUS: '0' });
  const runtime = await openRuntime(config, { log, store });
  await runtime.readModels.caughtUp();
  // Let the process's other followers of the log (the audit tree) finish their catch-up
  // first, so the two measurements share a quiet process.
  const audit = (runtime as { audit?: { state(): Promise<{ treeSize: number }> } }).audit;
  const t1 = performance.now();
  while (audit && (await audit.state()).treeSize < recorded) await new Promise((r) => setTimeout(r, 250));
  if (audit) console.log(`audit tree caught up in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const app = await buildApp(runtime, { loggerInstance: log });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const sample = offices.filter((_, i) => i % 7 === 0);
  const child = fork(new URL(import.meta.url).pathname, ['--client', String(port), JSON.stringify(sample)], { execArgv: ['--import', 'tsx'] });
  const results = await new Promise<Phase[]>((resolve, reject) => {
    child.on('message', (m) => resolve(m as Phase[]));
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && reject(new Error(`client exited ${code}`)));
  });
  await app.close();
  await runtime.close();

  const [health, holder] = results as [Phase, Phase];
  console.log(`\n${CONNECTIONS} connections, ${PHASE_MS / 1000} s each in alternating slices of ${SLICE_MS / 1000} s:`);
  for (const p of results) console.log(`  ${p.name.padEnd(8)} ${fmt(p.rps).padStart(8)} req/s   p50 ${p.p50.toFixed(2)} ms   p99 ${p.p99.toFixed(2)} ms   (${fmt(p.requests)} requests, ${p.errors} errors)`);
  const ratio = holder.rps / health.rps;
  console.log(`  holder/healthz = ${(ratio * 100).toFixed(1)}%`);
  const ok = (b: boolean) => (b ? 'PASS' : 'FAIL');
  console.log(`\ntargets: rebuild >= 100,000 events/s: ${rebuilt ? ok(rebuilt.eventsPerSecond >= 100_000) : 'not run (reused)'}; holder >= 50% of healthz: ${ok(ratio >= 0.5)}; holder p99 < 10 ms: ${ok(holder.p99 < 10)}`);
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true });
}
