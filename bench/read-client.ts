/**
 * The read benchmark's load client (a process of its own, forked by bench/read.ts): the
 * questions users ask, drawn at random — offices uniformly over every office, organizations
 * over those with chairmanships, days uniformly over the record's valid span, knownAt
 * uniformly over the moments it was recorded in — sent over 32 keep-alive connections by the
 * Node client (http-load.ts) or, with BENCH_CLIENT=wrk, by wrk (wrk-load.ts, read-wrk.lua: the
 * paths drawn beforehand, drawPaths). On this 2-core machine what the client spends is taken
 * from the server; on a quiet machine the two spent about the same (bench/RESULTS.md, s44-wk).
 * Four phases, each question in alternating slices so that the machine's drift (other
 * processes, a VM's speed) falls on every question alike:
 *   cold   — at once after the server's restart, no warm-up: short slices, all questions;
 *   steady — BENCH_PHASE_MS per question in slices of 1 s, /healthz among them;
 *   mixed  — every question at once, each request drawn from MIX (BENCH_MIXED_MS in all): the
 *            cheap questions share the read worker with the pages, as on a real portal, so
 *            this says how long a holder waits behind a page (the steady phase asks one
 *            kind of question at a time and cannot);
 *   single — one connection, one request at a time: how long each question takes.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { quantile, runLoad } from './http-load.js';
import { runWrk, writePaths, type PathFile } from './wrk-load.js';
import { prng } from '../test/fixtures/history.js';

export interface ClientJob {
  readonly port: number;
  readonly offices: readonly string[];
  readonly chaired: readonly string[];
  readonly organization: string;
  /** Valid days are drawn from [firstDay, lastDay] (YYYY-MM-DD). */
  readonly firstDay: string;
  readonly lastDay: string;
  /** knownAt is drawn from [recordedFrom, recordedTo] (RFC 3339). */
  readonly recordedFrom: string;
  readonly recordedTo: string;
  readonly connections: number;
  readonly coldMs: number;
  readonly coldSliceMs: number;
  /** The questions of the cold phase (BENCH_COLD_QUESTIONS; default every one but /healthz). */
  readonly coldQuestions?: readonly string[] | undefined;
  readonly phaseMs: number;
  readonly sliceMs: number;
  /** Time per question at one connection. */
  readonly singleMs: number;
  /** Time of the mixed phase (0: none). */
  readonly mixedMs: number;
  /** The load through wrk, over these paths (drawPaths); none: through the Node client (http-load.ts). */
  readonly paths?: Readonly<Record<string, PathFile>> | undefined;
}

/** Paths pre-drawn a question for wrk: more than any question is asked in a phase, so none repeats within one. */
const PATHS = Number(process.env['BENCH_WRK_PATHS'] ?? 200_000);

/**
 * One question's figures. `rps`, the latencies and `bytes` are of answers (2xx, 304 and 404:
 * a 404 is an answer, the entity not known at that knownAt); refusals (503 shed, 429 limited)
 * and other errors are counted apart and left out of them.
 */
export interface Figure {
  readonly name: string;
  /** Answers (see above). */
  readonly requests: number;
  /** 503s (load shed: Retry-After). */
  readonly shed: number;
  /** 429s (per-client limits). */
  readonly limited: number;
  /** Any other status of 400 or more but 404. */
  readonly errors: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly bytes: number;
}

export interface ClientReport {
  readonly cold: Figure[];
  readonly steady: Figure[];
  /** One connection, one request at a time: how long a question takes, without queueing behind 31 others. */
  readonly single: Figure[];
  /** holder without knownAt over the cold phase and the steady one together. */
  readonly nowWithColdStart: Figure;
  /** Every question at once (MIX): each question's figures among the others, and all of them together (`all`). */
  readonly mixed: Figure[];
  /** Load averages (1, 5, 15 min) as each phase began, and at the end. */
  readonly load: { readonly cold: number[]; readonly steady: number[]; readonly mixed: number[]; readonly single: number[]; readonly end: number[] };
  /** The cold phase's slices one by one (when each began, ms after the phase's start): where in the first seconds its tail is. */
  readonly coldSlices: readonly ColdSlice[];
  /** Requests wrk left in flight at the cold phase's slices' ends (0 with the Node client). */
  readonly coldInFlight: number;
}

