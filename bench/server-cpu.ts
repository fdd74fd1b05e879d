/**
 * CPU per answer of built servers, by thread: `node --import tsx bench/server-cpu.ts <code A>
 * <data A> [<code B> <data B>]`. Starts each checkout's built server (`dist/src/server.js`,
 * as `npm start` does; build it first) in its own data dir (copies of the read benchmark's
 * kept record) and drives them with `wrk -t1 -c32` (BENCH_CONNECTIONS) in alternating slices
 * (BENCH_SLICE_S, 2 s; BENCH_ROUNDS, 8; A first in every other round), each slice over the same
 * URLs for both servers. Between slices, each server's threads' CPU from
 * `/proc/<pid>/task/<tid>/schedstat` (ns on a core: contention moves it far less than wall time)
 * and wrk's own (bash's `times`). Threads are all named `node`, so they are labelled by what
 * they do under this load: the main thread (the event loop, tid = pid), the busiest other
 * thread (the read worker, under reads), the rest together (V8's helpers: GC; libuv's pool; the
 * other workers, idle here). Also, an answer, the event loop's and the read worker's wait for a
 * core while runnable (schedstat's second field) and how often each was preempted
 * (`nonvoluntary_ctxt_switches`); each slice's latency from wrk (p50, p90, p99, p99.9, max) and
 * their median over the slices, with each slice's p99 (the tail moves with the machine's load
 * from slice to slice: compare the versions slice by slice, not one run's figure); and each
 * server's RSS and peak after the run.
 *
 * BENCH_QUESTION: documents (default: `/v1/documents?organization=org&validAt=<a day>&knownAt=<a
 * moment of the recording>`, as bench:read's documents@past asks), sessions (sessions@past),
 * chair (chair@past), holder (as holder@past), holder-now (as holder@now: no knownAt, the current read), healthz. The days and moments are drawn as bench/read-client.ts draws them (BENCH_SEED).
 * BENCH_URLS (20,000) URLs, each slice starting at its round's offset. BENCH_ENV_A, BENCH_ENV_B
 * (`NAME=value,…`): environment for that version's server alone (the same code with and without
 * a setting, e.g. `ANNALS_READ_WORKERS=0`). BENCH_NODE_ARGS_A, BENCH_NODE_ARGS_B: node's options
 * for that server (space-separated; e.g. the same code twice, one with a V8 heap flag).
 * BENCH_GC=1: each server counts its event loop's GCs (bench/gc-count.mjs, a preload): the
 * mark-compacts and scavenges in the slices, their pauses, and each slice's mark-compacts
 * beside its p99 (does the tail follow them?).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../test/fixtures/history.js';

const args = process.argv.slice(2);
if (args.length < 2 || args.length % 2) throw new Error('usage: bench/server-cpu.ts <code A> <data A> [<code B> <data B>]');
const SLICE_S = Number(process.env['BENCH_SLICE_S'] ?? 2);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const QUESTION = process.env['BENCH_QUESTION'] ?? 'documents';
const N_URLS = Number(process.env['BENCH_URLS'] ?? 20_000);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);

const job = JSON.parse(readFileSync(join(args[1] as string, 'bench-read-job.json'), 'utf8')) as { offices: string[]; chaired: string[]; recordedFrom: string; recordedTo: string; organization: string };
const rnd = prng(SEED);
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const k0 = Date.parse(job.recordedFrom);
const kn = Date.parse(job.recordedTo);
const day = (): string => new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10);
const known = (): string => encodeURIComponent(new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString());
const make: Record<string, () => string> = {
  documents: () => `/v1/documents?organization=${job.organization}&validAt=${day()}&knownAt=${known()}`,
  sessions: () => `/v1/sessions?organization=${job.organization}&validAt=${day()}&knownAt=${known()}`,
  chair: () => `/v1/organizations/${job.chaired[Math.floor(rnd() * job.chaired.length)]}/chair?validAt=${day()}&knownAt=${known()}`,
  holder: () => `/v1/offices/${job.offices[Math.floor(rnd() * job.offices.length)]}/holder?validAt=${day()}&knownAt=${known()}`,
  'holder-now': () => `/v1/offices/${job.offices[Math.floor(rnd() * job.offices.length)]}/holder?validAt=${day()}`,
  healthz: () => '/healthz',
};
// In a directory of this run's own: another run's clean-up of /tmp/server-cpu-* took a script away mid-run once.
const tmp = mkdtempSync(join(tmpdir(), 'server-cpu-run-'));
const urlFile = join(tmp, 'urls');
writeFileSync(urlFile, `${Array.from({ length: N_URLS }, make[QUESTION] as () => string).join('\n')}\n`);
const lua = join(tmp, 'wrk.lua');
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
writeFileSync(
  lua,
  `local urls = {}
for line in io.lines("${urlFile}") do urls[#urls + 1] = line end
local i = tonumber(os.getenv("WRK_OFFSET") or "0")
request = function()
  i = i + 1
  if i > #urls then i = 1 end
  return wrk.format("GET", urls[i])
end
statuses = {}
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency)
  local out = {}
  for s, n in pairs(threads[1]:get("statuses")) do out[#out + 1] = s .. "=" .. n end
  io.write("statuses " .. table.concat(out, " ") .. "\\n")
  local ps = {}
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do ps[#ps + 1] = latency:percentile(p) end
  ps[#ps + 1] = latency.max
  io.write("latency " .. table.concat(ps, " ") .. "\\n")
end
`,
);

/** BENCH_ENV_A, BENCH_ENV_B: `NAME=value,NAME=value` for that version's server alone (e.g. ANNALS_READ_WORKERS=0). */
const envOf = (name: string): Record<string, string> => Object.fromEntries((process.env[`BENCH_ENV_${name}`] ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const GC = process.env['BENCH_GC'] === '1';
/** bench/gc-count.mjs's totals (the event loop's GCs; pauses in ms). */
interface GcCount {
  major: number;
  majorMs: number;
  /** Each mark-compact's pause. */
  majorPauses: number[];
  minor: number;
  minorMs: number;
}
const noGc = (): GcCount => ({ major: 0, majorMs: 0, majorPauses: [], minor: 0, minorMs: 0 });
const gcFile = (name: string): string => `/tmp/server-cpu-${process.pid}-${name}.gc`;
const gcNow = (name: string): GcCount => {
  try {
    return JSON.parse(readFileSync(gcFile(name), 'utf8')) as GcCount;
  } catch {
    return noGc();
  }
};
const versions = [] as { name: string; code: string; port: number; child: ChildProcess; cpu: Map<string, number>; answers: number; statuses: Map<string, number>; wrk: number; latency: number[][]; waits: Map<string, number>; gc: GcCount; gcBySlice: number[] }[];
for (let i = 0; i < args.length; i += 2) {
  // BENCH_PORT (18300): the first server's port, the next one's two above (another engineer's run on the same ports would answer in their place).
  const port = Number(process.env['BENCH_PORT'] ?? 18_300) + i;
  // BENCH_NODE_ARGS_A / _B: node's options for that version's server (e.g. a V8 heap flag), space-separated.
  const nodeArgs = (process.env[`BENCH_NODE_ARGS_${String.fromCharCode(65 + i / 2)}`] ?? '').split(' ').filter(Boolean);
  if (GC) nodeArgs.unshift('--import', new URL('./gc-count.mjs', import.meta.url).pathname);
  const child = spawn(process.execPath, [...nodeArgs, join(args[i] as string, 'dist/src/server.js')], {
    env: { ...process.env, ANNALS_DATA_DIR: args[i + 1], ANNALS_SEED: 'none', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0', ...(GC ? { GC_COUNT_FILE: gcFile(String.fromCharCode(65 + i / 2)) } : {}), ...envOf(String.fromCharCode(65 + i / 2)) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  versions.push({ name: String.fromCharCode(65 + i / 2), code: args[i] as string, port, child, cpu: new Map(), answers: 0, statuses: new Map(), wrk: 0, latency: [], waits: new Map(), gc: noGc(), gcBySlice: [] });
}
const stop = (): void => void versions.forEach((v) => v.child.kill('SIGTERM'));
process.on('exit', stop);
process.on('SIGINT', () => process.exit(1));

for (const v of versions)
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${v.port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }

const tasks = (pid: number): Map<number, number> => new Map([...threads(pid)].map(([tid, t]) => [tid, t.cpu]));
/**
 * Each thread's CPU (µs), its wait for a core while runnable (µs: schedstat's second field) and
 * how often it was preempted (nonvoluntary_ctxt_switches): a thread that waits for a core holds
 * every question queued behind it.
 */
const threads = (pid: number): Map<number, { cpu: number; wait: number; preempted: number }> => {
  const out = new Map<number, { cpu: number; wait: number; preempted: number }>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ').map(Number);
      const preempted = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))?.[1] ?? 0);
      out.set(Number(t), { cpu: (cpu ?? 0) / 1000, wait: (wait ?? 0) / 1000, preempted });
    } catch {
      // ended meanwhile
    }
  }
  return out;
};

