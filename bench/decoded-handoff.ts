/**
 * What a decoded batch costs to cross from the rebuild's decoding thread to the applying one
 * (`node --import tsx bench/decoded-handoff.ts`, BENCH_DIR=<a data dir's copy>, read only):
 * BENCH_EVENTS events (default 200,000, from BENCH_OFFSET, default 300,000) decoded into
 * batches of 1,000 as rebuild-thread.ts cuts them, then, in alternating slices, each batch's
 * cells (`clone`) structured-cloned as they are (v8.serialize on one side, v8.deserialize and
 * every cell read on the other: what postMessage does), against the same packed by
 * bench/handoff-pack.ts (`hash`, `map`: each distinct string once, the cells' codes and numbers
 * in typed arrays, not timed as copied since postMessage transfers them; packed and the rest
 * serialized, then deserialized and every cell read). Each slice decodes its events afresh,
 * untimed: new strings, as the decoding thread hands them over. µs of CPU an event, each side
 * apart and both; medians of BENCH_ROUNDS (default 6). The cells read back must equal the
 * decoded ones. (Session 43, s43-dc: no variant was cheaper on both sides together.)
 */
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import { decodeSettings, load } from './decode-settings.js';
import type { EventRow } from '../src/store/sqlite-rows.js';
import { rowToEvent } from '../src/store/sqlite-rows.js';
import { BULK_TABLES, decodeEvent } from '../projections/bulk-rows.js';
import { CellPacker, CellReader } from './handoff-pack.js';
import { InlinePacker, unpackInline, type Inline } from './handoff-inline.js';
import type { Cell } from '../projections/types.js';

const { dir, events: EVENTS, offset: OFFSET, rounds: ROUNDS } = decodeSettings();

const db = new Database(join(dir, 'events.db'), { readonly: true });
const rows = db.prepare('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events ORDER BY position LIMIT ? OFFSET ?').raw().all(EVENTS, OFFSET) as EventRow[];
db.close();
/** The events decoded afresh (untimed): new strings, as the thread hands over (not yet flattened or hashed). */
const decodeAll = (): { tables: Cell[][]; facts: Cell[] }[] => {
  const out: { tables: Cell[][]; facts: Cell[] }[] = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const tables: Cell[][] = BULK_TABLES.map(() => []);
    const facts: Cell[] = [];
    for (let j = i; j < Math.min(rows.length, i + 1000); j++) decodeEvent(rowToEvent(rows[j] as EventRow) as never, tables, facts);
    out.push({ tables, facts });
  }
  return out;
};
let batches = decodeAll();
let cells = 0;
let strings = 0;
for (const b of batches) for (const t of [...b.tables, b.facts]) for (const c of t) (cells++, typeof c === 'string' && strings++);
console.log(`${rows.length} events (from ${OFFSET}) in ${batches.length} batches: ${cells} cells, ${strings} strings, ${(cells / rows.length).toFixed(1)} an event; load average ${load()}`);