export interface ColdSlice {
  readonly name: string;
  readonly atMs: number;
  readonly answers: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** What each question asks (the report prints these). */
export const QUESTIONS: Readonly<Record<string, string>> = {
  healthz: 'GET /healthz (the server doing nothing but HTTP)',
  'holder@past': 'GET /v1/offices/{any office}/holder?validAt={any day}&knownAt={any moment of the recording}',
  'holder@now': 'GET /v1/offices/{any office}/holder?validAt={any day} (no knownAt: the record as it stands)',
  'chair@past': 'GET /v1/organizations/{any chaired organization}/chair?validAt={any day}&knownAt={any moment}',
  'documents@past': 'GET /v1/documents?organization=org&validAt={any day}&knownAt={any moment} (first page: up to 50 in force)',
  'sessions@past': 'GET /v1/sessions?organization=org&validAt={any day}&knownAt={any moment} (first page: up to 10 sessions held that day, the default page, each with its own lists)',
};

/**
 * The mixed phase's share of each question (of 100 requests): mostly point questions, a page
 * now and then, as a portal or a newsroom asks.
 */
export const MIX: Readonly<Record<string, number>> = { 'holder@past': 35, 'holder@now': 35, 'chair@past': 20, 'documents@past': 5, 'sessions@past': 5 };

export function urls(job: ClientJob): Record<string, () => string> {
  const rnd = prng(2024);
  const d0 = Date.parse(`${job.firstDay}T00:00:00Z`);
  const dn = Date.parse(`${job.lastDay}T00:00:00Z`);
  const k0 = Date.parse(job.recordedFrom);
  const kn = Date.parse(job.recordedTo);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const day = (): string => new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10);
  const known = (): string => encodeURIComponent(new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString());
  return {
    healthz: () => '/healthz',
    'holder@past': () => `/v1/offices/${pick(job.offices)}/holder?validAt=${day()}&knownAt=${known()}`,
    'holder@now': () => `/v1/offices/${pick(job.offices)}/holder?validAt=${day()}`,
    'chair@past': () => `/v1/organizations/${pick(job.chaired)}/chair?validAt=${day()}&knownAt=${known()}`,
    'documents@past': () => `/v1/documents?organization=${job.organization}&validAt=${day()}&knownAt=${known()}`,
    'sessions@past': () => `/v1/sessions?organization=${job.organization}&validAt=${day()}&knownAt=${known()}`,
  };
}

interface Acc {
  /** Of answers only. */
  latencies: number[];
  shed: number;
  limited: number;
  errors: number;
  seconds: number;
  bytes: number;
}

const empty = (): Acc => ({ latencies: [], shed: 0, limited: 0, errors: 0, seconds: 0, bytes: 0 });
const answered = (status: number): boolean => status < 400 || status === 404;

function figure(name: string, a: Acc): Figure {
  const sorted = Float64Array.from(a.latencies).sort();
  return { name, requests: sorted.length, shed: a.shed, limited: a.limited, errors: a.errors, rps: sorted.length / a.seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.length ? (sorted[sorted.length - 1] as number) : 0, bytes: sorted.length ? a.bytes / sorted.length : 0 };
}

/** `from`'s answers, refusals, time and bytes added to `into`. */
function merge(into: Acc, from: Acc): void {
  // One at a time: a spread of a long array passes V8's limit on arguments (~120,000–200,000).
  for (const x of from.latencies) into.latencies.push(x);
  into.shed += from.shed;
  into.limited += from.limited;
  into.errors += from.errors;
  into.seconds += from.seconds;
  into.bytes += from.bytes;
}

