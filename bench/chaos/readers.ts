/**
 * Chaos scenario: heavy readers and a flood of bad tokens against the real server (issue #17).
 *
 *   1. Records BENCH_FACTS facts (default 100,000; bench/history.ts, a record the deciders
 *      accept) into a temp data dir through the store port, and starts src/server.ts on it as
 *      `npm start` runs it (its own process, worker threads, the default limits and shedding).
 *   2. Prints what each heavy read costs alone (ms, bytes).
 *   3. Phases of CHAOS_PHASE_MS (default 10 s), each with a /healthz prober (one connection,
 *      a request every 5 ms) and a recorder (one connection, a fact every 50 ms) running in
 *      this process while a client process of its own (bench/http-load.ts) loads the server:
 *        quiet     nothing else;
 *        many      200 heavy readers from 200 loopback addresses (127.0.1.x): 200 clients,
 *                  so the per-client limit does not apply: what protects is load shedding;
 *        one       200 heavy readers from one address: the per-client limit too;
 *        tokens    32 connections sending POST /v1/facts with wrong tokens, as fast as answered.
 *   Targets: while heavy readers run, /healthz p99 < 50 ms and every recorded fact answered
 *   within 1 s; the bad-token flood met with 429.
 *
 * `npm run chaos` runs it with the other scenarios; alone: `node --import tsx bench/chaos/readers.ts`.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monotonicFactory } from 'ulid';
import { ulidToUuid } from '../../events/index.js';
import { openBenchStore } from '../sealed-store.js';
import type { Scenario } from './harness.js';
import type { NewEvent } from '../../src/store/port.js';
import { benchHistory } from '../history.js';
import { quantile, runLoad, type LoadRequest } from '../http-load.js';

const FACTS = Number(process.env['BENCH_FACTS'] ?? 100_000);
const PHASE_MS = Number(process.env['CHAOS_PHASE_MS'] ?? 10_000);
const READERS = 200;
export const TOKENS = { recorder: 'chaos-recorder-token-0123456789', admin: 'chaos-admin-token-0123456789ab' };
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n.toFixed(1)} ms`;

/**
 * The heavy reads: the largest pages of the lists, one body's Popolo. CHAOS_MIX=bounded
 * leaves out the pages whose cost grows with the whole list (measured: the sessions,
 * timeline and documents of an organization are computed whole and then paged, 0.3-3 s each
 * at 30,000 facts), to see what shedding does when every read is bounded.
 */
export const UNBOUNDED = ['/v1/timeline?organization=org&limit=500', '/v1/sessions?organization=org&limit=500', '/v1/documents?organization=org&limit=500'];
export const HEAVY = ['/v1/people?limit=500', '/v1/offices?limit=500', '/v1/popolo?organization=committee-7', ...(process.env['CHAOS_MIX'] === 'bounded' ? [] : UNBOUNDED)];

// ---------------------------------------------------------------- the load client (a process of its own)
if (process.argv[2] === '--client') {
  const [, , , port, mode] = process.argv;
  const statuses: Record<number, number> = {};
  const count = (s: Record<number, number>) => {
    for (const [k, v] of Object.entries(s)) statuses[Number(k)] = (statuses[Number(k)] ?? 0) + v;
  };
  if (mode === 'tokens') {
    const r = await runLoad({
      port: Number(port),
      connections: 32,
      durationMs: PHASE_MS,
      next: (conn, i) => ({ method: 'POST', path: '/v1/facts', body: '{}', headers: { authorization: `Bearer guess-${conn}-${i}-0123456789abcdef`, 'content-type': 'application/json' } }),
    });
    count(r.statuses);
  } else {
    const r = await runLoad({
      port: Number(port),
      connections: READERS,
      durationMs: PHASE_MS,
      ...(mode === 'many' ? { localAddress: (conn: number) => `127.0.1.${conn + 1}` } : {}),
      next: (conn, i): LoadRequest => ({ method: 'GET', path: HEAVY[(conn + i) % HEAVY.length] as string }),
    });
    count(r.statuses);
  }
  process.send?.(statuses);
  process.exit(0);
}

// ---------------------------------------------------------------- this process: server, prober, recorder
interface Sampled {
  latencies: Float64Array;
  statuses: Record<number, number>;
}

/** One keep-alive connection, one request at a time, `gapMs` between them, until `stop()`. */
function sequential(port: number, request: (i: number) => string, gapMs: number): { stop(): Promise<Sampled> } {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let running = true;
  const done = (async () => {
    let socket: Socket | null = null;
    for (let i = 0; running; i++) {
      socket ??= await new Promise<Socket>((resolve) => {
        const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
      });
      const s: Socket = socket;
      const t0 = performance.now();
      const status = await new Promise<number>((resolve) => {
        let got = '';
        const finish = (status: number): void => {
          s.off('data', onData);
          s.off('close', onClose);
          resolve(status);
        };
        const onData = (d: Buffer): void => {
          got += d.toString('latin1');
          const end = got.indexOf('\r\n\r\n');
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(got);
          if (end >= 0 && length && got.length >= end + 4 + Number(length[1])) finish(Number(got.slice(9, 12)));
        };
        const onClose = (): void => finish(0);
        s.on('data', onData);
        s.on('close', onClose);
        s.write(request(i));
      });
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 0) socket = null;
      await new Promise((r) => setTimeout(r, gapMs));
    }
    socket?.destroy();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { latencies: Float64Array.from(latencies).sort(), statuses };
    },
  };
}