let sink = 0;
const read = (tables: readonly Cell[][], facts: readonly Cell[]): void => {
  for (const t of [...tables, facts]) for (let i = 0; i < t.length; i++) if (t[i] !== null) sink++;
};
const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** µs an event: [the sending side, the receiving side]. */
const clone = (): [number, number] => {
  batches = decodeAll();
  const t0 = cpu();
  const out = batches.map((b) => serialize({ kind: 'rows', tables: b.tables, facts: b.facts }));
  const t1 = cpu();
  for (const o of out) {
    const b = deserialize(o) as { tables: Cell[][]; facts: Cell[] };
    read(b.tables, b.facts);
  }
  const t2 = cpu();
  return [(t1 - t0) / rows.length, (t2 - t1) / rows.length];
};
const packed = (dedup: 'hash' | 'map'): [number, number] => {
  batches = decodeAll();
  const t0 = cpu();
  const packer = new CellPacker(dedup);
  const out = batches.map((b) => {
    const lengths = packer.add([...b.tables, b.facts]);
    const p = packer.take();
    // The buffers are transferred (not copied) by postMessage; the rest is cloned.
    return { p, lengths, bytes: serialize({ lengths, strings: p.strings, others: p.others }) };
  });
  const t1 = cpu();
  for (const { p, bytes } of out) {
    const q = deserialize(bytes) as { lengths: number[]; strings: string[]; others: unknown[] };
    const r = new CellReader({ ...q, codes: p.codes, nums: p.nums });
    const u = q.lengths.map((l) => r.next(l));
    read(u.slice(0, -1), u.at(-1) as Cell[]);
  }
  const t2 = cpu();
  return [(t1 - t0) / rows.length, (t2 - t1) / rows.length];
};
// Equal cells first.
for (const b of batches) {
  const packer = new CellPacker();
  const lengths = packer.add([...b.tables, b.facts]);
  const r = new CellReader(packer.take());
  const u = lengths.map((l) => r.next(l));
  const same = (x: readonly Cell[], y: readonly Cell[]): boolean => x.length === y.length && x.every((c, i) => Object.is(c, y[i]));
  if (!same(u.at(-1) as Cell[], b.facts) || !b.tables.every((t, i) => same(t, u[i] as Cell[]))) throw new Error('packed cells differ');
}
if (process.env['BENCH_INLINE'] === '1') {
  // The decoding timed too: `inline` decodes each event straight into the packed form (bench/handoff-inline.ts).
  const events = rows.map((r) => r);
  const cloneDecoding = (): [number, number] => {
    const t0 = cpu();
    const out: Buffer[] = [];
    for (let i = 0; i < events.length; i += 1000) {
      const tables: Cell[][] = BULK_TABLES.map(() => []);
      const facts: Cell[] = [];
      for (let j = i; j < Math.min(events.length, i + 1000); j++) decodeEvent(rowToEvent(events[j] as EventRow) as never, tables, facts);
      out.push(serialize({ kind: 'rows', tables, facts }));
    }
    const t1 = cpu();
    for (const o of out) {
      const b = deserialize(o) as { tables: Cell[][]; facts: Cell[] };
      read(b.tables, b.facts);
    }
    return [(t1 - t0) / rows.length, (cpu() - t1) / rows.length];
  };
  const inlineDecoding = (): [number, number] => {
    const t0 = cpu();
    const packer = new InlinePacker();
    const out: { p: Inline; bytes: Buffer }[] = [];
    for (let i = 0; i < events.length; i += 1000) {
      for (let j = i; j < Math.min(events.length, i + 1000); j++) packer.decode(rowToEvent(events[j] as EventRow) as never);
      const p = packer.take();
      out.push({ p, bytes: serialize({ lengths: p.lengths, strings: p.strings, others: p.others }) });
    }
    const t1 = cpu();
    for (const { p, bytes } of out) {
      const q = deserialize(bytes) as Pick<Inline, 'lengths' | 'strings' | 'others'>;
      const u = unpackInline({ ...q, codes: p.codes, nums: p.nums });
      read(u.slice(0, -1), u.at(-1) as Cell[]);
    }
    return [(t1 - t0) / rows.length, (cpu() - t1) / rows.length];
  };
  {
    const packer = new InlinePacker();
    for (const [i, b] of batches.entries()) {
      for (let j = i * 1000; j < Math.min(rows.length, i * 1000 + 1000); j++) packer.decode(rowToEvent(rows[j] as EventRow) as never);
      const u = unpackInline(packer.take());
      const same = (x: readonly Cell[], y: readonly Cell[]): boolean => x.length === y.length && x.every((c, k) => Object.is(c, y[k]));
      if (!same(u.at(-1) as Cell[], b.facts) || !b.tables.every((t, k) => same(t, u[k] as Cell[]))) throw new Error(`inline cells differ in batch ${i}`);
    }
  }
  cloneDecoding();
  inlineDecoding();
  const got: Record<'clone' | 'inline', [number, number][]> = { clone: [], inline: [] };
  for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 === 0 ? (['clone', 'inline'] as const) : (['inline', 'clone'] as const)) got[k].push(k === 'clone' ? cloneDecoding() : inlineDecoding());
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
  for (const k of ['clone', 'inline'] as const)
    console.log(`${k} (decoding included): sending ${median(got[k].map((x) => x[0])).toFixed(2)} µs an event, receiving ${median(got[k].map((x) => x[1])).toFixed(2)}, both ${median(got[k].map((x) => x[0] + x[1])).toFixed(2)} (medians of ${ROUNDS}; ${got[k].map((x) => (x[0] + x[1]).toFixed(1)).join(' ')})`);
  console.log(`load average ${load()}`);
  process.exit(0);
}
const VARIANTS = ['clone', 'hash', 'map'] as const;
const run = (k: (typeof VARIANTS)[number]): [number, number] => (k === 'clone' ? clone() : packed(k));
for (const k of VARIANTS) run(k);
const got: Record<(typeof VARIANTS)[number], [number, number][]> = { clone: [], hash: [], map: [] };
for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) got[k].push(run(k));
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[xs.length >> 1] as number;
for (const k of VARIANTS)
  console.log(`${k}: sending ${median(got[k].map((x) => x[0])).toFixed(2)} µs an event, receiving ${median(got[k].map((x) => x[1])).toFixed(2)}, both ${median(got[k].map((x) => x[0] + x[1])).toFixed(2)} (medians of ${ROUNDS})`);
console.log(`load average ${load()} ${sink > 0 ? '' : '.'}`);
