/**
 * Read-side benchmark: `npm run bench:read` (BENCH_FACTS=1000000 by default). Measures what
 * users ask, as the server runs in production (`node dist/src/server.js`, every worker thread),
 * on a record the deciders would accept (bench/history.ts):
 *
 *   1. Records BENCH_FACTS facts into the embedded store of a data dir (progress shown), and
 *      builds the read models from them (progress shown). With BENCH_KEEP=<dir> the data dir
 *      is kept; run again, it is reused (the read models are rebuilt only if their layout
 *      changed), so a second run measures the serving only.
 *   2. Starts the server once (the audit tree catches up with the log, if it has to), stops
 *      it, and starts it again: the time from process start to /readyz is the restart's.
 *   3. From a client process (bench/read-client.ts: 32 keep-alive connections through the Node
 *      client, or wrk with BENCH_CLIENT=wrk),
 *      at once after the restart, with no warm-up: every question in short alternating slices
 *      (cold); then every question and /healthz in alternating 1 s slices (steady). Each
 *      question's answers/s, p50 and p99 (answers only: 503 shed and 429 limited are counted
 *      apart), and its ratio to /healthz in the same slices; then
 *      each at one connection (its time without a queue of 31 others in front of it).
 *   4. The server's RSS after the run.
 * No answer is cached by the service: every figure is its read path (temporal indexes and
 * keyset pages over SQLite). Load averages are printed with every phase: the machine may be
 * shared, and the ratios in alternating slices are what contention disturbs least.
 *
 * Environment: BENCH_FACTS, BENCH_OFFICES (10,000), BENCH_PEOPLE (20,000), BENCH_KEEP,
 * BENCH_PHASE_MS (steady time per question, 10,000), BENCH_COLD_MS (cold time per question,
 * 3,000), BENCH_MIXED_MS (every question at once, read-client.ts's MIX, 10,000; 0: none),
 * BENCH_SINGLE_MS (one connection, per question, 3,000), BENCH_CONNECTIONS (32), BENCH_CLIENT
 * (node, the default, or wrk: bench/read-client.ts), BENCH_ROOT (the
 * worktree whose dist/src/server.js is run; default this one), BENCH_COLD_QUESTIONS (the cold
 * phase's questions, comma-separated, e.g. `holder@now`; default all but /healthz). The server's
 * CPU over the cold phase is read from its threads' counters (/proc/<pid>/task): the event
 * loop's and all threads' µs an answer, the load the first answers after /readyz cost.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { rebuildReadModels } from '../projections/index.js';
import { SCHEMA_TAG } from '../projections/registry.js';
import { openBenchStore, recordBenchHistory } from './sealed-store.js';
import { drawPaths, MIX, QUESTIONS, type ClientJob, type ClientReport, type Figure } from './read-client.js';
import { useWrk } from './wrk-load.js';
import { processCpu as cpuOf } from './process-cpu.js';

const N = Number(process.env['BENCH_FACTS'] ?? 1_000_000);
const OFFICES = Number(process.env['BENCH_OFFICES'] ?? 10_000);
const PEOPLE = Number(process.env['BENCH_PEOPLE'] ?? 20_000);
const PHASE_MS = Number(process.env['BENCH_PHASE_MS'] ?? 10_000);
const COLD_MS = Number(process.env['BENCH_COLD_MS'] ?? 3_000);
const SINGLE_MS = Number(process.env['BENCH_SINGLE_MS'] ?? 3_000);
const MIXED_MS = Number(process.env['BENCH_MIXED_MS'] ?? 10_000);
const COLD_QUESTIONS = process.env['BENCH_COLD_QUESTIONS']?.split(',').filter((q) => q !== '');
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const TOKEN = 'bench-auditor-token-0123456789';
/** The worktree whose server is measured (BENCH_ROOT: another one, e.g. a before in an A/B; built there if its dist is older than its sources). */
const ROOT = process.env['BENCH_ROOT'] ?? new URL('..', import.meta.url).pathname;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const load = (l: number[] = loadavg()): string => l.map((x) => x.toFixed(1)).join(' ');
const say = (line: string): void => console.log(line);
const progress = (line: string): void => void process.stdout.write(`\r${line}    `);

// ---------------------------------------------------------------- 1. the record
const keep = process.env['BENCH_KEEP'];
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'annals-bench-read-')));
if (keep !== undefined) mkdirSync(keep, { recursive: true });
const eventsPath = join(dir, 'events.db');
const modelsPath = join(dir, 'readmodels.db');

