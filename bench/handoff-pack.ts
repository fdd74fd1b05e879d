/**
 * A prototype measured by bench/decoded-handoff.ts (session 43, s43-dc; not used by the
 * rebuild): a decoded batch's cells packed for the hand-off between the rebuild's threads
 * instead of structured-cloned as they are. Each distinct string of the batch sent once, and
 * every cell a code in an Int32Array (a string's number, or null, or the next of the numbers,
 * in a Float64Array) whose buffer is transferred. A batch's ~19 strings an event are ~6.4
 * distinct ones (its facts' sources, types, dates, ids named again and again). Distinct by a
 * Map (`'map'`) or by a table of the strings met last, slotted by a cheap hash of each, length
 * and three characters (`'hash'`: ~8.5 sent an event).
 */
import type { Cell } from '../projections/types.js';

/** A cell's code when it is not a string's number. */
const NULL = -1;
const NUMBER = -2;
/** Anything else SQLite binds that a projection wrote (a bigint, a Uint8Array: bulk-rows.ts checkCell): cloned as it is. */
const OTHER = -3;

export interface PackedCells {
  /** The batch's distinct strings, in the order first met. */
  readonly strings: readonly string[];
  /** One a cell, in order: ≥ 0 a string of `strings`, else NULL, NUMBER (the next of `nums`) or OTHER (the next of `others`). */
  readonly codes: Int32Array;
  readonly nums: Float64Array;
  readonly others: readonly unknown[];
}

/** Slots of CellPacker's strings met last (a power of two). */
const SEEN = 4096;

/** Packs a batch's cells, array after array; `take()` hands them over and starts the next batch. */
export class CellPacker {
  private strings: string[] = [];
  /** The strings met last, by a cheap hash of each (length and two of its characters): a string equal to one of them is sent once. */
  private seen: (string | undefined)[] = new Array(SEEN).fill(undefined);
  private seenIds = new Int32Array(SEEN);
  /** Grown as needed, copied out at the size used. */
  private codes = new Int32Array(1 << 15);
  private nums = new Float64Array(1 << 12);
  private others: unknown[] = [];
  private c = 0;
  private n = 0;
  private ids = new Map<string, number>();
  constructor(private readonly dedup: 'hash' | 'map' = 'hash') {}

  /** Packs each array's cells after those packed before; returns the arrays' lengths, for CellReader.next. */
  add(arrays: readonly (readonly Cell[])[]): number[] {
    const lengths: number[] = [];
    let total = this.c;
    for (const a of arrays) total += a.length;
    if (total > this.codes.length) this.codes = grown(this.codes, total, Int32Array);
    const codes = this.codes;
    const seen = this.seen;
    const seenIds = this.seenIds;
    const strings = this.strings;
    let c = this.c;
    for (const a of arrays) {
      lengths.push(a.length);
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (typeof v === 'string') {
          if (this.dedup === 'map') {
            let id = this.ids.get(v);
            if (id === undefined) {
              id = strings.length;
              this.ids.set(v, id);
              strings.push(v);
            }
            codes[c++] = id;
            continue;
          }
          const l = v.length;
          const h = l === 0 ? 0 : (l * 31 + v.charCodeAt(l - 1) * 131 + v.charCodeAt(l >> 1) * 7 + v.charCodeAt(l - 2)) & (SEEN - 1);
          if (seen[h] === v) codes[c++] = seenIds[h] as number;
          else {
            seen[h] = v;
            seenIds[h] = strings.length;
            codes[c++] = strings.length;
            strings.push(v);
          }
        } else if (typeof v === 'number') {
          if (this.n === this.nums.length) this.nums = grown(this.nums, this.n + 1, Float64Array);
          this.nums[this.n++] = v;
          codes[c++] = NUMBER;
        } else if (v === null || v === undefined) codes[c++] = NULL;
        else {
          this.others.push(v);
          codes[c++] = OTHER;
        }
      }
    }
    this.c = c;
    return lengths;
  }

  /** The cells packed since the last take (their buffers to be transferred: `buffers`). */
  take(): PackedCells {
    const p: PackedCells = { strings: this.strings, codes: this.codes.slice(0, this.c), nums: this.nums.slice(0, this.n), others: this.others };
    this.strings = [];
    this.seen.fill(undefined);
    this.ids = new Map();
    this.others = [];
    this.c = 0;
    this.n = 0;
    return p;
  }
}

function grown<T extends Int32Array | Float64Array>(a: T, size: number, make: new (n: number) => T): T {
  const b = new make(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}

/** The buffers postMessage transfers instead of copying. */
export function packedBuffers(p: PackedCells): ArrayBuffer[] {
  return [p.codes.buffer as ArrayBuffer, p.nums.buffer as ArrayBuffer];
}

/** Reads a batch's cells back, array after array, in the order they were packed. */
export class CellReader {
  private c = 0;
  private n = 0;
  private o = 0;
  constructor(private readonly p: PackedCells) {}

  /** The next `length` cells. */
  next(length: number): Cell[] {
    const { strings, codes, nums } = this.p;
    const out: Cell[] = [];
    const end = this.c + length;
    for (let c = this.c; c < end; c++) {
      const code = codes[c] as number;
      if (code >= 0) out.push(strings[code] as string);
      else if (code === NULL) out.push(null);
      else if (code === NUMBER) out.push(nums[this.n++] as number);
      else out.push(this.p.others[this.o++] as Cell);
    }
    this.c = end;
    return out;
  }
}
