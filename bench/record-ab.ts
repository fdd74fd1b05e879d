/**
 * A single fact's CPU in two built servers, in alternating slices: `node --import tsx
 * bench/record-ab.ts <code A> <code B>` (each a checkout with `dist/` built). Starts each
 * checkout's `dist/src/server.js` (as `npm start` does) on a fresh data dir of its own, records
 * bench:record's setup (an organization, 32 sessions) on each, then drives POST /v1/facts from
 * 32 keep-alive clients (bench:record's mix: a PersonRegistered with a key, then a
 * DelegateAttended naming that person at the client's session) at one server, then the other,
 * BENCH_SLICE facts at a time (default 3,000), BENCH_ROUNDS rounds (default 8; A first in every
 * other round), after BENCH_WARM facts each (default 4,000, unmeasured: the JIT's warm-up).
 * Between slices, each server's threads' CPU from `/proc/<pid>/task/<tid>/schedstat`, as
 * bench/server-cpu.ts reads it: the event loop (tid = pid) and all threads, µs a fact. Both
 * servers live through the same minutes of the machine, so a change of a few percent shows in
 * the slices' medians where separate `bench:record` runs (±25% from run to run at load 5–10)
 * hide it. The clients run in this process (not the servers').
 *
 * Environment: BENCH_PORT (18400; B on the next), BENCH_SLICE, BENCH_ROUNDS, BENCH_WARM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { quantile, runLoad, type LoadAnswer, type LoadRequest } from './http-load.js';
import { factFor, groupsIn, SOURCE } from './record-mix.js';

const SLICE = Number(process.env['BENCH_SLICE'] ?? 3_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const WARM = Number(process.env['BENCH_WARM'] ?? 4_000);
const CLIENTS = 32;
const TOKEN = 'bench-recorder-token-0123456789';
const ADMIN = 'bench-admin-token-0123456789';
const HEADERS = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

const [codeA, codeB] = process.argv.slice(2).map((p) => resolve(p));
if (!codeA || !codeB) throw new Error('usage: bench/record-ab.ts <code A> <code B>');

interface Version {
  name: string;
  code: string;
  dir: string;
  port: number;
  child: ChildProcess;
  /** Facts sent so far (their keys must be new). */
  sent: number;
  main: number[];
  all: number[];
  /** Groups and facts in them over the measured slices (annals_record_group_size). */
  groups: number;
  facts: number;
  /** Each measured slice's facts/s, p50 and p99 latency (ms): what a linger costs. */
  rates: number[];
  p50: number[];
  p99: number[];
}

