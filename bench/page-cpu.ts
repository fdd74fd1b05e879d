/**
 * CPU per page of the lists a read worker answers: `npm run bench:page-cpu` with
 * BENCH_DB=<a readmodels.db> (opened read-only; e.g. the read benchmark's kept record).
 * Asks the read queries directly, in this thread, what bench:read's documents@past and
 * sessions@past ask over HTTP (organization `org`, a day drawn uniformly from 1990..2030, a
 * knownAt drawn uniformly from the recording's span, the route's default page), each page
 * made as a read worker makes it: its items' JSON text from SQLite where the version has it
 * (queries.ts itemsJson), else its objects serialized (sessions: each without `more`). Prints per question the CPU per page (this
 * process: the statements, the rendering, JSON) at p50, mean and p99, and a digest of every
 * answer (items and next keys, a second page of every fourth question included): equal
 * digests, equal answers.
 *
 * BENCH_COMPARE=<a checkout of another version> (its projections/ importable, e.g. `git
 * archive main projections events src test/fixtures | tar -x -C DIR` with node_modules linked):
 * both versions answer the same questions in alternating slices, so that other processes'
 * load falls on both alike; the ratio of their CPU per page is the figure to quote on a
 * shared machine, and their digests must be equal.
 *
 * Environment: BENCH_DB, BENCH_PAGES (pages per question, 400), BENCH_SEED (2024),
 * BENCH_ONLY=documents|sessions|timeline, BENCH_COMPARE, BENCH_THIS (this version from a checkout too),
 * BENCH_COMPARE_DB (the other version's own read-model file, when the layouts differ: each on its
 * rebuilt copy of the record), timeline: the organization's timeline from the day drawn (its
 * page as objects serialized),
 * BENCH_CACHE_KIB (SQLite's page cache of each version's connection, 65,536; a read worker's is 131,072;
 * BENCH_COMPARE_CACHE_KIB the other version's alone), BENCH_MMAP_MIB and BENCH_COMPARE_MMAP_MIB (this / the other
 * version's connection reads the file through a memory map of that many MiB, PRAGMA mmap_size; 0, none, by default),
 * BENCH_KNOWN_MS=n (each knownAt drawn from the recording's first n ms only, e.g. 1000: the timeline's
 * first-second pages, where few rows are known),
 * BENCH_LIMIT_DOCUMENTS / _SESSIONS and BENCH_COMPARE_LIMIT_… (pages of another size), BENCH_SLOWEST=n (the n dearest questions), BENCH_STATEMENTS=1 (also the CPU time of
 * each statement of this version, summed over the run: CPU, since the machine is shared).
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { QueryContext } from '../projections/query-context.js';
import { prng } from '../test/fixtures/history.js';
import { DEFAULT_PAGE as DOCUMENTS_PAGE, SESSIONS_PAGE } from '../src/http/paging.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const PAGES = Number(process.env['BENCH_PAGES'] ?? 400);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const SLICE = 20;

type Paged = { items: unknown[]; next: readonly string[] | null } | null;
interface Reads {
  documents(org: string, k: string, validAt: string | undefined, page: { after: readonly string[] | null; limit: number }): Paged;
  sessions(org: string, k: string, validAt: string | undefined, page: { after: readonly string[] | null; limit: number }): Paged;
  timeline(org: string, k: string, window: { from?: string }, page: { after: readonly string[] | null; limit: number }): { page: Paged } | null;
  /** A version whose worker takes items as JSON text written by SQLite (queries.ts itemsJson). */
  itemsJson?(method: string, args: readonly unknown[]): { value: { next: readonly string[] | null } | null; items: string[] } | null;
  invalidate(): void;
}

/**
 * A page as a read worker hands it over (read-worker.ts): the items' JSON texts (from
 * itemsJson, or each item serialized: sessions without `more`, which goes apart) and the
 * `more`s, and the next key.
 */
