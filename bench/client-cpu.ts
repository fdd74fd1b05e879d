/**
 * The load clients' own CPU an answer: `node --import tsx bench/client-cpu.ts <data dir>` (a
 * kept bench:read record, its bench-read-job.json beside it). Starts this worktree's built
 * server on it and drives each question (BENCH_QUESTIONS: healthz,holder@past,documents@past)
 * at 32 connections with the Node client (http-load.ts, drawing each path as read-client.ts
 * does) and with wrk (-t1, bench/read-wrk.lua over the same draws, pre-drawn), in the order
 * A B B A, BENCH_ROUNDS (2) times, BENCH_SLICE_S (5) s each. A client's CPU is utime + stime:
 * the Node client's over its run (process.cpuUsage, its start-up left out), wrk's over its
 * whole life (bash's `times`: its start-up and the script's reading of the paths included).
 * Also the server's CPU an answer (all its threads, /proc/<pid>/task/<tid>/schedstat), and the
 * req/s and p99 each client sees.
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantile, runLoad } from './http-load.js';
import { processCpu } from './process-cpu.js';
import { urls, type ClientJob } from './read-client.js';
import { parseWrk, wrkArgs, writePaths, type PathFile, type WrkFigure } from './wrk-load.js';

if (process.argv[2] === '--node') {
  // The Node client, as read-client.ts's phase() runs it: one slice of one question.
  const [, , , jobFile, name, port, ms] = process.argv;
  const next = urls(JSON.parse(readFileSync(jobFile as string, 'utf8')) as ClientJob)[name as string] as () => string;
  let bytes = 0;
  const c0 = process.cpuUsage();
  const r = await runLoad({ port: Number(port), connections: 32, durationMs: Number(ms), next: () => ({ method: 'GET', path: next() }), check: (a) => void (a.status < 400 && (bytes += a.body.length)) });
  const c1 = process.cpuUsage(c0);
  process.send?.({ answers: r.requests, cpuUs: c1.user + c1.system, seconds: r.seconds, p99: quantile(r.latencies, 0.99), errors: r.errors, bytes: bytes / r.requests });
  process.exit(0);
}

const dir = process.argv[2] as string;
const jobFile = join(dir, 'bench-read-job.json');
const job = JSON.parse(readFileSync(jobFile, 'utf8')) as ClientJob;
const QUESTIONS = (process.env['BENCH_QUESTIONS'] ?? 'healthz,holder@past,documents@past').split(',');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SLICE_S = Number(process.env['BENCH_SLICE_S'] ?? 5);
const port = Number(process.env['BENCH_PORT'] ?? 18_440);
const root = new URL('..', import.meta.url).pathname;
const server = spawn(process.execPath, [join(root, 'dist/src/server.js')], { env: { ...process.env, ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0' }, stdio: ['ignore', 'inherit', 'inherit'] });
const tmp = mkdtempSync(join(tmpdir(), 'client-cpu-'));
process.on('exit', () => (server.kill('SIGTERM'), rmSync(tmp, { recursive: true, force: true })));
for (;;) {
  try {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 100));
}
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
const serverCpu = (): number => processCpu(server.pid as number).all / 1000;
interface Run { answers: number; clientUs: number; serverUs: number; seconds: number; p99s: number[]; perRun: number[] }
const runs = new Map<string, Run>();
const add = (key: string, r: { answers: number; clientUs: number; serverUs: number; seconds: number; p99: number }): void => {
  const a = runs.get(key) ?? { answers: 0, clientUs: 0, serverUs: 0, seconds: 0, p99s: [], perRun: [] };
  runs.set(key, { answers: a.answers + r.answers, clientUs: a.clientUs + r.clientUs, serverUs: a.serverUs + r.serverUs, seconds: a.seconds + r.seconds, p99s: [...a.p99s, r.p99], perRun: [...a.perRun, r.clientUs / r.answers] });
};

async function node(name: string): Promise<void> {
  const s0 = serverCpu();
  const child = fork(new URL(import.meta.url).pathname, ['--node', jobFile, name, String(port), String(SLICE_S * 1000)], { execArgv: ['--import', 'tsx'] });
  const r = await new Promise<{ answers: number; cpuUs: number; seconds: number; p99: number; errors: number }>((resolve) => child.once('message', (m) => resolve(m as { answers: number; cpuUs: number; seconds: number; p99: number; errors: number })));
  add(`${name} node`, { answers: r.answers, clientUs: r.cpuUs, serverUs: serverCpu() - s0, seconds: r.seconds, p99: r.p99 });
}

const files = new Map(QUESTIONS.map((name) => {
  const next = urls(job)[name] as () => string;
  return [name, writePaths(join(tmp, name), Array.from({ length: 100_000 }, () => [name, next()] as const))] as const;
}));
function wrk(name: string, offset: number): void {
  const f = files.get(name) as PathFile;
  const s0 = serverCpu();
  const out = execFileSync('bash', ['-c', `wrk ${wrkArgs({ port, connections: 32, ms: SLICE_S * 1000, seconds: SLICE_S, file: name === 'healthz' ? undefined : f, offset }).join(' ')}; times`], { encoding: 'utf8' });
  const s1 = serverCpu();
  const r = parseWrk(out);
  const q = r.byQuestion.get(name) as WrkFigure;
  const lines = out.trim().split('\n');
  const t = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] as string) as RegExpExecArray;
  const p99 = quantile(Float64Array.from(q.latencies).sort(), 0.99);
  console.log(`    wrk: ${q.answers} answers (${q.shed} shed, ${q.errors} errors), p99 ${p99.toFixed(2)} ms timed by the script, ${r.p99.toFixed(2)} by wrk; p50 ${quantile(Float64Array.from(q.latencies).sort(), 0.5).toFixed(2)} / ${r.p50.toFixed(2)}`);
  add(`${name} wrk`, { answers: q.answers, clientUs: (Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4])) * 1e6, serverUs: s1 - s0, seconds: r.seconds, p99 });
}

console.log(`client CPU an answer: ${QUESTIONS.join(', ')}; ${ROUNDS} × (node wrk wrk node), ${SLICE_S} s each, 32 connections; load average ${load()}`);
wrk('healthz', 0); // warm the server's paths, not counted
runs.clear();
for (const name of QUESTIONS) {
  for (let round = 0; round < ROUNDS; round++) {
    await node(name);
    wrk(name, round * 2 * 25_000);
    wrk(name, (round * 2 + 1) * 25_000);
    await node(name);
    console.log(`  ${name} round ${round + 1} done, load average ${load()}`);
  }
  for (const client of ['node', 'wrk']) {
    const r = runs.get(`${name} ${client}`) as Run;
    console.log(`${name.padEnd(15)} ${client.padEnd(4)} ${(r.answers / r.seconds).toFixed(0).padStart(6)} req/s  client ${(r.clientUs / r.answers).toFixed(1).padStart(5)} µs an answer (by run ${r.perRun.map((x) => x.toFixed(1)).join(' ')})  server ${(r.serverUs / r.answers).toFixed(1).padStart(6)} µs an answer  p99 by run ${r.p99s.map((p) => p.toFixed(1)).join(' ')} ms`);
  }
}
console.log(`load average ${load()}`);
process.exit(0);
