/**
 * Prototype (session 43, s43-dc, measured by bench/decoded-handoff.ts BENCH_INLINE=1; not used by
 * the rebuild): bulk-rows.ts decodeEvent writing each cell straight into a packed form (each
 * table's cell codes and numbers in typed arrays, the batch's distinct strings once by
 * handoff-pack.ts's cheap hash) instead of Cell[] arrays packed or cloned afterwards.
 */
import { isAmendmentType, isFactType } from '../events/index.js';
import { BULK_TABLES, checkCell, factVersionOf, projectionsOf, type FactMeta } from '../projections/bulk-rows.js';
import type { LogEvent } from '../projections/db.js';
import type { Cell, Projection } from '../projections/types.js';

const NULL = -1;
const NUMBER = -2;
const OTHER = -3;
const SEEN = 4096;
const tableIndex = new Map(BULK_TABLES.map((t, i) => [t.name, i]));
const FACTS = BULK_TABLES.length;

export interface Inline {
  readonly strings: readonly string[];
  /** Each table's cells (then the facts'), one after the other: how many each. */
  readonly lengths: readonly number[];
  readonly codes: Int32Array;
  readonly nums: Float64Array;
  readonly others: readonly unknown[];
}

class Column {
  codes = new Int32Array(1024);
  nums = new Float64Array(256);
  c = 0;
  n = 0;
}

export class InlinePacker {
  private readonly cols = Array.from({ length: FACTS + 1 }, () => new Column());
  private strings: string[] = [];
  private readonly seen: (string | undefined)[] = new Array(SEEN).fill(undefined);
  private readonly seenIds = new Int32Array(SEEN);
  private others: unknown[] = [];
  private facts = 0;

  private put(col: Column, v: unknown): void {
    if (col.c === col.codes.length) {
      const b = new Int32Array(col.codes.length * 2);
      b.set(col.codes);
      col.codes = b;
    }
    if (typeof v === 'string') {
      const l = v.length;
      const h = l === 0 ? 0 : (l * 31 + v.charCodeAt(l - 1) * 131 + v.charCodeAt(l >> 1) * 7 + v.charCodeAt(l - 2)) & (SEEN - 1);
      if (this.seen[h] === v) col.codes[col.c++] = this.seenIds[h] as number;
      else {
        this.seen[h] = v;
        this.seenIds[h] = this.strings.length;
        col.codes[col.c++] = this.strings.length;
        this.strings.push(v);
      }
    } else if (typeof v === 'number') {
      if (col.n === col.nums.length) {
        const b = new Float64Array(col.nums.length * 2);
        b.set(col.nums);
        col.nums = b;
      }
      col.nums[col.n++] = v;
      col.codes[col.c++] = NUMBER;
    } else if (v == null) col.codes[col.c++] = NULL;
    else {
      this.others.push(v);
      col.codes[col.c++] = OTHER;
    }
  }

  /** As bulk-rows.ts decodeEvent, the kinds only. */
  decode(e: LogEvent): string {
    if (!isFactType(e.type)) return 'done';
    if (isAmendmentType(e.type)) return 'amendment';
    const meta = e.metadata as FactMeta;
    const factId = meta.factId ?? null;
    try {
      const v = factVersionOf(e.type, e, meta);
      const projections = projectionsOf(v.type);
      const writes = projections.length === 1 ? (projections[0] as Projection).evolve(v) : projections.flatMap((p) => p.evolve(v));
      for (const w of writes) if (!tableIndex.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
      const marks: [number, number, number][] = [];
      try {
        for (const w of writes) {
          const i = tableIndex.get(w.table) as number;
          const col = this.cols[i] as Column;
          marks.push([i, col.c, col.n]);
          this.put(col, this.facts);
          const columns = BULK_TABLES[i]!.columns;
          const row = w.row;
          for (let c = 0; c < columns.length; c++) {
            const x = row[columns[c] as string];
            checkCell(x);
            this.put(col, x);
          }
        }
      } catch (err) {
        for (let j = marks.length - 1; j >= 0; j--) {
          const [i, c, n] = marks[j] as [number, number, number];
          (this.cols[i] as Column).c = c;
          (this.cols[i] as Column).n = n;
        }
        throw err;
      }
    } catch {
      return 'park';
    }
    const f = this.cols[FACTS] as Column;
    for (const x of [factId, e.type, e.position, e.stream, e.revision, e.recordedAt]) this.put(f, x);
    this.facts++;
    return 'done';
  }

  take(): Inline {
    let c = 0;
    let n = 0;
    for (const col of this.cols) (c += col.c), (n += col.n);
    const codes = new Int32Array(c);
    const nums = new Float64Array(n);
    const lengths: number[] = [];
    c = 0;
    n = 0;
    for (const col of this.cols) {
      codes.set(col.codes.subarray(0, col.c), c);
      nums.set(col.nums.subarray(0, col.n), n);
      c += col.c;
      n += col.n;
      lengths.push(col.c);
      col.c = 0;
      col.n = 0;
    }
    const p: Inline = { strings: this.strings, lengths, codes, nums, others: this.others };
    this.strings = [];
    this.others = [];
    this.seen.fill(undefined);
    this.facts = 0;
    return p;
  }
}

/** The packed cells back as each table's Cell[] (then the facts'). */
export function unpackInline(p: Inline): Cell[][] {
  const out: Cell[][] = [];
  let c = 0;
  let n = 0;
  let o = 0;
  for (const length of p.lengths) {
    const a: Cell[] = [];
    for (const end = c + length; c < end; c++) {
      const code = p.codes[c] as number;
      if (code >= 0) a.push(p.strings[code] as string);
      else if (code === NULL) a.push(null);
      else if (code === NUMBER) a.push(p.nums[n++] as number);
      else a.push(p.others[o++] as Cell);
    }
    out.push(a);
  }
  return out;
}