function asWorker(reads: Reads, list: 'documents' | 'sessions' | 'timeline', args: [string, string, string | undefined, { after: readonly string[] | null; limit: number }]): { text: string; more: string; next: readonly string[] | null; items: number } {
  if (list === 'timeline') {
    const page = reads.timeline(args[0], args[1], args[2] === undefined ? {} : { from: args[2] }, args[3])?.page ?? null;
    return { text: page ? JSON.stringify(page.items) : 'null', more: '[]', next: page?.next ?? null, items: page?.items.length ?? 0 };
  }
  const text = reads.itemsJson?.(list, args);
  if (text) return { text: `[${text.items.join(',')}]`, more: '[]', next: text.value?.next ?? null, items: text.items.length };
  const page = reads[list](...args);
  const items = (page?.items ?? []) as { more?: unknown }[];
  if (list === 'documents') return { text: page ? JSON.stringify(items) : 'null', more: '[]', next: page?.next ?? null, items: items.length };
  const texts: string[] = [];
  const more: unknown[] = [];
  for (const item of items) {
    const { more: m, ...rest } = item;
    texts.push(JSON.stringify(rest));
    if (m !== undefined) more.push(m);
  }
  return { text: page ? `[${texts.join(',')}]` : 'null', more: JSON.stringify(more), next: page?.next ?? null, items: items.length };
}

function open(Queries: new (db: Database.Database, shared?: boolean, snapshotMs?: number) => Reads, file: string, mmapMib: number, cacheKib: number): Reads {
  const db = new Database(file, { readonly: true });
  db.pragma(`cache_size = -${cacheKib}`);
  if (mmapMib > 0) db.pragma(`mmap_size = ${mmapMib * 1_048_576}`);
  return new Queries(db, false, 60_000);
}

type Loaded = { ReadQueries: new (db: Database.Database, shared?: boolean, snapshotMs?: number) => Reads; QueryContext: typeof QueryContext };
const load = async (dir: string): Promise<Loaded> => ({
  ReadQueries: ((await import(pathToFileURL(resolve(dir, 'projections/queries.ts')).href)) as Loaded).ReadQueries,
  QueryContext: ((await import(pathToFileURL(resolve(dir, 'projections/query-context.ts')).href)) as Loaded).QueryContext,
});
// BENCH_THIS=<a checkout>: this version loaded as the other is (a module loaded first, statically, ran ~5% slower than the same code loaded after it).
const mine: Loaded = process.env['BENCH_THIS'] ? await load(process.env['BENCH_THIS']) : { ReadQueries: ReadQueries as unknown as Loaded['ReadQueries'], QueryContext };
const other = process.env['BENCH_COMPARE'];
const theirs = other ? await load(other) : null;
const env = (name: string, otherwise: number): number => Number(process.env[name] ?? otherwise);
const cacheKib = env('BENCH_CACHE_KIB', 65_536);
const versions: { name: string; reads: Reads }[] = [{ name: 'this', reads: open(mine.ReadQueries, path as string, env('BENCH_MMAP_MIB', 0), cacheKib) }];
if (theirs) versions.push({ name: 'compare', reads: open(theirs.ReadQueries, process.env['BENCH_COMPARE_DB'] ?? (path as string), env('BENCH_COMPARE_MMAP_MIB', 0), env('BENCH_COMPARE_CACHE_KIB', cacheKib)) });

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const statements = new Map<string, { n: number; ms: number; ids: number }>();
/** Times every statement of a version's QueryContext (BENCH_STATEMENTS). */
function timeStatements(Context: typeof QueryContext, version: string): void {
  for (const m of ['all', 'get'] as const) {
    const original = Context.prototype[m] as (this: QueryContext, sql: string, p: Record<string, unknown>) => unknown;
    Object.defineProperty(Context.prototype, m, {
      value(this: QueryContext, sql: string, p: Record<string, unknown>): unknown {
        const t0 = cpu();
        const r = original.call(this, sql, p);
        const key = `${version}: ${sql.replace(/\s+/g, ' ')}`;
        const a = statements.get(key) ?? { n: 0, ms: 0, ids: 0 };
        a.n += 1;
        a.ms += cpu() - t0;
        const ids = p['ids'] ?? p['s'];
        if (typeof ids === 'string') a.ids += (JSON.parse(ids) as unknown[]).length;
        statements.set(key, a);
        return r;
      },
    });
  }
}
if (process.env['BENCH_STATEMENTS']) {
  timeStatements(mine.QueryContext, 'this');
  if (theirs) timeStatements(theirs.QueryContext, 'compare');
}

const probe = new Database(path, { readonly: true });
const [from, to] = probe.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
probe.close();
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const k0 = Date.parse(from);
const kn = process.env['BENCH_KNOWN_MS'] ? Math.min(Date.parse(to), k0 + Number(process.env['BENCH_KNOWN_MS'])) : Date.parse(to);
/** The questions, the same for every version. */
function questions(n: number): { k: string; v: string }[] {
  const rnd = prng(SEED);
  return Array.from({ length: n }, () => ({ v: new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10), k: new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString() }));
}