/** One slice through the Node client (http-load.ts): `next` draws each request's question and path; each question's figures. */
async function nodeSlice(job: ClientJob, names: readonly string[], next: () => { name: string; path: string }, connections: number, ms: number): Promise<Map<string, Acc>> {
  const out = new Map(names.map((n) => [n, empty()]));
  const asked = new WeakMap<object, string>();
  const order: string[] = [];
  const r = await runLoad({
    port: job.port,
    connections,
    durationMs: ms,
    next: () => {
      const { name, path } = next();
      const request = { method: 'GET' as const, path };
      asked.set(request, name);
      return request;
    },
    // Called once an answer, in the order of `inOrder`: the question of each latency.
    check: (answer, request) => {
      const name = asked.get(request) as string;
      order.push(name);
      if (answered(answer.status)) (out.get(name) as Acc).bytes += answer.body.length;
    },
  });
  r.byStatus.forEach((status, i) => {
    const a = out.get(order[i] as string) as Acc;
    if (answered(status)) a.latencies.push(r.inOrder[i] as number);
    else if (status === 503) a.shed += 1;
    else if (status === 429) a.limited += 1;
    else a.errors += 1;
  });
  for (const a of out.values()) a.seconds = r.seconds;
  return out;
}

/** How many lines of each path file (job.paths) the runs so far took: the next run starts after them. */
const used = new Map<string, number>();
/** Requests wrk left in flight at the ends of its runs so far (the server answers them, uncounted; the Node client waits for its last answers). */
let inFlight = 0;

/** One slice through wrk, over the path file `file` (job.paths; healthz: none): each question's figures. */
async function wrkSlice(job: ClientJob, names: readonly string[], file: string, connections: number, ms: number): Promise<Map<string, Acc>> {
  const offset = used.get(file) ?? 0;
  const r = await runWrk({ port: job.port, connections, ms, file: job.paths?.[file], offset });
  const out = new Map(names.map((n) => [n, empty()]));
  let taken = r.inFlight;
  inFlight += r.inFlight;
  for (const [name, f] of r.byQuestion) {
    out.set(name, { latencies: f.latencies, shed: f.shed, limited: f.limited, errors: f.errors, seconds: 0, bytes: f.bytes });
    taken += f.answers + f.shed + f.limited + f.errors;
  }
  used.set(file, offset + taken);
  // Socket errors (connect, read, write, timeout) cannot be told apart by question: the first one's.
  (out.get(names[0] as string) as Acc).errors += r.socketErrors;
  for (const a of out.values()) a.seconds = r.seconds;
  return out;
}

/** Each question for `ms` in all, in alternating slices of `slice` ms. */
async function phase(job: ClientJob, names: readonly string[], ms: number, slice: number, into?: Map<string, Acc>, connections = job.connections, slices?: ColdSlice[]): Promise<Map<string, Acc>> {
  const make = urls(job);
  const t0 = performance.now();
  const acc = into ?? new Map(names.map((n) => [n, empty()]));
  for (let done = 0; done < ms; done += slice) {
    for (const name of names) {
      const atMs = performance.now() - t0;
      const sliceMs = Math.min(slice, ms - done);
      const next = make[name] as () => string;
      const run = job.paths ? wrkSlice(job, [name], name, connections, sliceMs) : nodeSlice(job, [name], () => ({ name, path: next() }), connections, sliceMs);
      const s = (await run).get(name) as Acc;
      merge(acc.get(name) as Acc, s);
      if (slices) {
        const f = figure(name, s);
        slices.push({ name, atMs, answers: f.requests, p50: f.p50, p99: f.p99, max: f.max });
      }
    }
  }
  return acc;
}