/** A port free now (the server logs at warn, so it does not say which port it took). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The server as `npm start` runs it, but from source; at LOG_LEVEL=warn (a line per request would cost more than the requests). */
export async function startServer(dir: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  // NODE_ARGS: options for node itself (e.g. --cpu-prof, which NODE_OPTIONS refuses).
  // SERVER: another checkout's src/server.ts (a before/after in one run, readers-ab.ts).
  const { NODE_ARGS: nodeArgs, SERVER: server, ...serverEnv } = env;
  const child = spawn(process.execPath, [...(nodeArgs?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', server ?? fileURLToPath(new URL('../../src/server.ts', import.meta.url))], {
    env: { ...process.env, ANNALS_DATA_DIR: dir, HOST: '127.0.0.1', PORT: String(port), ANNALS_SEED: 'none', ANNALS_TOKENS: `recorder:${TOKENS.recorder},admin:${TOKENS.admin}`, LOG_LEVEL: 'warn', ...serverEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited: unknown = null;
  child.once('exit', (code) => (exited = code));
  for (let i = 0; ; i++) {
    if (exited !== null) throw new Error(`the server exited (${String(exited)})`);
    if (i > 1200) throw new Error('the server did not listen within 10 minutes');
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Ready (read models caught up) and the audit tree caught up too: a quiet server. */
export async function caughtUp(port: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKENS.admin}` } }).then((r) => r.text());
    if (ready && /^annals_audit_lag_events 0$/m.test(metrics)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the server did not catch up within 10 minutes');
}

/** `K=V,K=V` (a value may hold `=`, not `,`) as an environment for startServer. */
export const envSpec = (spec: string | undefined): Record<string, string> => Object.fromEntries((spec ?? '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const body = await res.arrayBuffer();
  return { status: res.status, bytes: body.byteLength, ms: performance.now() - t0 };
}

/** The server's own CPU (all threads) from /proc, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

export async function phase(port: number, name: string, mode: string | null): Promise<{ name: string; health: Sampled; recorder: Sampled; load: Record<number, number> }> {
  const health = sequential(port, () => 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 5);
  const recorder = sequential(
    port,
    (i) => {
      const body = JSON.stringify({ type: 'PersonRegistered', data: { name: `Chaos ${name} ${i}` }, source: { title: 'chaos: readers' } });
      return `POST /v1/facts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.recorder}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    },
    50,
  );
  let load: Record<number, number> = {};
  if (mode === null) await new Promise((r) => setTimeout(r, PHASE_MS));
  else {
    const client = fork(fileURLToPath(import.meta.url), ['--client', String(port), mode], { execArgv: ['--import', 'tsx'] });
    load = await new Promise((resolve, reject) => {
      client.on('message', (m) => resolve(m as Record<number, number>));
      client.on('exit', (code) => code !== 0 && reject(new Error(`load client exited ${code}`)));
    });
  }
  return { name, health: await health.stop(), recorder: await recorder.stop(), load };
}

/** As a scenario of the campaign (index.ts): the whole run only, never the tests' short one (it needs a large record and minutes). */
export const readers: Scenario = {
  name: 'readers',
  summary: 'heavy readers and a flood of bad tokens: /healthz p99 < 50 ms, facts within 1 s, 429 for bad tokens',
  async run(ctx) {
    if (ctx.short) return { checks: [], skipped: 'needs a 100,000-fact record and minutes: npm run chaos readers' };
    const ok = await run();
    return { checks: [{ name: 'its targets held (the figures above)', ok }] };
  },
};

/** BENCH_FACTS facts (bench/history.ts) into `dir` through the store port. */
export async function record(dir: string): Promise<void> {
  const store = openBenchStore(dir, { writer: 'inline' });
  const source = { title: 'Benchmark source', publisher: 'bench' };
  let batch: Promise<unknown>[] = [];
  let n = 0;
  for (const f of benchHistory({ facts: FACTS, offices: 2_000, people: 5_000, chaired: 100, seed: 42, newId: monotonicFactory() })) {
    const e: NewEvent = { id: ulidToUuid(f.factId), type: f.type, data: f.data, metadata: { factId: f.factId, recordedBy: 'recorder:bench', source, correlationId: `chaos-${n++}`, schemaVersion: 1 } };
    batch.push(store.append(f.stream, [e], 'any'));
    if (batch.length >= 5000) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  await store.close();
  console.log(`chaos/readers: ${fmt(n)} facts recorded`);
}

export async function run(): Promise<boolean> {
  // CHAOS_KEEP=<dir>: record there once and keep it; later runs start on it (with the facts earlier phases recorded).
  const keep = process.env['CHAOS_KEEP'];
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'annals-chaos-readers-')));
  let server: ChildProcess | null = null;
  try {
    // 1. The record.
    if (keep !== undefined) await mkdir(keep, { recursive: true, mode: 0o700 });
    if (keep !== undefined && existsSync(join(keep, 'events.db'))) console.log(`chaos/readers: reusing the record in ${keep} (CHAOS_KEEP)`);
    else await record(dir);
    console.log('chaos/readers: starting the server (read models and audit tree catch up first)');
    const started = await startServer(dir);
    server = started.child;
    const port = started.port;
    // Ready (read models caught up), and the audit tree caught up too: a quiet server.
    const admin = { authorization: `Bearer ${TOKENS.admin}` };
    for (let i = 0; ; i++) {
      if (i > 1200) throw new Error('the server did not catch up within 10 minutes');
      const ready = (await get(port, '/readyz')).status === 200;
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: admin }).then((r) => r.text());
      if (ready && /^annals_audit_lag_events 0$/m.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    // 2. What each heavy read costs alone (a 503, shed while the machine is busy, is retried).
    const alone = async (path: string): Promise<{ status: number; bytes: number; ms: number }> => {
      for (let i = 0; ; i++) {
        const r = await get(port, path);
        if (r.status !== 503 || i >= 20) return r;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    console.log('\nheavy reads alone (median of 5, from this process; the whole Popolo once):');
    for (const path of [...HEAVY, ...UNBOUNDED.filter((u) => !HEAVY.includes(u)), '/v1/popolo']) {
      const runs = [];
      for (let i = 0; i < (HEAVY.includes(path) ? 5 : 1); i++) runs.push(await alone(path));
      runs.sort((a, b) => a.ms - b.ms);
      const mid = runs[Math.floor(runs.length / 2)] as (typeof runs)[number];
      console.log(`  ${path.padEnd(44)} ${ms(mid.ms).padStart(10)}  ${fmt(mid.bytes).padStart(10)} bytes  (${mid.status})${HEAVY.includes(path) ? '' : '  not in the mix'}`);
    }

    // 3. The phases.
    const results = [];
    for (const [name, mode] of [['quiet', null], ['many', 'many'], ['one', 'one'], ['tokens', 'tokens']] as const) {
      const cpu0 = await cpuSeconds(server.pid as number);
      const t0 = performance.now();
      const r = await phase(port, name, mode);
      const cpu = (await cpuSeconds(server.pid as number)) - cpu0;
      results.push({ ...r, serverCpu: cpu / ((performance.now() - t0) / 1000) });
    }
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKENS.admin}` } }).then((r) => r.text());

    console.log(`\nmix: ${HEAVY.join(' ')}`);
    console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine included); phases of ${PHASE_MS / 1000} s`);
    console.log('phase    /healthz p50 / p99 / max           recorder p50 / p99 / max (n, statuses)          load statuses                        server CPU');
    for (const r of results) {
      const h = r.health.latencies;
      const w = r.recorder.latencies;
      const load = Object.entries(r.load).map(([s, c]) => `${s}: ${fmt(c)}`).join(', ') || '—';
      const rec = Object.entries(r.recorder.statuses).map(([s, c]) => `${s}×${c}`).join(' ');
      console.log(
        `${r.name.padEnd(8)} ${ms(quantile(h, 0.5)).padStart(9)} / ${ms(quantile(h, 0.99)).padStart(9)} / ${ms(h.at(-1) ?? 0).padStart(9)}   ${ms(quantile(w, 0.5)).padStart(9)} / ${ms(quantile(w, 0.99)).padStart(9)} / ${ms(w.at(-1) ?? 0).padStart(9)} (${w.length}, ${rec})   ${load.padEnd(36)} ${(r.serverCpu * 100).toFixed(0)}%`,
      );
    }
    console.log('\nfrom /metrics:');
    for (const line of metrics.split('\n')) if (/^annals_http_(shed|rate_limited)_total/.test(line)) console.log(`  ${line}`);

    const heavy = results.filter((r) => r.name === 'many' || r.name === 'one');
    const healthOk = heavy.every((r) => quantile(r.health.latencies, 0.99) < 50 && (r.health.statuses[200] ?? 0) === r.health.latencies.length);
    const recorderOk = heavy.every((r) => (r.recorder.latencies.at(-1) ?? Infinity) < 1000 && (r.recorder.statuses[201] ?? 0) === r.recorder.latencies.length);
    const tokens = results.find((r) => r.name === 'tokens');
    const floodOk = (tokens?.load[429] ?? 0) > 0 && (tokens?.load[429] ?? 0) > 10 * (tokens?.load[401] ?? 0);
    const pass = (b: boolean): string => (b ? 'PASS' : 'FAIL');
    console.log(`\ntargets: /healthz p99 < 50 ms under heavy readers: ${pass(healthOk)}; every fact recorded within 1 s: ${pass(recorderOk)}; bad tokens met with 429: ${pass(floodOk)}`);
    return healthOk && recorderOk && floodOk;
  } finally {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((r) => server?.once('exit', r));
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== '--client') {
  run().then((ok) => process.exit(ok ? 0 : 1), (e: unknown) => {
    console.error(e);
    process.exit(2);
  });
}