/** Each list at its route's default page, or BENCH_LIMIT_<LIST> (BENCH_COMPARE_LIMIT_<LIST> for the other version: e.g. a default page before and after). */
const LISTS = { documents: DOCUMENTS_PAGE, sessions: SESSIONS_PAGE, timeline: DOCUMENTS_PAGE } as const;
const limitOf = (version: string, list: keyof typeof LISTS): number => Number(process.env[`BENCH_${version === 'compare' ? 'COMPARE_' : ''}LIMIT_${list.toUpperCase()}`] ?? LISTS[list]);
type List = keyof typeof LISTS;
const only = process.env['BENCH_ONLY'];
const lists = (Object.keys(LISTS) as List[]).filter((l) => (only ? l === only : l !== 'timeline'));
const asked = questions(PAGES);
const stats = new Map(versions.flatMap((ver) => lists.map((l) => [`${l} ${ver.name}`, { cpu: [] as number[], asked: [] as number[], items: 0, bytes: 0, digest: createHash('sha256') }])));
const SLOWEST = Number(process.env['BENCH_SLOWEST'] ?? 0);
console.log(`read models ${path}; knownAt ${from}..${to}; ${PAGES} pages a question${other ? `, alternating with ${other}` : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (let done = 0; done < PAGES; done += SLICE) {
  for (const list of lists) {
    // Each version first in every other slice: the second asks what the first just read.
    for (const ver of (done / SLICE) % 2 ? [...versions].reverse() : versions) {
      const s = stats.get(`${list} ${ver.name}`) as NonNullable<ReturnType<typeof stats.get>>;
      const ask = (k: string, v: string, after: readonly string[] | null) => asWorker(ver.reads, list, ['org', k, v, { after, limit: limitOf(ver.name, list) }]);
      for (let i = done; i < Math.min(PAGES, done + SLICE); i++) {
        const { k, v } = asked[i] as { k: string; v: string };
        // A new snapshot for each page, as a worker's after events are applied.
        ver.reads.invalidate();
        const t0 = cpu();
        const page = ask(k, v, null);
        s.cpu.push(cpu() - t0);
        s.asked.push(i);
        // A page of documents may come as runs of items (documents/queries.ts singlePage): counted in its text, after the timing.
        s.items += list === 'documents' ? (page.text === 'null' || page.text === '[]' ? 0 : page.text.split(',{"id":"').length) : page.items;
        s.bytes += page.text.length;
        s.digest.update(`${k} ${v} ${page.text} ${page.more} ${JSON.stringify(page.next)}\n`);
        if (i % 4 === 0 && page.next) {
          const second = ask(k, v, page.next);
          s.digest.update(`${second.text} ${second.more} ${JSON.stringify(second.next)}\n`);
        }
      }
    }
  }
}
const means = new Map<string, number>();
for (const [name, s] of stats) {
  const sorted = [...s.cpu].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  means.set(name, mean);
  console.log(`${name.padEnd(18)} CPU per page: p50 ${q(0.5).toFixed(2)} ms, mean ${mean.toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms; ${(s.items / sorted.length).toFixed(1)} items, ${Math.round(s.bytes / sorted.length)} B a page; answers digest ${s.digest.digest('hex').slice(0, 16)}`);
}
// BENCH_SLOWEST=n: the n dearest questions of each list and version (its knownAt, validAt, CPU, items).
if (SLOWEST)
  for (const [name, s] of stats) {
    const order = s.cpu.map((c, j) => j).sort((x, y) => (s.cpu[y] as number) - (s.cpu[x] as number));
    for (const j of order.slice(0, SLOWEST)) {
      const { k, v } = asked[s.asked[j] as number] as { k: string; v: string };
      console.log(`  ${name} slowest: ${(s.cpu[j] as number).toFixed(2)} ms  knownAt ${k} validAt ${v}`);
    }
  }
if (other) for (const list of lists) console.log(`${list}: this / compare CPU per page (means) ${((means.get(`${list} this`) as number) / (means.get(`${list} compare`) as number)).toFixed(2)}`);
for (const [sql, a] of [...statements].sort((x, y) => y[1].ms - x[1].ms)) console.log(`${a.ms.toFixed(0).padStart(6)} ms ${String(a.n).padStart(6)} × ${((a.ms / a.n) * 1000).toFixed(0).padStart(5)} µs ${a.ids ? `${(a.ids / a.n).toFixed(0).padStart(4)} ids` : '        '}  ${sql.slice(0, 220)}`);
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
