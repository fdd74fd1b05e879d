/**
 * The explorer's pages on the benchmark record: `npm run bench:pages` (BENCH_FACTS=1000000).
 *
 *   1. Records the read benchmark's history (bench/history.ts: every office a succession the
 *      deciders accept, ~45 terms each at 1,000,000 facts) into the embedded store and rebuilds
 *      the read models; with BENCH_KEEP=<dir>, into <dir>, and a second run reuses it.
 *   2. Opens the real service on it and asks for pages one at a time through the app
 *      (`inject`: the server's whole work for a page, routing to HTML, without a socket):
 *      office pages with their timelines, for offices chosen uniformly, each once (so no
 *      office's succession is cached yet), on a random day, as known now and as known at a
 *      random past moment; then the other kinds of page for comparison.
 *   3. Prints per page kind the time per page (p50, p99, max), the CPU time per page of this
 *      process, the page size, and the load average around the run.
 * Target (issue #13): an office page with its timeline, p99 < 50 ms.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { rebuildReadModels } from '../projections/index.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { openRuntime } from '../src/runtime.js';
import { openBenchStore, recordBenchHistory } from './sealed-store.js';
import { prng } from '../test/fixtures/history.js';

const N = Number(process.env['BENCH_FACTS'] ?? 1_000_000);
const OFFICES = Number(process.env['BENCH_OFFICES'] ?? 10_000);
const PEOPLE = Number(process.env['BENCH_PEOPLE'] ?? 20_000);
const SAMPLE = Number(process.env['BENCH_PAGES'] ?? 1_000);
const keep = process.env['BENCH_KEEP'];
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'annals-bench-pages-')));
if (keep !== undefined) mkdirSync(keep, { recursive: true });
const log = pino({ level: 'silent' });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const quantile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

try {
  const store = openBenchStore(dir);
  const offices: string[] = [];
  if (existsSync(join(dir, 'readmodels.db')) && (await store.head()) !== null) {
    for (const e of await store.readAll({ types: ['OfficeEstablished'] })) offices.push((e.metadata as { factId: string }).factId);
    console.log(`reusing ${dir}: ${fmt(Number(await store.head()))} events, ${fmt(offices.length)} offices`);
  } else {
    const { recorded, seconds } = await recordBenchHistory(store, { facts: N, offices: OFFICES, people: PEOPLE }, (n) => {
      if (n % 100_000 === 0) process.stdout.write(`\rrecorded ${fmt(n)} facts`);
    }, offices);
    console.log(`\rrecorded ${fmt(recorded)} facts in ${seconds.toFixed(1)} s`);
    const r = await rebuildReadModels({ store, path: join(dir, 'readmodels.db'), log, onProgress: (p) => process.stdout.write(`\rrebuild: ${fmt(p.applied)} events`) });
    console.log(`\rrebuild: ${fmt(r.events)} events in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  }

  // Every request comes from one address (inject), as many clients would not: no per-client limit.
  // Pages are asked one at a time to time each; load shedding (which judges the event loop's
  // recent delay) would refuse the page after a slow one: off, as it changes no page's work.
  const config = loadConfig({ ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'silent', ANNALS_TOKENS: 'recorder:bench-recorder-token-0123', ANNALS_RATE_LIMIT_ANONYMOUS: '0', ANNALS_SHED_EVENT_LOOP_DELAY_MS: '0', ANNALS_READ_TURN_BUDGET_MS: '0' });
  const runtime = await openRuntime(config, { log, store });
  await runtime.readModels.caughtUp();
  // The audit tree follows the log in this process too: let it finish its catch-up first, so
  // that the pages are measured in a quiet process (as bench/read.ts does).
  const t1 = performance.now();
  while ((await runtime.audit.state()).treeSize < Number(await store.head())) await new Promise((r) => setTimeout(r, 250));
  console.log(`audit tree caught up in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const app = await buildApp(runtime, { loggerInstance: log });

  // Past knownAt moments: from the last office's establishment (every office is known then) to the log's end.
  const establishments = await store.readAll({ types: ['OfficeEstablished'] });
  const first = establishments.at(-1)?.recordedAt as string;
  const last = (await store.readAll({ after: String(Number(await store.head()) - 1).padStart(20, '0'), limit: 1 }))[0]?.recordedAt as string;
  const rnd = prng(2024);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = () => `${1990 + Math.floor(rnd() * 41)}-${pad(1 + Math.floor(rnd() * 12))}-${pad(1 + Math.floor(rnd() * 28))}`;
  const pastMoment = () => new Date(Date.parse(first) + rnd() * (Date.parse(last) - Date.parse(first))).toISOString();
  // Offices chosen uniformly, without repeats.
  const shuffled = [...offices];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
  }
  const sample = shuffled.slice(0, SAMPLE);
  const people = runtime.readModels.queries.people('9999-12-31T00:00:00.000Z', undefined, { after: null, limit: 5000 }).items.map((p) => p.id);
  const sessions = (await store.readAll({ types: ['SessionHeld'], limit: 5000 })).map((e) => (e.metadata as { factId: string }).factId);

  const measure = async (name: string, urls: string[]) => {
    const times: number[] = [];
    const cpus: number[] = [];
    let bytes = 0;
    const cpu0 = process.cpuUsage();
    const load0 = load();
    for (const url of urls) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await app.inject({ url });
      const c = process.cpuUsage(c0);
      times.push(performance.now() - t0);
      cpus.push((c.user + c.system) / 1000);
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
      bytes += r.rawPayload.length;
    }
    const cpu = process.cpuUsage(cpu0);
    const sorted = times.sort((a, b) => a - b);
    // CPU time per page (this process, all its threads; the pages are asked one at a time):
    // what the machine's other load disturbs least. Wall time here includes waiting for a core.
    const cpuSorted = cpus.sort((a, b) => a - b);
    console.log(
      `  ${name.padEnd(38)} ${String(urls.length).padStart(4)} pages  wall p50 ${quantile(sorted, 0.5).toFixed(1).padStart(5)} p99 ${quantile(sorted, 0.99).toFixed(1).padStart(6)} ms  CPU p50 ${quantile(cpuSorted, 0.5).toFixed(1).padStart(5)} p99 ${quantile(cpuSorted, 0.99).toFixed(1).padStart(5)} mean ${((cpu.user + cpu.system) / 1000 / urls.length).toFixed(1).padStart(5)} ms  ${fmt(bytes / urls.length / 1024)} KiB  (load ${load0} → ${load()})`,
    );
    return { wall: quantile(sorted, 0.99), cpu: quantile(cpuSorted, 0.99) };
  };

  console.log(`\nmachine: ${cpus().length} CPUs, load average ${load()}; ${fmt(offices.length)} offices, ${SAMPLE} sampled uniformly, each once`);
  // A few pages first, so that JIT warm-up is not counted as the record's cost (other offices than the sample's).
  for (const o of shuffled.slice(SAMPLE, SAMPLE + 50)) await app.inject({ url: `/offices/${o}?validAt=${day()}` });
  const now = await measure('office page, knownAt now (uncached)', sample.slice(0, SAMPLE / 2).map((o) => `/offices/${o}?validAt=${day()}`));
  const past = await measure('office page, knownAt in the past', sample.slice(SAMPLE / 2).map((o) => `/offices/${o}?validAt=${day()}&knownAt=${pastMoment()}`));
  await measure('office page again (same offices)', sample.slice(0, 200).map((o) => `/offices/${o}?validAt=${day()}`));
  await measure('person page', Array.from({ length: 200 }, () => `/people/${pick(people)}`));
  await measure('session page', Array.from({ length: 200 }, () => `/sessions/${pick(sessions)}`));
  // Not measured: the organization's page. Its ~70,000 sessions and ~50,000 documents come
  // from the same queries as /v1/sessions and /v1/documents, which render every item before
  // paging (seconds a page); it will follow those queries when they page in SQL.
  await measure('search', Array.from({ length: 50 }, () => `/?q=person+${Math.floor(rnd() * 20_000)}`));
  await app.close();
  await runtime.close();
  const ok = (p: { wall: number; cpu: number }) => (p.wall < 50 ? 'PASS' : 'FAIL');
  console.log(`\ntarget: office page with its timeline, p99 < 50 ms: as known now ${ok(now)} (wall ${now.wall.toFixed(1)} ms, CPU ${now.cpu.toFixed(1)} ms), as known in the past ${ok(past)} (wall ${past.wall.toFixed(1)} ms, CPU ${past.cpu.toFixed(1)} ms); load average ${load()}`);
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true });
}
