/**
 * The first holder answers after a restart, A against B: `node --import tsx bench/cold-holder.ts`.
 * Each run starts one build's server (`node <root>/dist/src/server.js`, as npm start does) on
 * its own kept data dir, waits for /readyz 200 (polled every 10 ms), then asks the first
 * BENCH_ANSWERS (2,000) holder questions without knownAt (uniform offices and days, as
 * bench/read.ts) at BENCH_CONNECTIONS (32), and stops it. Runs alternate in BENCH_ORDER
 * (ABBA), BENCH_ROUNDS (2) times.
 *
 * Per run: the time from process start to listening and to /readyz; the CPU each thread spent
 * until /readyz (the start, warm-ups included) and over the answers (the event loop's, from
 * its schedstat, and all threads'), in µs an answer; the answers' p50 / p99 by quarter (in the
 * order answered); the load average. CPU an answer, not a rate, is what a loaded machine
 * disturbs least.
 *
 * Environment: BENCH_A_ROOT, BENCH_B_ROOT (worktrees, dist built), BENCH_A_DATA, BENCH_B_DATA
 * (data dirs: copies of the benchmark record, one per build; started once first if
 * `.cold-holder-started` is missing there), BENCH_A_ENV, BENCH_B_ENV (extra environment of
 * that build's server, `K=V` separated by spaces, e.g. GLIBC_TUNABLES=glibc.malloc.hugetlb=1),
 * BENCH_A_NODE_ARGS, BENCH_B_NODE_ARGS (node's flags for that server, e.g. --trace-opt), BENCH_MARKS=1 (a line `--- A ready` and `--- A answered` around the answers, e.g. to count
 * what `NODE_OPTIONS=--trace-opt` printed between them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { quantile, runLoad } from './http-load.js';
import { processCpu as cpuOf } from './process-cpu.js';

const ANSWERS = Number(process.env['BENCH_ANSWERS'] ?? 2_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const ORDER = process.env['BENCH_ORDER'] ?? 'ABBA';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const TOKEN = 'bench-auditor-token-0123456789';
const arm = (x: string) => ({
  root: process.env[`BENCH_${x}_ROOT`] as string,
  data: process.env[`BENCH_${x}_DATA`] as string,
  env: Object.fromEntries((process.env[`BENCH_${x}_ENV`] ?? '').split(' ').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
});
const arms = { A: arm('A'), B: arm('B') };

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });


async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

async function until(ok: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

function start(which: 'A' | 'B', port: number): ChildProcess {
  const a = arms[which];
  const env = { ...process.env, ...a.env, ANNALS_DATA_DIR: a.data, ANNALS_SEED: 'none', LOG_LEVEL: 'warn', ANNALS_TOKENS: `auditor:${TOKEN}`, PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0' };
  const flags = (process.env[`BENCH_${which}_NODE_ARGS`] ?? '').split(' ').filter((f) => f !== '');
  return spawn(process.execPath, [...flags, join(a.root, 'dist/src/server.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

const stop = (child: ChildProcess): Promise<void> => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')));

function offices(data: string): string[] {
  const db = new Database(join(data, 'readmodels.db'), { readonly: true });
  try {
    return db.prepare("SELECT DISTINCT id FROM entities WHERE kind = 'office'").pluck().all() as string[];
  } finally {
    db.close();
  }
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(which: 'A' | 'B', seed: number): Promise<string> {
  const a = arms[which];
  const port = await freePort();
  if (!existsSync(join(a.data, '.cold-holder-started'))) {
    const first = start(which, port);
    await until(async () => (await get(port, '/readyz')).status === 200, 600_000);
    await stop(first);
    writeFileSync(join(a.data, '.cold-holder-started'), '');
  }
  const ids = offices(a.data);
  const loadAtStart = loadavg()[0] as number;
  const t0 = performance.now();
  const server = start(which, port);
  const pid = server.pid as number;
  try {
    const listening = await until(async () => (await get(port, '/healthz')).status === 200, 120_000);
    const ready = listening + (await until(async () => (await get(port, '/readyz')).status === 200, 120_000));
    const atReady = cpuOf(pid);
    const faultsAtReady = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[7]);
    if (process.env['BENCH_MARKS'] === '1') console.log(`--- ${which} ready`);
    const warm = (JSON.parse((await get(port, '/readyz')).body || '{}') as { warmUp?: { questions: number; answered?: number; ms: number } }).warmUp;
    const rnd = prng(seed);
    const d0 = Date.parse('1990-01-01T00:00:00Z');
    const days = 41 * 365;
    const per = Math.ceil(ANSWERS / CONNECTIONS);
    const r = await runLoad({
      port,
      connections: CONNECTIONS,
      next: (_c, i) => (i >= per ? null : { method: 'GET', path: `/v1/offices/${ids[Math.floor(rnd() * ids.length)]}/holder?validAt=${new Date(d0 + Math.floor(rnd() * days) * 86_400_000).toISOString().slice(0, 10)}` }),
    });
    const after = cpuOf(pid);
    if (process.env['BENCH_MARKS'] === '1') console.log(`--- ${which} answered`);
    const faults = (): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[7]);
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const n = r.requests;
    const q = (from: number, to: number): string => {
      const s = Float64Array.from(r.inOrder.slice(from, to)).sort();
      return `${quantile(s, 0.5).toFixed(1)}/${quantile(s, 0.99).toFixed(1)}`;
    };
    const quarter = Math.floor(n / 4);
    const us = (ns: number): string => (ns / 1000 / n).toFixed(1);
    return `${which} load ${loadAtStart.toFixed(1)}-${(loadavg()[0] as number).toFixed(1)}: listening ${(listening / 1000).toFixed(2)} s, /readyz ${(ready / 1000).toFixed(2)} s (${((performance.now() - t0) / 1000).toFixed(1)} s run)${warm ? ` warm-up ${warm.questions} q (${warm.answered ?? "?"} × 200) ${warm.ms} ms` : ''}; start CPU loop ${(atReady.loop / 1e6).toFixed(0)} ms all ${(atReady.all / 1e6).toFixed(0)} ms; ${n} answers (${r.errors} ≥400) in ${r.seconds.toFixed(2)} s: loop ${us(after.loop - atReady.loop)} µs/answer, all ${us(after.all - atReady.all)}; p50/p99 ms by quarter ${q(0, quarter)} | ${q(quarter, 2 * quarter)} | ${q(2 * quarter, 3 * quarter)} | ${q(3 * quarter, n)}; RSS ${rss.toFixed(0)} MB; minor faults ${faultsAtReady} until /readyz, ${faults() - faultsAtReady} over the answers`;
  } finally {
    await stop(server);
  }
}

for (let round = 0; round < ROUNDS; round++) {
  // The same questions for A and B in a round.
  for (const which of ORDER) console.log(await run(which as 'A' | 'B', 1000 * round));
}
