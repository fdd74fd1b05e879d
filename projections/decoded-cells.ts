/**
 * A decoded batch's cells as they cross from the rebuild's decoding thread to the applying one:
 * bulk-rows.ts decodeEvent writes each cell here as it makes it (rebuild-thread.ts), and db.ts
 * applyDecoded reads them back (CellReader). Each distinct string of a batch is sent once (its
 * ~19 string cells an event are ~6.4 distinct strings: sources, types, dates, ids named again
 * and again), every cell is a code in an Int32Array and the numbers sit in a Float64Array, both
 * transferred: a structured clone of the cells as arrays wrote and read back each one (session
 * 43, bench/decoded-handoff.ts: ~2 µs of CPU an event less on both threads together).
 */
import type { Cell } from './types.js';

/** A cell's code when it is not a string's number in `strings`. */
const NULL = -1;
const NUMBER = -2;
/** Anything else SQLite binds that a projection wrote (a bigint, a Uint8Array: bulk-rows.ts checkCell), cloned as it is. */
const OTHER = -3;

/** Slots of the strings met last (a power of two). */
const SEEN = 4096;

export interface PackedCells {
  /** The batch's strings, each repeat of one met last sent once. */
  readonly strings: readonly string[];
  /** Each column's cells, column after column: how many each holds, and of them numbers and others. */
  readonly lengths: readonly number[];
  readonly numLengths: readonly number[];
  readonly otherLengths: readonly number[];
  /** One a cell: ≥ 0 a string of `strings`, else NULL, NUMBER (the column's next of `nums`) or OTHER (its next of `others`). */
  readonly codes: Int32Array;
  readonly nums: Float64Array;
  readonly others: readonly unknown[];
}

class Column {
  codes = new Int32Array(1024);
  nums = new Float64Array(256);
  others: unknown[] = [];
  /** Cells and numbers held, and those held at the last cut. */
  c = 0;
  n = 0;
  cutC = 0;
}

/** Where a fact's rows started, to take them back when it fails part-way (bulk-rows.ts appendRows). */
export interface CellMark {
  readonly column: number;
  readonly c: number;
  readonly n: number;
  readonly others: number;
}

/**
 * A batch's cells in `columns` columns (a decoded batch's: one a BULK_TABLES entry, then the
 * facts), appended cell by cell; `cut` ends a run of them (a rows segment), `take` the batch.
 */
export class CellPacker {
  private readonly columns: Column[];
  private strings: string[] = [];
  /** The strings met last, slotted by a cheap hash (length and three characters): a string equal to its slot's is sent once. */
  private readonly seen: (string | undefined)[] = new Array<string | undefined>(SEEN).fill(undefined);
  private readonly seenIds = new Int32Array(SEEN);
  constructor(columns: number) {
    this.columns = Array.from({ length: columns }, () => new Column());
  }

  /** The cells of `column` since the last cut. */
  count(column: number): number {
    const col = this.columns[column] as Column;
    return col.c - col.cutC;
  }

  mark(column: number): CellMark {
    const col = this.columns[column] as Column;
    return { column, c: col.c, n: col.n, others: col.others.length };
  }

  /** Takes back every cell put since `m` (marks taken back last first). */
  back(m: CellMark): void {
    const col = this.columns[m.column] as Column;
    col.c = m.c;
    col.n = m.n;
    col.others.length = m.others;
  }

  put(column: number, v: unknown): void {
    const col = this.columns[column] as Column;
    if (col.c === col.codes.length) col.codes = grown(col.codes);
    if (typeof v === 'string') {
      const l = v.length;
      const h = l < 2 ? l : (l * 31 + v.charCodeAt(l - 1) * 131 + v.charCodeAt(l >> 1) * 7 + v.charCodeAt(l - 2)) & (SEEN - 1);
      if (this.seen[h] === v) col.codes[col.c++] = this.seenIds[h] as number;
      else {
        this.seen[h] = v;
        this.seenIds[h] = this.strings.length;
        col.codes[col.c++] = this.strings.length;
        this.strings.push(v);
      }
    } else if (typeof v === 'number') {
      if (col.n === col.nums.length) col.nums = grown(col.nums);
      col.nums[col.n++] = v;
      col.codes[col.c++] = NUMBER;
    } else if (v === null || v === undefined) col.codes[col.c++] = NULL;
    else {
      col.others.push(v);
      col.codes[col.c++] = OTHER;
    }
  }

  /** How many cells each column got since the last cut, or null when none did. */
  cut(): number[] | null {
    let any = false;
    const lengths = this.columns.map((col) => {
      const k = col.c - col.cutC;
      if (k > 0) any = true;
      col.cutC = col.c;
      return k;
    });
    return any ? lengths : null;
  }

  /** The batch's cells (cut first), their buffers to be transferred (`packedBuffers`); the packer starts the next batch. */
  take(): PackedCells {
    let c = 0;
    let n = 0;
    for (const col of this.columns) (c += col.c), (n += col.n);
    const codes = new Int32Array(c);
    const nums = new Float64Array(n);
    const lengths: number[] = [];
    const numLengths: number[] = [];
    const otherLengths: number[] = [];
    const others: unknown[] = [];
    c = 0;
    n = 0;
    for (const col of this.columns) {
      codes.set(col.codes.subarray(0, col.c), c);
      nums.set(col.nums.subarray(0, col.n), n);
      c += col.c;
      n += col.n;
      lengths.push(col.c);
      numLengths.push(col.n);
      otherLengths.push(col.others.length);
      for (const v of col.others) others.push(v);
      col.c = col.n = col.cutC = 0;
      col.others = [];
    }
    const p: PackedCells = { strings: this.strings, lengths, numLengths, otherLengths, codes, nums, others };
    this.strings = [];
    this.seen.fill(undefined);
    return p;
  }
}

function grown<T extends Int32Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/** The buffers postMessage transfers instead of copying. */
export function packedBuffers(p: PackedCells): ArrayBuffer[] {
  return [p.codes.buffer as ArrayBuffer, p.nums.buffer as ArrayBuffer];
}

/** Reads a batch's cells back, each column's in the order they were put. */
export class CellReader {
  /** Each column's next cell, number and other. */
  private readonly c: number[] = [];
  private readonly n: number[] = [];
  private readonly o: number[] = [];
  constructor(private readonly p: PackedCells) {
    let c = 0;
    let n = 0;
    let o = 0;
    p.lengths.forEach((length, i) => {
      this.c.push(c);
      this.n.push(n);
      this.o.push(o);
      c += length;
      n += p.numLengths[i] as number;
      o += p.otherLengths[i] as number;
    });
  }

  /** The next `length` cells of `column`. */
  next(column: number, length: number): Cell[] {
    const { strings, codes, nums, others } = this.p;
    const out: Cell[] = [];
    let c = this.c[column] as number;
    let n = this.n[column] as number;
    let o = this.o[column] as number;
    for (const end = c + length; c < end; c++) {
      const code = codes[c] as number;
      if (code >= 0) out.push(strings[code] as string);
      else if (code === NULL) out.push(null);
      else if (code === NUMBER) out.push(nums[n++] as number);
      else out.push(others[o++] as Cell);
    }
    this.c[column] = c;
    this.n[column] = n;
    this.o[column] = o;
    return out;
  }
}