function schemaOf(path: string): string | null {
  if (!existsSync(path)) return null;
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT v FROM meta WHERE k = 'schema'").pluck().get() as string | undefined) ?? null;
  } catch {
    return null;
  } finally {
    db.close();
  }
}

try {
  say(`annals read benchmark — ${cpus().length} CPUs, load average ${load()} (1, 5, 15 min)`);
  say(`data: ${dir}${keep ? ' (BENCH_KEEP: kept)' : ' (temporary)'}`);
  const store = openBenchStore(dir);
  let head = Number((await store.head()) ?? 0);
  if (head === 0) {
    say(`recording ${fmt(N)} facts (bench/history.ts: ${fmt(OFFICES)} offices, ${fmt(PEOPLE)} people) into ${eventsPath}`);
    let shown = 0;
    const { recorded, seconds } = await recordBenchHistory(store, { facts: N, offices: OFFICES, people: PEOPLE }, (n, s) => {
      if (s - shown < 2) return;
      shown = s;
      progress(`recording: ${fmt(n)} / ${fmt(N)} facts (${Math.round((n / N) * 100)}%), ${fmt(n / s)}/s, about ${Math.round((N - n) / (n / s))} s to go`);
    });
    progress(`recorded ${fmt(recorded)} facts in ${seconds.toFixed(1)} s (${fmt(recorded / seconds)}/s through the store port)\n`);
    head = Number((await store.head()) ?? 0);
  } else say(`reusing the log: ${fmt(head)} events`);

  if (schemaOf(modelsPath) !== SCHEMA_TAG) {
    say(existsSync(modelsPath) ? 'the read models were built by another layout: building them again' : 'building the read models');
    const r = await rebuildReadModels({ store, path: modelsPath, log: pino({ level: 'silent' }), onProgress: (p) => progress(`read models: ${fmt(p.applied)} / ${fmt(head)} events, ${fmt(p.eventsPerSecond)}/s (then indexes, terms, statistics)`) });
    progress(`read models: ${fmt(r.events)} events in ${(r.elapsedMs / 1000).toFixed(1)} s (${fmt(r.eventsPerSecond)}/s), load average ${load()}\n`);
  } else say('reusing the read models');
  const ev = new Database(eventsPath, { readonly: true });
  const [recordedFrom, recordedTo] = ev.prepare('SELECT min(recorded_at), max(recorded_at) FROM events').raw().get() as [string, string];
  ev.close();
  const rm2 = new Database(modelsPath, { readonly: true });
  const offices = rm2.prepare("SELECT DISTINCT id FROM entities WHERE kind = 'office'").pluck().all() as string[];
  const chaired = rm2.prepare('SELECT DISTINCT organization FROM chairmanships').pluck().all() as string[];
  rm2.close();
  await store.close();

  // ---------------------------------------------------------------- 2. the server
  const sources = ['src', 'projections', 'events'].flatMap((d) => execFileSync('find', [join(ROOT, d), '-name', '*.ts'], { encoding: 'utf8' }).trim().split('\n'));
  const built = join(ROOT, 'dist/src/server.js');
  if (!existsSync(built) || sources.some((f) => statSync(f).mtimeMs > statSync(built).mtimeMs)) {
    say('building the server (tsc -p tsconfig.build.json), as npm start does');
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  const freePort = (): Promise<number> =>
    new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  const port = await freePort();
  // Every connection comes from one address, as many clients would not: no per-client limit.
  const env = { ...process.env, ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'warn', ANNALS_TOKENS: `auditor:${TOKEN}`, PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0' };
  /** The server that exited (it could not start: its reason is on stderr above), so a wait for it stops at once. */
  let exited: string | null = null;
  const start = (): ChildProcess => {
    exited = null;
    const child = spawn(process.execPath, [built], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code, signal) => void (child.killed || (exited = `the server exited (${signal ?? `code ${code}`}); its reason is above`)));
    return child;
  };
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
      return { status: r.status, body: await r.text() };
    } catch {
      return { status: 0, body: '' };
    }
  };
  const until = async (ok: () => Promise<boolean>, what: string, timeoutMs: number): Promise<number> => {
    const t0 = performance.now();
    while (!(await ok())) {
      if (exited !== null) throw new Error(`${what} did not happen: ${exited}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - t0;
  };
  const stop = (child: ChildProcess): Promise<void> => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')));

  const base: ClientJob = { port, offices, chaired, organization: 'org', firstDay: '1990-01-01', lastDay: '2030-12-31', recordedFrom, recordedTo, connections: CONNECTIONS, coldMs: COLD_MS, coldSliceMs: 250, coldQuestions: COLD_QUESTIONS, phaseMs: PHASE_MS, sliceMs: 1000, singleMs: SINGLE_MS, mixedMs: MIXED_MS };
  // The load's paths, drawn before the restart for wrk (the cold phase begins at once after it).
  const job: ClientJob = useWrk() ? { ...base, paths: drawPaths(base, dir) } : base;

  say(`first start of the server on ${dir}`);
  let server = start();
  await until(async () => (await get('/readyz')).status === 200, 'the first start', 600_000);
  const treeSize = async (): Promise<number> => (JSON.parse((await get('/v1/audit/tree-head', { authorization: `Bearer ${TOKEN}` })).body || '{}') as { tree?: { treeSize?: number } }).tree?.treeSize ?? 0;
  if ((await treeSize()) < head) {
    say('the audit tree follows the log (first start on this record): waiting for it');
    await until(async () => {
      const size = await treeSize();
      progress(`audit tree: ${fmt(size)} / ${fmt(head)} events`);
      return size >= head;
    }, 'the audit catch-up', 3_600_000);
    process.stdout.write('\n');
  }
  await stop(server);
  const spawned = performance.now();
  server = start();
  const listening = await until(async () => (await get('/healthz')).status === 200, 'the restart', 120_000);
  const ready = listening + (await until(async () => (await get('/readyz')).status === 200, '/readyz', 120_000));
  say(`restart: listening ${(listening / 1000).toFixed(2)} s, /readyz 200 ${(ready / 1000).toFixed(2)} s after process start (${((performance.now() - spawned) / 1000).toFixed(2)} s with this probe's own wait)`);
  const warmed = (JSON.parse((await get('/readyz')).body || '{}') as { warmUp?: unknown }).warmUp;
  if (warmed !== undefined) say(`  the event loop's warm-up before /readyz: ${JSON.stringify(warmed)}`);

  // ---------------------------------------------------------------- 3. load
  const jobFile = join(dir, 'bench-read-job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  say(`load: ${CONNECTIONS} connections, ${job.paths ? `wrk -t1 (BENCH_CLIENT=wrk: bench/read-wrk.lua)` : 'the Node client (bench/http-load.ts; BENCH_CLIENT=wrk: wrk)'}; ${fmt(offices.length)} offices, ${chaired.length} chaired organizations, days ${job.firstDay}..${job.lastDay}, knownAt ${recordedFrom}..${recordedTo}`);
  const child = fork(new URL('./read-client.ts', import.meta.url).pathname, ['--client', jobFile], { execArgv: ['--import', 'tsx'] });

  const cpuAtStart = cpuOf(server.pid as number);
  let cpuCold: { loop: number; all: number } | null = null;
  const report = await new Promise<ClientReport>((resolve, reject) => {
    child.on('message', (m) => ((m as { kind?: string }).kind === 'cold-done' ? (cpuCold = cpuOf(server.pid as number)) : resolve(m as ClientReport)));
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && reject(new Error(`the client exited ${code}`)));
  });
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  await stop(server);

  // ---------------------------------------------------------------- 4. report
  const refused = (f: Figure): string => `${f.shed ? `  ${fmt(f.shed)} × 503 shed` : ''}${f.limited ? `  ${fmt(f.limited)} × 429` : ''}${f.errors ? `  ${f.errors} ERRORS` : ''}`;
  const row = (f: Figure, health?: Figure): string => `  ${f.name.padEnd(15)} ${fmt(f.rps).padStart(8)} req/s  p50 ${f.p50.toFixed(2).padStart(6)} ms  p99 ${f.p99.toFixed(2).padStart(7)} ms  max ${f.max.toFixed(1).padStart(7)} ms  ${fmt(f.bytes).padStart(7)} B/answer${health ? `  ${((f.rps / health.rps) * 100).toFixed(1).padStart(5)}% of /healthz` : ''}${refused(f)}`;
  say('\nquestions (each drawn at random per request):');
  for (const [name, what] of Object.entries(QUESTIONS)) say(`  ${name.padEnd(15)} ${what}`);
  say('req/s, latencies and bytes count answers only (2xx, 304, 404); refusals (503 shed, 429 limited) are counted apart and left out of them.');
  if (job.paths) say("latency: each request's, from its write to its answer read, timed by bench/read-wrk.lua (wrk's own percentiles add samples for coordinated omission; these do not, as the Node client's do not).");
  say(`\ncold: at once after the restart, no warm-up, ${COLD_MS / 1000} s per question in 0.25 s slices (load average ${load(report.load.cold)}):`);
  for (const f of report.cold) say(row(f));
  if (cpuCold !== null) {
    const answers = report.cold.reduce((n, f) => n + f.requests, 0);
    const tick = 1e-3;
    const c = cpuCold as { loop: number; all: number };
    say(`  the server's CPU over the cold phase (${fmt(answers)} answers${COLD_QUESTIONS ? ` of ${COLD_QUESTIONS.join(', ')}` : ''}): event loop ${fmt((c.loop - cpuAtStart.loop) * tick / 1000)} ms, ${((c.loop - cpuAtStart.loop) * tick / answers).toFixed(1)} µs an answer; all threads ${fmt((c.all - cpuAtStart.all) * tick / 1000)} ms, ${((c.all - cpuAtStart.all) * tick / answers).toFixed(1)} µs an answer${report.coldInFlight ? ` (and ${fmt(report.coldInFlight)} requests wrk left in flight at its slices' ends, answered to closed sockets, in the CPU but not among the answers)` : ''}`);
  }
  say('  the holder questions slice by slice (when the slice began after the cold phase began: answers, p50 / p99 / max ms):');
  for (const name of ['holder@past', 'holder@now']) say(`    ${name.padEnd(12)} ${report.coldSlices.filter((c) => c.name === name).map((c) => `${(c.atMs / 1000).toFixed(1)} s: ${c.answers}, ${c.p50.toFixed(1)}/${c.p99.toFixed(1)}/${c.max.toFixed(0)}`).join('; ')}`);
  const health = report.steady.find((f) => f.name === 'healthz') as Figure;
  say(`\nsteady: ${PHASE_MS / 1000} s per question in alternating 1 s slices (load average ${load(report.load.steady)} at the start, ${load(report.load.end)} at the end):`);
  for (const f of report.steady) say(row(f, f === health ? undefined : health));
  say(row(report.nowWithColdStart, health));
  if (report.mixed.length > 0) {
    const all = report.mixed.find((f) => f.name === 'all') as Figure;
    say(`\nmixed: every question at once for ${MIXED_MS / 1000} s, each request drawn at random (${Object.entries(MIX).map(([n, w]) => `${n} ${w}%`).join(', ')}; load average ${load(report.load.mixed)}); each question among the others, req/s its own share:`);
    for (const f of report.mixed) if (f !== all) say(row(f));
    say(row({ ...all, name: 'all' }, health));
  }
  say(`\none connection, one request at a time (how long a question takes, no queue): ${SINGLE_MS / 1000} s per question in 1 s slices (load average ${load(report.load.single)}):`);
  for (const f of report.single) say(row(f));
  const rss = kb('VmRSS');
  say(`\nserver after the run: RSS ${fmt(rss / 1024)} MB (anonymous ${fmt(kb('RssAnon') / 1024)} MB, file ${fmt(kb('RssFile') / 1024)} MB), peak ${fmt(kb('VmHWM') / 1024)} MB`);

  const fig = (name: string): Figure => report.steady.find((f) => f.name === name) as Figure;
  const pass = (b: boolean): string => (b ? 'PASS' : 'FAIL');
  const ratio = (f: Figure): number => f.rps / health.rps;
  const past = fig('holder@past');
  const now = report.nowWithColdStart;
  say('\ntargets (issue #12):');
  say(`  holder@past >= 50% of /healthz, p99 < 10 ms: ${pass(ratio(past) >= 0.5)} (${(ratio(past) * 100).toFixed(1)}%), ${pass(past.p99 < 10)} (${past.p99.toFixed(2)} ms)`);
  say(`  holder@now, cold start included, the same: ${pass(ratio(now) >= 0.5)} (${(ratio(now) * 100).toFixed(1)}%), ${pass(now.p99 < 10)} (${now.p99.toFixed(2)} ms)`);
  const one = (name: string): Figure => report.single.find((f) => f.name === name) as Figure;
  for (const name of ['chair@past', 'documents@past', 'sessions@past']) say(`  ${name} p99 < 20 ms: at 32 connections ${pass(fig(name).p99 < 20)} (${fig(name).p99.toFixed(2)} ms); one at a time ${pass(one(name).p99 < 20)} (${one(name).p99.toFixed(2)} ms)`);
  say(`  RSS <= 512 MB after the run: ${pass(rss <= 512 * 1024)} (${fmt(rss / 1024)} MB)`);
  say(`  /readyz <= 2 s after a restart: ${pass(ready <= 2000)} (${(ready / 1000).toFixed(2)} s)`);
  say(`\nload average at the end ${load()}`);
} finally {
  if (keep === undefined) await rm(dir, { recursive: true, force: true });
}