/** Groups the server's recorder committed so far, and the facts in them (GET /metrics). */
async function groupCounts(v: { port: number }): Promise<{ groups: number; facts: number }> {
  return groupsIn(await (await fetch(`http://127.0.0.1:${v.port}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text());
}


/** CPU of every thread of `pid` so far, µs (schedstat's first field): the main thread's and the sum. */
function cpu(pid: number): { main: number; all: number } {
  let main = 0;
  let all = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      all += ns / 1000;
      if (Number(t) === pid) main = ns / 1000;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { main, all };
}

/** BENCH_ENV_A, BENCH_ENV_B (`NAME=value,…`): environment for that version's server alone (one code, two settings). */
function envOf(name: string): Record<string, string> {
  const spec = process.env[`BENCH_ENV_${name}`];
  return spec ? Object.fromEntries(spec.split(',').map((kv) => kv.split('=') as [string, string])) : {};
}

async function start(name: string, code: string, port: number): Promise<Version> {
  const dir = mkdtempSync(join(tmpdir(), `annals-record-ab-${name}-`));
  const child = spawn(process.execPath, [join(code, 'dist/src/server.js')], {
    env: { ...process.env, ...envOf(name), ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', ANNALS_TOKENS: `recorder:${TOKEN},admin:${ADMIN}`, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ANNALS_READ_WAIT_MS: '10000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name}: the server exited (${child.exitCode})`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const setup = [
    { type: 'OrganizationRegistered', data: { key: 'bench-org', name: 'Bench' }, source: SOURCE },
    ...Array.from({ length: CLIENTS }, (_, c) => ({ type: 'SessionHeld', data: { key: `bench-session-${c}`, body: 'bench-org', held: { from: '2025-11-27' } }, source: SOURCE })),
  ];
  const res = await fetch(`http://127.0.0.1:${port}/v1/facts/batch`, { method: 'POST', headers: HEADERS, body: JSON.stringify(setup) });
  const answer = (await res.json()) as { recorded?: number };
  if (answer.recorded !== setup.length) throw new Error(`${name}: setup ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
  return { name, code, dir, port, child, sent: 0, main: [], all: [], groups: 0, facts: 0, rates: [], p50: [], p99: [] };
}

/** `n` facts through POST /v1/facts from 32 clients; with `measure`, the server's CPU a fact kept. */
async function drive(v: Version, n: number, measure: boolean): Promise<void> {
  const perClient = Math.ceil(n / CLIENTS);
  const prefix = `s${v.sent}`;
  const pid = v.child.pid as number;
  const g0 = await groupCounts(v);
  const c0 = cpu(pid);
  const r = await runLoad({
    port: v.port,
    connections: CLIENTS,
    next: (c: number, i: number): LoadRequest | null => (i < perClient ? { method: 'POST', path: '/v1/facts', headers: HEADERS, body: JSON.stringify(factFor(prefix, c, i)) } : null),
    check: (a: LoadAnswer) => {
      if (a.status !== 201) throw new Error(`${v.name}: answered ${a.status}: ${a.body.toString().slice(0, 300)}`);
    },
  });
  const c1 = cpu(pid);
  const g1 = await groupCounts(v);
  v.sent += perClient * CLIENTS;
  if (!measure) return;
  v.rates.push(r.rps);
  v.p50.push(quantile(r.latencies, 0.5));
  v.p99.push(quantile(r.latencies, 0.99));
  v.groups += g1.groups - g0.groups;
  v.facts += g1.facts - g0.facts;
  v.main.push((c1.main - c0.main) / (perClient * CLIENTS));
  v.all.push((c1.all - c0.all) / (perClient * CLIENTS));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const port = Number(process.env['BENCH_PORT'] ?? 18_400);
const versions: Version[] = [];
try {
  versions.push(await start('A', codeA, port), await start('B', codeB, port + 1));
  const [a, b] = versions as [Version, Version];
  console.log(`record-ab: A ${a.code}, B ${b.code}; slices of ${SLICE} single facts at ${CLIENTS} clients, ${ROUNDS} rounds after ${WARM} each; load ${load()}`);
  for (const v of versions) await drive(v, WARM, false);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [a, b] : [b, a];
    for (const v of order) await drive(v, SLICE, true);
    console.log(`round ${r + 1} (${order.map((v) => v.name).join(' ')}), load ${load()}: A ${a.all.at(-1)?.toFixed(0)} (event loop ${a.main.at(-1)?.toFixed(0)}), B ${b.all.at(-1)?.toFixed(0)} (event loop ${b.main.at(-1)?.toFixed(0)}) µs of CPU a fact`);
  }
  const lower = (k: 'all' | 'main'): number => b[k].filter((x, i) => x < (a[k][i] as number)).length;
  console.log(`medians, µs of CPU a fact: all threads A ${median(a.all).toFixed(1)}, B ${median(b.all).toFixed(1)} (B lower in ${lower('all')} of ${ROUNDS} rounds); event loop A ${median(a.main).toFixed(1)}, B ${median(b.main).toFixed(1)} (B lower in ${lower('main')} of ${ROUNDS}); facts a group A ${(a.facts / a.groups).toFixed(1)}, B ${(b.facts / b.groups).toFixed(1)}; facts/s A ${median(a.rates).toFixed(0)}, B ${median(b.rates).toFixed(0)}; latency ms p50 A ${median(a.p50).toFixed(1)}, B ${median(b.p50).toFixed(1)}, p99 A ${median(a.p99).toFixed(1)}, B ${median(b.p99).toFixed(1)}; load ${load()}`);
} finally {
  for (const v of versions) {
    v.child.kill('SIGTERM');
    await new Promise((r) => (v.child.exitCode !== null ? r(null) : v.child.once('exit', r)));
    rmSync(v.dir, { recursive: true, force: true });
  }
}
