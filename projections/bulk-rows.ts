/**
 * A bulk build's rows of one plain fact (not a correction or retraction), as flat cells per
 * table in the order of the writer's INSERT columns: made where the event is decoded, in the
 * rebuild's decoding thread (rebuild-thread.ts) or by the writer itself (db.ts). Pure: the
 * fact's data, the registry and nothing read back from the read models.
 */
import { isAmendmentType, isFactType, storedFact, upcast, type FactType, type Source } from '../events/index.js';
import type { AmendedSegment } from './rebuild-decoder.js';
import { PROJECTIONS } from './registry.js';
import type { LogEvent } from './db.js';
import type { Cell, FactVersion, Projection, RowWrite, TableSpec } from './types.js';

/** better-sqlite3's refusal of a value it cannot bind (a boolean, an object). */
export const UNBINDABLE = 'SQLite3 can only bind numbers, strings, bigints, buffers, and null';

/**
 * Refuses, with better-sqlite3's own error, a cell it would refuse to bind: a bulk build writes
 * its rows many to a statement later, so an event is refused (parked) here, as a live apply
 * refuses it when its statement runs; the rows of it already buffered are cut back (appendRows).
 */
export function checkCell(v: unknown): void {
  if (v != null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint' && !(v instanceof Uint8Array)) throw new TypeError(UNBINDABLE);
}

/** Every projection table, in the order its index numbers them in a decoded batch. */
export const BULK_TABLES: readonly TableSpec[] = PROJECTIONS.flatMap((p) => p.tables);
const tableIndex = new Map(BULK_TABLES.map((t, i) => [t.name, i]));

/** The columns of a `facts` row a bulk build appends (retracted_at stays NULL until a retraction). */
export const FACT_COLUMNS = ['fact_id', 'type', 'target', 'position', 'stream', 'revision', 'recorded_at', 'reason'] as const;

/**
 * A decoded plain fact, once for all its rows: factId, type, position, stream, revision,
 * recordedAt (its `facts` row, and its rows' bookkeeping: fact_id, known_from = recordedAt,
 * position). Its rows name it by number instead of repeating those strings: each cell is
 * copied twice between the threads (~5 µs an event each way for ~37 cells).
 */
export const FACT_STRIDE = 6;
export const F_ID = 0;
export const F_TYPE = 1;
export const F_POSITION = 2;
export const F_STREAM = 3;
export const F_REVISION = 4;
export const F_RECORDED = 5;

const byType = new Map<FactType, Projection[]>();
for (const p of PROJECTIONS) for (const type of p.handles) byType.set(type, [...(byType.get(type) ?? []), p]);

/** The projections that handle a fact type, in the registry's order. */
export function projectionsOf(type: FactType): readonly Projection[] {
  return byType.get(type) ?? [];
}

/**
 * Appends a version's rows to `tables` (one flat cell array per BULK_TABLES entry): the
 * number of its fact (`fact`: FACT_STRIDE cells each), then the table's own columns.
 * Throws, writing nothing, when a projection writes to a table it does not have.
 */
function appendRows(fact: FactVersion, n: number, tables: Cell[][]): void {
  const projections = projectionsOf(fact.type);
  const writes = projections.length === 1 ? (projections[0] as Projection).evolve(fact) : projections.flatMap((p) => p.evolve(fact));
  for (const w of writes) if (!tableIndex.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
  // Each cell read once, checked as it is appended (a row's cells are looked up by column name,
  // over rows of every table's shape: the slowest part of appending them). A failing fact
  // leaves no rows (it is parked): each table it appended to is cut back to its length before.
  const lengths: number[] = [];
  try {
    for (const w of writes) {
      const i = tableIndex.get(w.table) as number;
      const out = tables[i] as Cell[];
      lengths.push(out.length);
      out.push(n);
      const columns = (BULK_TABLES[i] as TableSpec).columns;
      const row = w.row;
      for (let c = 0; c < columns.length; c++) {
        const v = row[columns[c] as string];
        checkCell(v);
        out.push(v ?? null);
      }
    }
  } catch (err) {
    // Backwards: a table written twice gets the length it had before the first.
    for (let j = lengths.length - 1; j >= 0; j--) (tables[tableIndex.get((writes[j] as RowWrite).table) as number] as Cell[]).length = lengths[j] as number;
    throw err;
  }
}

/** What decoding one event left to the writer. */
export type Decoded =
  /** Not a fact (a key reservation), or a plain fact whose rows and `facts` row were appended. */
  | { readonly kind: 'done' }
  /** A correction or retraction: it reads the `facts` table, so the writer applies it in log order. */
  | { readonly kind: 'amendment' }
  /** The event cannot be applied (no factId, a projection's error): the writer parks it and logs `err`, the error itself as it can cross threads. */
  | { readonly kind: 'park'; readonly factId: string | null; readonly error: string; readonly err: unknown };

/**
 * An error as it can cross to the writer's thread (rebuild-thread.ts posts what decodeEvent
 * found), which logs it as it logs an error of its own: itself when the structured clone takes
 * it (a built-in error class, its message, stack and cause arrive; other own properties do
 * not), else an Error with its message and stack (a cause the clone refuses, e.g. a function,
 * would otherwise fail the whole batch's postMessage, and with it the rebuild).
 */
export function cloneableError(err: unknown): unknown {
  try {
    structuredClone(err);
    return err;
  } catch {
    const e = new Error(err instanceof Error ? err.message : String(err));
    if (err instanceof Error) e.stack = err.stack;
    return e;
  }
}

const DONE: Decoded = { kind: 'done' };
const AMENDMENT: Decoded = { kind: 'amendment' };

/**
 * Decodes one event of a bulk build: a plain fact's rows go to `tables`, the fact itself
 * (FACT_STRIDE cells) to `facts`, what ReadModelWriter.applyFact would write of them.
 */
export function decodeEvent(e: LogEvent, tables: Cell[][], facts: Cell[]): Decoded {
  if (!isFactType(e.type)) return DONE;
  if (isAmendmentType(e.type)) return AMENDMENT;
  const meta = e.metadata as { factId?: string; source?: Source; schemaVersion?: number };
  const factId = meta.factId ?? null;
  try {
    if (!factId) throw new Error('event has no metadata.factId');
    checkCell(factId);
    // typeOf is asked by corrections only, which are not decoded here.
    const fact = storedFact(e.type, upcast(e.type, e.data, meta.schemaVersion));
    // The version's fields named, not spread (a spread of the fact copies it key by key): the same object.
    appendRows({ type: fact.type, data: fact.data, factId, source: meta.source ?? null } as FactVersion, facts.length / FACT_STRIDE, tables);
  } catch (err) {
    return { kind: 'park', factId, error: err instanceof Error ? err.message : String(err), err: cloneableError(err) };
  }
  facts.push(factId, e.type, e.position, e.stream, e.revision, e.recordedAt);
  return DONE;
}

/** A `facts` row as a correction or retraction reads it back (db.ts factRow): the fact's type, the fact it names (itself for a plain fact), when it was retracted. */
interface NamedRow {
  readonly type: string;
  readonly target: string;
  retracted: string | null;
}

/** A `facts` row of the build's file before the decoding thread started (the first page, applied by the writer): fact_id, type, target, retracted_at. */
export type FactSeed = readonly [factId: string, type: string, target: string, retractedAt: string | null];

/** AmendmentResolver's filter: 2^20 bits (128 KiB), ~9% of them set by ~92,000 named ids. */
const FILTER_BITS = 20;

/** An id's filter bit: of its last four characters (a ULID's random part). */
function filterKey(id: string): number {
  const n = id.length;
  return ((id.charCodeAt(n - 1) | 0) * 0x9e3779b1 + (id.charCodeAt(n - 2) | 0) * 0x85ebca6b + (id.charCodeAt(n - 3) | 0) * 0xc2b2ae35 + (id.charCodeAt(n - 4) | 0) * 0x27d4eb2f) >>> (32 - FILTER_BITS);
}

/** An id the resolver does not follow: what the writer would decide for it is not known here. */
const UNTRACKED = Symbol('untracked');

/**
 * Corrections and retractions resolved and evolved where the log is decoded (rebuild-thread.ts),
 * as the writer would (db.ts applyFact), from the `facts` rows of the facts some amendment of
 * the log names (read up front: `named`), kept as the writer writes them: a plain fact's row
 * when decoded (INSERT OR IGNORE: its first row wins), an amendment's row and a retraction's
 * mark as resolved here. The writer then only appends the rows (AmendedSegment).
 *
 * Exact by construction: a decision reads only rows of named facts, and every row of a named
 * fact is written by an event this resolver saw (or was in the file before: `seed`). An
 * amendment that would read another id (naming a fact not read up front, an id that is not a
 * string, a fact id that is not one), is handed to the writer as an event, and so is every
 * later one (`active` false): the writer's outcome for it is not known here.
 */
export class AmendmentResolver {
  private readonly rows = new Map<string, NamedRow | null>();
  /**
   * A bit for each named id's last characters (FILTER_BITS): most plain facts are named by no
   * amendment, and a miss here spares the Map's lookup (~0.5-1 µs with a fresh string: its
   * hash computed, then a random read in ~90,000 entries).
   */
  private readonly filter = new Uint8Array(1 << (FILTER_BITS - 3));
  /** False once an amendment was handed over to the writer (above). */
  active = true;

  constructor(named: Iterable<string>, seed: readonly FactSeed[], private readonly skipped: readonly boolean[]) {
    for (const id of named) {
      this.rows.set(id, null);
      const h = filterKey(id);
      this.filter[h >>> 3] = (this.filter[h >>> 3] as number) | (1 << (h & 7));
    }
    for (const [id, type, target, retracted] of seed) if (this.rows.has(id)) this.rows.set(id, { type, target, retracted });
  }

  /** Facts followed (named by some amendment). */
  get size(): number {
    return this.rows.size;
  }

  /** A plain fact's `facts` row appended (decodeEvent: done, its FACT_STRIDE cells pushed). */
  plain(factId: unknown, type: string): void {
    if (!this.active) return;
    // A number is stored as text (the column's affinity), which a named id may match: not followed.
    if (typeof factId !== 'string') {
      this.active = false;
      return;
    }
    const h = filterKey(factId);
    if (((this.filter[h >>> 3] as number) & (1 << (h & 7))) === 0) return;
    if (this.rows.get(factId) === null) this.rows.set(factId, { type, target: factId, retracted: null });
  }

  private row(id: unknown): NamedRow | null {
    if (typeof id !== 'string') throw UNTRACKED;
    const row = this.rows.get(id);
    if (row === undefined) throw UNTRACKED;
    return row;
  }

  /** db.ts typeOf. */
  private typeOf(id: string): FactType | undefined {
    const row = this.row(id);
    return row && isFactType(row.type) ? row.type : undefined;
  }

  /** db.ts resolve: naming a correction means the fact it corrected. */
  private resolve(fact: unknown): { id: string; type: FactType } {
    const row = this.row(fact);
    if (!row) throw new Error(`correction or retraction of an unknown fact ${fact as string}`);
    if (row.target !== fact) return this.resolve(row.target);
    if (row.retracted) throw new Error(`fact ${fact as string} was retracted at ${row.retracted}`);
    return { id: fact as string, type: row.type as FactType };
  }

  /**
   * A correction or retraction (`e`, in log order): its rows and `facts` row (`amended`), or
   * parked as the writer would park it (its error), or null: handed to the writer.
   */
  amend(e: LogEvent): AmendedSegment | { readonly kind: 'park'; readonly factId: string | null; readonly error: string; readonly err: unknown } | null {
    if (!this.active) return null;
    const meta = e.metadata as { factId?: string; source?: Source; schemaVersion?: number };
    const factId = meta.factId ?? null;
    // Its own row's id: a number is stored as text (above).
    if (factId && typeof factId !== 'string') {
      this.active = false;
      return null;
    }
    let segment: AmendedSegment;
    try {
      // applyFact's steps for an amendment in a bulk build, in its order (the first error is the one parked).
      if (!factId) throw new Error('event has no metadata.factId');
      const fact = storedFact(e.type as FactType, upcast(e.type, e.data, meta.schemaVersion, (id) => this.typeOf(id))) as { type: FactType; data: { fact: unknown; data?: unknown; reason: string | null } };
      const t = this.resolve(fact.data.fact);
      const writes = fact.type === 'FactCorrected' ? evolveOf({ ...storedFact(t.type, fact.data.data), factId: t.id, source: meta.source ?? null } as FactVersion) : [];
      const reason = fact.data.reason;
      const cells: Cell[] = [];
      // checkCells, then the rows as write() appends them (a replay's fold drops its skipped tables' rows, checked).
      for (const w of writes) {
        const i = tableIndex.get(w.table) as number;
        const columns = (BULK_TABLES[i] as TableSpec).columns;
        for (const c of columns) checkCell(w.row[c]);
        if (this.skipped[i]) continue;
        cells.push(i);
        for (const c of columns) cells.push((w.row[c] ?? null) as Cell);
      }
      checkCell(factId);
      checkCell(reason);
      segment = { kind: 'amended', factId, type: e.type, target: t.id, position: e.position, stream: e.stream, revision: e.revision, recordedAt: e.recordedAt, reason, closes: t.type, retracts: fact.type === 'FactRetracted', cells };
    } catch (err) {
      if (err === UNTRACKED) {
        this.active = false;
        return null;
      }
      return { kind: 'park', factId, error: err instanceof Error ? err.message : String(err), err: cloneableError(err) };
    }
    // db.ts index(): its own row (INSERT OR IGNORE), then a retraction's mark on the fact it names.
    if (this.rows.get(factId) === null) this.rows.set(factId, { type: e.type, target: segment.target, retracted: null });
    if (segment.retracts) (this.rows.get(segment.target) as NamedRow).retracted = e.recordedAt;
    return segment;
  }
}

/** db.ts evolve: the projections' writes for a version of a fact, each to a table they have. */
function evolveOf(fact: FactVersion): RowWrite[] {
  const out: RowWrite[] = [];
  for (const p of projectionsOf(fact.type)) out.push(...p.evolve(fact));
  for (const w of out) if (!tableIndex.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
  return out;
}
