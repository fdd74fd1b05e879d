/**
 * A rebuild's decoding alone (`node --import tsx bench/decode-cpu.ts`, BENCH_DIR=<a data dir's
 * copy>, read only): BENCH_EVENTS events of its log (default 200,000, from BENCH_OFFSET,
 * default 300,000) read as raw rows once, then each event made from its row and decoded into
 * its rows' cells as the rebuild's decoding thread does (rebuild-thread.ts: rowToEvent, then
 * decodeEvent, batches of 1,000), by this worktree's code (B) and BENCH_ROOT's (A), in
 * alternating slices: µs of CPU an event (this process, all threads: V8's collector helpers
 * included), medians of BENCH_ROUNDS (default 6). Before timing, both decode every event
 * (BENCH_CHECK_ALL=1: the whole log, in pages) and their cells must be equal, value for value.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { decodeSettings, load } from './decode-settings.js';
import type { EventRow } from '../src/store/sqlite-rows.js';
import type { Cell } from '../projections/types.js';

const { dir, events: EVENTS, offset: OFFSET, rounds: ROUNDS } = decodeSettings();

type Decode = (e: unknown, tables: Cell[][], facts: Cell[]) => { kind: string };
interface Code {
  rowToEvent: (r: EventRow) => unknown;
  decodeEvent: Decode;
  tables: number;
}
const codeOf = async (root: string): Promise<Code> => {
  const rows = (await import(pathToFileURL(join(root, 'src/store/sqlite-rows.ts')).href)) as { rowToEvent: Code['rowToEvent'] };
  const bulk = (await import(pathToFileURL(join(root, 'projections/bulk-rows.ts')).href)) as { decodeEvent: Decode; BULK_TABLES: unknown[] };
  return { rowToEvent: rows.rowToEvent, decodeEvent: bulk.decodeEvent, tables: bulk.BULK_TABLES.length };
};
const here = resolve(new URL('..', import.meta.url).pathname);
const B = await codeOf(here);
const A = process.env['BENCH_ROOT'] ? await codeOf(resolve(process.env['BENCH_ROOT'])) : B;

/** Every event of `rows` decoded, in batches of 1,000 as the decoding thread cuts them: what each batch holds. */
const decodeAll = (c: Code, rows: readonly EventRow[]): { tables: Cell[][]; facts: Cell[]; kinds: string[] }[] => {
  const out = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const tables: Cell[][] = Array.from({ length: c.tables }, () => []);
    const facts: Cell[] = [];
    const kinds: string[] = [];
    for (let j = i; j < Math.min(rows.length, i + 1000); j++) kinds.push(c.decodeEvent(c.rowToEvent(rows[j] as EventRow), tables, facts).kind);
    out.push({ tables, facts, kinds });
  }
  return out;
};
const same = (a: unknown, b: unknown): boolean => Object.is(a, b) || (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i])));

const db = new Database(join(dir, 'events.db'), { readonly: true });
const page = db.prepare('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT ?').raw();
// The cells must be equal: the whole log when asked, else the events timed.
let checked = 0;
for (let after = process.env['BENCH_CHECK_ALL'] === '1' ? 0 : -1; after >= 0; ) {
  const rows = page.all(after, 20_000) as EventRow[];
  if (rows.length === 0) break;
  after = (rows.at(-1) as EventRow)[0];
  const a = decodeAll(A, rows);
  const b = decodeAll(B, rows);
  a.forEach((x, i) => {
    const y = b[i] as (typeof b)[number];
    if (!same(x.facts, y.facts) || !same(x.kinds, y.kinds) || !x.tables.every((t, k) => same(t, y.tables[k]))) throw new Error(`batch ${i} after position ${after} differs`);
  });
  checked += rows.length;
}
const rows = db.prepare('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events ORDER BY position LIMIT ? OFFSET ?').raw().all(EVENTS, OFFSET) as EventRow[];
db.close();
decodeAll(A, rows).forEach((x, i) => {
  const y = decodeAll(B, rows.slice(i * 1000, i * 1000 + 1000))[0] as { tables: Cell[][]; facts: Cell[]; kinds: string[] };
  if (!same(x.facts, y.facts) || !same(x.kinds, y.kinds) || !x.tables.every((t, k) => same(t, y.tables[k]))) throw new Error(`batch ${i} of the timed events differs`);
});
console.log(`decoding ${rows.length} events (from ${OFFSET}); cells equal (${checked > 0 ? `${checked} events of the whole log, and ` : ''}the events timed); load average ${load()}`);
const slice = (c: Code): number => {
  const t = process.cpuUsage();
  decodeAll(c, rows);
  const d = process.cpuUsage(t);
  return (d.user + d.system) / rows.length;
};
slice(A);
slice(B);
const got: Record<'A' | 'B', number[]> = { A: [], B: [] };
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) got[k].push(slice(k === 'A' ? A : B));
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
console.log(`µs of CPU an event (median of ${ROUNDS}): A ${median(got.A).toFixed(2)} (${got.A.map((x) => x.toFixed(2)).join(' ')}), B ${median(got.B).toFixed(2)} (${got.B.map((x) => x.toFixed(2)).join(' ')}); B/A ${(median(got.B) / median(got.A)).toFixed(3)}; load average ${load()}`);