function slice(v: (typeof versions)[number], offset: number): void {
  const pid = v.child.pid as number;
  const s0 = threads(pid);
  const t0 = tasks(pid);
  const g0 = GC ? gcNow(v.name) : noGc();
  const out = execFileSync('bash', ['-c', `wrk -t1 -c${CONNECTIONS} -d${SLICE_S}s -s ${lua} http://127.0.0.1:${v.port}; times`], { encoding: 'utf8', env: { ...process.env, WRK_OFFSET: String(offset) } });
  const t1 = tasks(pid);
  const s1 = threads(pid);
  if (GC) {
    // The preload writes its totals every 50 ms.
    execFileSync('sleep', ['0.1']);
    const g1 = gcNow(v.name);
    v.gc.major += g1.major - g0.major;
    v.gc.majorMs += g1.majorMs - g0.majorMs;
    v.gc.majorPauses.push(...g1.majorPauses.slice(g0.majorPauses.length));
    v.gc.minor += g1.minor - g0.minor;
    v.gc.minorMs += g1.minorMs - g0.minorMs;
    v.gcBySlice.push(g1.major - g0.major);
  }
  const deltas = [...t1].map(([tid, us]) => [tid, us - (t0.get(tid) ?? 0)] as const);
  const main = deltas.find(([tid]) => tid === pid)?.[1] ?? 0;
  const others = deltas.filter(([tid]) => tid !== pid).sort((a, b) => b[1] - a[1]);
  const add = (label: string, us: number): void => void v.cpu.set(label, (v.cpu.get(label) ?? 0) + us);
  add('event loop', main);
  add('busiest other (read worker)', others[0]?.[1] ?? 0);
  add('rest', others.slice(1).reduce((a, [, us]) => a + us, 0));
  // The event loop's and the read worker's waits for a core and preemptions.
  const waitOf = (tid: number | undefined, label: string): void => {
    const a = tid === undefined ? undefined : s0.get(tid);
    const b = tid === undefined ? undefined : s1.get(tid);
    if (a && b) ((v.waits.set(`${label} waited`, (v.waits.get(`${label} waited`) ?? 0) + b.wait - a.wait)), v.waits.set(`${label} preempted`, (v.waits.get(`${label} preempted`) ?? 0) + b.preempted - a.preempted));
  };
  waitOf(pid, 'event loop');
  waitOf(others[0]?.[0], 'read worker');
  v.answers += Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  // wrk's latency of the slice (µs): p50, p90, p99, p99.9, max.
  const lat = /latency (.*)/.exec(out)?.[1];
  if (lat) v.latency.push(lat.trim().split(' ').map(Number));
  for (const [, status, n] of (/statuses (.*)/.exec(out)?.[1] ?? '').matchAll(/(\d+)=(\d+)/g)) v.statuses.set(status as string, (v.statuses.get(status as string) ?? 0) + Number(n));
  // `times`: the shell's, then its children's user and system time (wrk's).
  const lines = out.trim().split('\n');
  const child = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] as string);
  if (child) v.wrk += (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1e6;
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`${QUESTION}: ${versions.map((v) => `${v.name} ${v.code}`).join(', ')}; ${ROUNDS} rounds of ${SLICE_S} s slices, wrk -t1 -c${CONNECTIONS}; load average ${load()}`);
// A first warm slice each, not counted.
for (const v of versions) execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SLICE_S}s`, '-s', lua, `http://127.0.0.1:${v.port}`], { encoding: 'utf8' });
for (const v of versions) ((v.cpu = new Map()), (v.answers = 0), (v.statuses = new Map()), (v.wrk = 0), (v.latency = []), (v.waits = new Map()), (v.gc = noGc()), (v.gcBySlice = []));
for (let r = 0; r < ROUNDS; r++) {
  const offset = Math.floor(rnd() * N_URLS);
  for (const v of r % 2 ? [...versions].reverse() : versions) slice(v, offset);
}
for (const v of versions) {
  const all = [...v.cpu.values()].reduce((a, b) => a + b, 0);
  const per = (us: number): string => (us / v.answers).toFixed(1);
  // Each slice's latency percentiles (ms): their median over the slices, and each slice's p99.
  const ms = (us: number): string => (us / 1000).toFixed(1);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const col = (i: number): number[] => v.latency.map((l) => l[i] ?? NaN);
  const latency = v.latency.length ? `; latency ms (median of slices) p50 ${ms(median(col(0)))} p90 ${ms(median(col(1)))} p99 ${ms(median(col(2)))} p99.9 ${ms(median(col(3)))} max ${ms(median(col(4)))}; p99 by slice ${col(2).map(ms).join(' ')}` : '';
  if (GC) console.log(`${v.name}: the event loop's GCs in the slices: ${v.gc.major} mark-compacts (${v.answers && v.gc.major ? `one per ${Math.round(v.answers / v.gc.major)} answers, ` : ''}pauses ${v.gc.majorMs.toFixed(1)} ms in all: ${v.gc.majorPauses.join(' ')}), ${v.gc.minor} scavenges (${v.gc.minorMs.toFixed(1)} ms); mark-compacts by slice ${v.gcBySlice.join(' ')}`);
  console.log(`${v.name}: ${v.answers} answers (${[...v.statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}), ${(v.answers / (ROUNDS * SLICE_S)).toFixed(0)} req/s; CPU an answer ${per(all)} µs = ${[...v.cpu].map(([l, us]) => `${l} ${per(us)}`).join(', ')}; wrk ${per(v.wrk)}${latency}; an answer: ${[...v.waits].map(([l, x]) => `${l} ${l.endsWith('preempted') ? (x / v.answers).toFixed(3) : `${per(x)} µs`}`).join(', ')}`);
}
// Each server's resident memory now and at its peak (VmRSS, VmHWM), as bench:read reports RSS after its run.
for (const v of versions) {
  const status = readFileSync(`/proc/${v.child.pid as number}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  console.log(`${v.name}: RSS ${(kb('VmRSS') / 1024).toFixed(0)} MB, peak ${(kb('VmHWM') / 1024).toFixed(0)} MB`);
}
console.log(`load average ${load()}`);
stop();
