/**
 * CPU per holder question in a read worker's place: `npm run bench:holder-cpu` with
 * BENCH_DB=<a readmodels.db> (opened read-only; e.g. the read benchmark's kept record). Asks
 * ReadQueries.holderJson directly, in this thread, what bench:read's holder@past and holder@now
 * ask over HTTP (an office drawn uniformly from every office, a day uniformly from 1990..2030,
 * knownAt uniformly from the recording's span, or now), on a connection set up as a worker's
 * (128 MiB of page cache). Prints per question the CPU per answer at p50, mean and p99, the
 * statements run and the pages SQLite read from the file (read system calls of this process:
 * its page cache's misses) per answer, and a digest of every answer: equal digests, equal
 * answers, byte for byte.
 *
 * BENCH_COMPARE=<a checkout of another version> (its projections/ importable, e.g. `git
 * archive main projections events src test/fixtures | tar -x -C DIR` with node_modules linked):
 * both versions answer the same questions in alternating slices, each on its own connection,
 * so that other processes' load falls on both alike; the ratio of their CPU per answer is the
 * figure to quote on a shared machine. BENCH_THIS=<a checkout>: this version loaded as the
 * other is.
 *
 * Cold: the first BENCH_COLD questions (1,000) of each version are counted apart, on a fresh
 * connection (its page cache empty; the OS's is warm, as after a restart of the service on a
 * machine that had it running), after the version's warm-up if it has one (read-warm-up.ts,
 * BENCH_WARM_UP=0 to skip it), as a read worker starts: what the cold phase of bench:read pays.
 *
 * Environment: BENCH_DB, BENCH_QUESTIONS (per question kind, 20,000), BENCH_SEED (2024),
 * BENCH_COMPARE, BENCH_COMPARE_DB (the other version's own read-model file: e.g. the same record rebuilt with
 * another page size, BENCH_COMPARE then this checkout), BENCH_THIS, BENCH_COLD, BENCH_WARM_UP, BENCH_CACHE_KIB (131072; BENCH_COMPARE_CACHE_KIB the other
 * version's alone), BENCH_MMAP_MIB and BENCH_COMPARE_MMAP_MIB (this / the other version's connection reads the file
 * through a memory map of that many MiB, PRAGMA mmap_size; 0, none, by default: pages read through the map are no
 * read system calls, so "pages read from the file" counts only the rest).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { prng } from '../test/fixtures/history.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const N = Number(process.env['BENCH_QUESTIONS'] ?? 20_000);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const COLD = Number(process.env['BENCH_COLD'] ?? 1_000);
const CACHE_KIB = Number(process.env['BENCH_CACHE_KIB'] ?? 131_072);
const WARM = process.env['BENCH_WARM_UP'] !== '0';
const SLICE = 250;

interface Reads {
  holderJson(office: string, validAt: string, k: string): string | null;
  invalidate(): void;
}
type Queries = new (db: Database.Database, shared?: boolean, snapshotMs?: number) => Reads;
interface Warmer {
  step(): boolean;
  readonly pages: number;
  readonly ms: number;
}
interface Loaded {
  ReadQueries: Queries;
  warmUp?: (q: Reads) => { questions: number; ms: number };
  /** The page cache filled once ready (read-cache-warm.ts), where the version has it. */
  cacheWarm?: (db: Database.Database) => Warmer;
}

const load = async (dir: string): Promise<Loaded> => {
  const q = (await import(pathToFileURL(resolve(dir, 'projections/queries.ts')).href)) as { ReadQueries: Queries };
  const w = (await import(pathToFileURL(resolve(dir, 'projections/read-warm-up.ts')).href).catch(() => ({}))) as { warmUp?: Loaded['warmUp'] };
  const c = (await import(pathToFileURL(resolve(dir, 'projections/read-cache-warm.ts')).href).catch(() => null)) as { cacheWarmer: (walks: unknown[]) => Warmer; walksFor: (db: Database.Database, s: string[], r: string[]) => unknown[] } | null;
  const h = (await import(pathToFileURL(resolve(dir, 'projections/offices/holder-json.ts')).href).catch(() => null)) as { HOLDER_SQL: string } | null;
  return { ReadQueries: q.ReadQueries, warmUp: w.warmUp, ...(c && h ? { cacheWarm: (db: Database.Database) => c.cacheWarmer(c.walksFor(db, [h.HOLDER_SQL], ['terms_rt', 'attestations_rt'])) } : {}) };
};
const versions: { name: string; lib: Loaded; reads: Reads | null }[] = [{ name: 'this', lib: await load(process.env['BENCH_THIS'] ?? resolve(new URL('..', import.meta.url).pathname)), reads: null }];
const other = process.env['BENCH_COMPARE'];
if (other) versions.push({ name: 'compare', lib: await load(other), reads: null });