/** MIX's questions drawn at random by their shares. */
function mixDraw(): () => string {
  const rnd = prng(7);
  const names = Object.keys(MIX);
  const total = names.reduce((sum, n) => sum + (MIX[n] as number), 0);
  return () => {
    let x = rnd() * total;
    for (const n of names) if ((x -= MIX[n] as number) < 0) return n;
    return names[names.length - 1] as string;
  };
}

/** Every question of MIX at once for `ms`, each request's question drawn at random; figures per question and `all`. */
async function mixedPhase(job: ClientJob, ms: number): Promise<Map<string, Acc>> {
  const make = urls(job);
  const draw = mixDraw();
  const names = Object.keys(MIX);
  const next = (): { name: string; path: string } => {
    const name = draw();
    return { name, path: (make[name] as () => string)() };
  };
  const acc = await (job.paths ? wrkSlice(job, names, 'mixed', job.connections, ms) : nodeSlice(job, names, next, job.connections, ms));
  const all = empty();
  for (const a of acc.values()) merge(all, a);
  all.seconds = (acc.get(names[0] as string) as Acc).seconds;
  acc.set('all', all);
  return acc;
}

/** The paths pre-drawn for wrk: PATHS of each question and of the mixed phase (MIX), as the Node client draws them, in files in `dir` (by question; the mixed phase's `mixed`). */
export function drawPaths(job: ClientJob, dir: string): Record<string, PathFile> {
  const make = urls(job);
  const draw = mixDraw();
  const files: Record<string, PathFile> = {};
  for (const name of Object.keys(QUESTIONS)) if (name !== 'healthz') files[name] = writePaths(join(dir, `wrk-paths-${name}`), Array.from({ length: PATHS }, () => [name, (make[name] as () => string)()] as const));
  files['mixed'] = writePaths(join(dir, 'wrk-paths-mixed'), Array.from({ length: PATHS }, () => {
    const name = draw();
    return [name, (make[name] as () => string)()] as const;
  }));
  return files;
}

export async function runClient(job: ClientJob): Promise<ClientReport> {
  const names = Object.keys(QUESTIONS);
  const coldLoad = loadavg();
  const coldSlices: ColdSlice[] = [];
  const coldNames = job.coldQuestions ?? names.filter((n) => n !== 'healthz');
  const cold = await phase(job, coldNames, job.coldMs, job.coldSliceMs, undefined, job.connections, coldSlices);
  const coldInFlight = inFlight;
  // The parent reads the server's CPU counters here (bench/read.ts): what the cold phase cost.
  await new Promise((resolve) => (process.send ? process.send({ kind: 'cold-done' }, resolve) : resolve(null)));
  const steadyLoad = loadavg();
  const coldNow = cold.get('holder@now') ?? empty();
  const withCold: Acc = { ...coldNow, latencies: [...coldNow.latencies] };
  const steady = await phase(job, names, job.phaseMs, job.sliceMs);
  merge(withCold, steady.get('holder@now') as Acc);
  const mixedLoad = loadavg();
  const mixed = job.mixedMs > 0 ? await mixedPhase(job, job.mixedMs) : new Map<string, Acc>();
  const singleLoad = loadavg();
  const single = await phase(job, names, job.singleMs, job.sliceMs, undefined, 1);
  return {
    cold: [...cold].map(([n, a]) => figure(n, a)),
    steady: [...steady].map(([n, a]) => figure(n, a)),
    single: [...single].map(([n, a]) => figure(n, a)),
    nowWithColdStart: figure('holder@now, cold start included', withCold),
    mixed: [...mixed].map(([n, a]) => figure(n, a)),
    load: { cold: coldLoad, steady: steadyLoad, mixed: mixedLoad, single: singleLoad, end: loadavg() },
    coldSlices,
    coldInFlight,
  };
}

if (process.argv[2] === '--client') {
  const job = JSON.parse(readFileSync(process.argv[3] as string, 'utf8')) as ClientJob;
  const report = await runClient(job);
  await new Promise((resolve) => process.send?.(report, resolve));
  process.exit(0);
}
