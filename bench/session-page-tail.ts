/**
 * What sets the tail of a page of sessions (#12: s35-sv's stored texts gave +31% pages/s at 32
 * connections and no better p99): `node --import tsx bench/session-page-tail.ts` with
 * BENCH_DB=<a readmodels.db> (read-only), optionally BENCH_COMPARE=<another checkout> and
 * BENCH_COMPARE_DB=<its rebuilt copy>. Asks bench:page-cpu's questions (organization `org`, a
 * day and a knownAt drawn with BENCH_SEED, the first page), each BENCH_REPS times alternating
 * the versions, and keeps each page's least CPU (the machine is shared: the least is the page's
 * own cost). Prints per version the distribution (p50, p90, p99, max, the dearest 1%'s share
 * of all the CPU), what the dearest 1% of pages hold against the median page (sessions,
 * attendees, reports, documents, talks, bytes, a list past the nested limit), and a closed-loop
 * queue of BENCH_CLIENTS (32) clients served first come, first served by one worker whose page
 * costs are drawn from the measured ones: the p50 and p99 of the wait plus the page, in units of
 * the mean page, to tell whether the distribution alone explains a p99.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { prng } from '../test/fixtures/history.js';
import { SESSIONS_PAGE } from '../src/http/paging.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<path to a readmodels.db> is required (opened read-only)');
const PAGES = Number(process.env['BENCH_PAGES'] ?? 600);
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 32);

interface Reads {
  sessions(org: string, k: string, v: string, page: { after: null; limit: number }): { items: unknown[] } | null;
  itemsJson?(method: string, args: readonly unknown[]): { items: string[] } | null;
  invalidate(): void;
}
type Ctor = new (db: Database.Database, shared?: boolean, snapshotMs?: number) => Reads;
const open = (Q: Ctor, file: string): Reads => {
  const db = new Database(file, { readonly: true });
  db.pragma('cache_size = -131072');
  return new Q(db, false, 60_000);
};
const versions: { name: string; reads: Reads }[] = [{ name: 'this', reads: open(ReadQueries as unknown as Ctor, path) }];
const other = process.env['BENCH_COMPARE'];
if (other) {
  const Q = ((await import(pathToFileURL(resolve(other, 'projections/queries.ts')).href)) as { ReadQueries: Ctor }).ReadQueries;
  versions.push({ name: 'compare', reads: open(Q, process.env['BENCH_COMPARE_DB'] ?? path) });
}
/** A page as a worker sends it: SQLite's text, or (a list past the nested limit) the objects serialized. */
function page(r: Reads, k: string, v: string): { text: string; js: boolean } {
  const args = ['org', k, v, { after: null, limit: SESSIONS_PAGE }] as const;
  const t = r.itemsJson?.('sessions', args);
  if (t) return { text: `[${t.items.join(',')}]`, js: false };
  return { text: JSON.stringify(r.sessions(...args)?.items ?? []), js: true };
}
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const probe = new Database(path, { readonly: true });
const [from, to] = probe.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
probe.close();
const rnd = prng(SEED);
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const k0 = Date.parse(from);
const kn = Date.parse(to);
// As bench/page-cpu.ts draws them.
const asked = Array.from({ length: PAGES }, () => ({ v: new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10), k: new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString() }));
console.log(`${PAGES} first pages of sessions, each the least of ${REPS} runs${other ? `, alternating with ${other}` : ''}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const best = versions.map(() => asked.map(() => Infinity));
const shape = versions.map(() => asked.map(() => ({ sessions: 0, attendees: 0, reports: 0, documents: 0, talks: 0, bytes: 0, js: false })));
for (let rep = 0; rep < REPS; rep++) {
  asked.forEach(({ k, v }, i) => {
    const order = (rep + i) % 2 ? [...versions.keys()].reverse() : [...versions.keys()];
    for (const n of order) {
      const r = (versions[n] as { reads: Reads }).reads;
      r.invalidate();
      const t0 = cpu();
      const p = page(r, k, v);
      const c = cpu() - t0;
      if (c < (best[n] as number[])[i]!) (best[n] as number[])[i] = c;
      if (rep === 0) {
        const items = JSON.parse(p.text) as { attendees?: unknown[]; reports?: unknown[]; documents?: unknown[]; talks?: unknown[] }[];
        const s = (shape[n] as ReturnType<typeof shape.at> & object)[i] as (typeof shape)[0][0];
        s.sessions = items.length;
        for (const it of items) {
          s.attendees += it.attendees?.length ?? 0;
          s.reports += it.reports?.length ?? 0;
          s.documents += it.documents?.length ?? 0;
          s.talks += it.talks?.length ?? 0;
        }
        s.bytes = p.text.length;
        s.js = p.js;
      }
    }
  });
}
const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] as number;
versions.forEach((ver, n) => {
  const c = best[n] as number[];
  const sum = c.reduce((a, b) => a + b, 0);
  const order = c.map((_, i) => i).sort((a, b) => (c[b] as number) - (c[a] as number));
  const top = order.slice(0, Math.max(1, Math.floor(c.length / 100)));
  const mid = order.slice(Math.floor(c.length * 0.45), Math.floor(c.length * 0.55));
  const avg = (is: number[], f: (s: (typeof shape)[0][0]) => number): string => (is.reduce((a, i) => a + f((shape[n] as (typeof shape)[0])[i] as (typeof shape)[0][0]), 0) / is.length).toFixed(1);
  const describe = (is: number[]): string => `CPU ${(is.reduce((a, i) => a + (c[i] as number), 0) / is.length).toFixed(2)} ms; sessions ${avg(is, (s) => s.sessions)}, attendees ${avg(is, (s) => s.attendees)}, reports ${avg(is, (s) => s.reports)}, documents ${avg(is, (s) => s.documents)}, talks ${avg(is, (s) => s.talks)}, ${avg(is, (s) => s.bytes / 1000)} kB, rendered in JS ${avg(is, (s) => (s.js ? 100 : 0))}%`;
  console.log(`${ver.name}: CPU a page p50 ${q(c, 0.5).toFixed(2)}, p90 ${q(c, 0.9).toFixed(2)}, p99 ${q(c, 0.99).toFixed(2)}, max ${Math.max(...c).toFixed(2)} ms, mean ${(sum / c.length).toFixed(2)}; the dearest 1% of pages take ${((100 * top.reduce((a, i) => a + (c[i] as number), 0)) / sum).toFixed(1)}% of the CPU, the dearest 10% ${((100 * order.slice(0, c.length / 10).reduce((a, i) => a + (c[i] as number), 0)) / sum).toFixed(1)}%`);
  console.log(`  the dearest 1% (${top.length} pages): ${describe(top)}`);
  console.log(`  the middle 10% (${mid.length} pages): ${describe(mid)}`);
  // A closed loop: CLIENTS clients each asking again as soon as answered, one worker first come, first served.
  const r = prng(SEED + 1);
  const lat: number[] = [];
  const queue: number[] = [];
  let now = 0;
  for (let i = 0; i < CLIENTS; i++) queue.push(0);
  for (let done = 0; done < 200_000; done++) {
    const askedAt = queue.shift() as number;
    const s = c[Math.floor(r() * c.length)] as number;
    now = Math.max(now, askedAt) + s;
    lat.push(now - askedAt);
    queue.push(now);
  }
  const mean = sum / c.length;
  console.log(`  a closed loop of ${CLIENTS} clients on one worker with these costs: latency p50 ${(q(lat, 0.5) / mean).toFixed(1)}, p99 ${(q(lat, 0.99) / mean).toFixed(1)} mean pages (${q(lat, 0.5).toFixed(1)} and ${q(lat, 0.99).toFixed(1)} ms of this worker's CPU alone)`);
});
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