// Statements run: every better-sqlite3 statement of the process, counted by whoever runs it.
let statements = 0;
const proto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
for (const m of ['all', 'get', 'run', 'iterate']) {
  const f = proto[m] as (...a: unknown[]) => unknown;
  proto[m] = function (this: unknown, ...a: unknown[]) {
    statements += 1;
    return f.apply(this, a);
  };
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** read system calls of this process so far: SQLite reads a page from the file on each miss of its cache. */
const reads = (): number => Number(/^syscr: (\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);

const dbOf = new Map<Reads, Database.Database>();
function open(v: (typeof versions)[number]): Reads {
  // BENCH_COMPARE_DB: the other version's own read-model file (another layout or page size, each on its rebuilt copy of the record).
  const db = new Database(v.name === 'compare' ? (process.env['BENCH_COMPARE_DB'] ?? (path as string)) : (path as string), { readonly: true });
  db.pragma(`cache_size = -${v.name === 'compare' ? Number(process.env['BENCH_COMPARE_CACHE_KIB'] ?? CACHE_KIB) : CACHE_KIB}`);
  const mmapMib = Number(process.env[v.name === 'compare' ? 'BENCH_COMPARE_MMAP_MIB' : 'BENCH_MMAP_MIB'] ?? 0);
  if (mmapMib > 0) db.pragma(`mmap_size = ${mmapMib * 1_048_576}`);
  const r = new v.lib.ReadQueries(db, false, 60_000);
  dbOf.set(r, db);
  return r;
}

const probe = new Database(path, { readonly: true });
const [from, to] = probe.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
const offices = probe.prepare("SELECT DISTINCT id FROM entities WHERE kind = 'office'").pluck().all() as string[];
probe.close();
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const k0 = Date.parse(from);
const kn = Date.parse(to);
const NOW = new Date().toISOString();
type Q = { o: string; v: string; k: string };
function questions(n: number, past: boolean): Q[] {
  const rnd = prng(SEED + (past ? 0 : 1));
  return Array.from({ length: n }, () => ({
    o: offices[Math.floor(rnd() * offices.length)] as string,
    v: new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10),
    k: past ? new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString() : NOW,
  }));
}
const kinds = { 'holder@past': questions(N + COLD, true), 'holder@now': questions(N + COLD, false) };

interface Acc {
  cpu: number[];
  statements: number;
  reads: number;
  bytes: number;
  digest: ReturnType<typeof createHash>;
}
const acc = (): Acc => ({ cpu: [], statements: 0, reads: 0, bytes: 0, digest: createHash('sha256') });
const stats = new Map<string, Acc>();
const statOf = (key: string): Acc => stats.get(key) ?? (stats.set(key, acc()), stats.get(key) as Acc);

function ask(reads: Reads, qs: readonly Q[], into: Acc): void {
  // A new snapshot for each slice, as a worker's after events are applied.
  reads.invalidate();
  const r0 = reads_();
  const s0 = statements;
  for (const q of qs) {
    const t0 = cpu();
    const text = reads.holderJson(q.o, q.v, q.k);
    into.cpu.push(cpu() - t0);
    into.bytes += text?.length ?? 0;
    into.digest.update(`${q.o} ${q.v} ${q.k === NOW ? 'now' : q.k} ${text}\n`);
  }
  into.statements += statements - s0;
  into.reads += reads_() - r0;
}
const reads_ = reads;

console.log(`read models ${path}; ${offices.length} offices; knownAt ${from}..${to}; ${N} questions a kind (+${COLD} cold)${other ? `, alternating with ${other}${process.env['BENCH_COMPARE_DB'] ? ` on ${process.env['BENCH_COMPARE_DB']}` : ''}` : ''}; page cache ${CACHE_KIB} KiB; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// Cold: each version on a fresh connection, its warm-up first (as a read worker before it says ready), then its first questions.
for (const v of versions) {
  v.reads = open(v);
  const w = WARM && v.lib.warmUp ? v.lib.warmUp(v.reads) : null;
  if (w) console.log(`${v.name}: warm-up ${w.questions} questions in ${w.ms.toFixed(0)} ms`);
  // The page cache filled (here at once; a worker does it a slice at a time between questions), where the version does it.
  if (WARM && v.lib.cacheWarm) {
    const c0 = cpu();
    const r0 = reads();
    const c = v.lib.cacheWarm(dbOf.get(v.reads) as Database.Database);
    while (c.step());
    console.log(`${v.name}: page cache filled with ~${c.pages} pages in ${c.ms.toFixed(0)} ms, ${((cpu() - c0) / 1000).toFixed(0)} ms of CPU, ${reads() - r0} pages read from the file`);
  }
  for (const [kind, qs] of Object.entries(kinds)) ask(v.reads, qs.slice(0, COLD / 2), statOf(`${kind} ${v.name} cold`));
  for (const [kind, qs] of Object.entries(kinds)) ask(v.reads, qs.slice(COLD / 2, COLD), statOf(`${kind} ${v.name} cold`));
}
for (let done = COLD; done < N + COLD; done += SLICE) {
  for (const [kind, qs] of Object.entries(kinds)) {
    // Each version first in every other slice.
    for (const v of ((done - COLD) / SLICE) % 2 ? [...versions].reverse() : versions) ask(v.reads as Reads, qs.slice(done, Math.min(N + COLD, done + SLICE)), statOf(`${kind} ${v.name}`));
  }
}

const means = new Map<string, number>();
for (const [name, s] of stats) {
  if (s.cpu.length === 0) continue;
  const sorted = [...s.cpu].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  means.set(name, mean);
  const n = sorted.length;
  console.log(`${name.padEnd(25)} CPU an answer: p50 ${q(0.5).toFixed(0).padStart(4)} µs, mean ${mean.toFixed(1).padStart(6)} µs, p99 ${q(0.99).toFixed(0).padStart(5)} µs; ${(s.statements / n).toFixed(2)} statements, ${(s.reads / n).toFixed(2)} pages read from the file, ${Math.round(s.bytes / n)} B an answer; digest ${s.digest.digest('hex').slice(0, 16)}`);
}
if (other) for (const kind of Object.keys(kinds)) for (const c of COLD > 0 ? ['', ' cold'] : ['']) console.log(`${kind}${c}: this / compare CPU an answer (means) ${((means.get(`${kind} this${c}`) as number) / (means.get(`${kind} compare${c}`) as number)).toFixed(3)}`);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
