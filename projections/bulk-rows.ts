/**
 * A bulk build's rows of one plain fact (not a correction or retraction), as flat cells per
 * table in the order of the writer's INSERT columns: made where the event is decoded, in the
 * rebuild's decoding thread (rebuild-thread.ts) or by the writer itself (db.ts). Pure: the
 * fact's data, the registry and nothing read back from the read models.
 */
import { isAmendmentType, isFactType, storedFact, upcast, type FactType, type Source } from '../events/index.js';
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

/** A fact event's metadata, as decodeEvent reads it. */
export type FactMeta = { factId?: string; source?: Source; schemaVersion?: number };

/**
 * The version the rows of a plain fact's event are made from (decodeEvent; bench/handoff-inline.ts's
 * packer too): throws what parks it (no factId, a factId no cell can hold, data its type refuses).
 */
export function factVersionOf(type: FactType, e: LogEvent, meta: FactMeta): FactVersion {
  const factId = meta.factId;
  if (!factId) throw new Error('event has no metadata.factId');
  checkCell(factId);
  // typeOf is asked by corrections only, which are not decoded here.
  const fact = storedFact(type, upcast(type, e.data, meta.schemaVersion));
  // The version's fields named, not spread (a spread of the fact copies it key by key): the same object.
  return { type: fact.type, data: fact.data, factId, source: meta.source ?? null } as FactVersion;
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
  const meta = e.metadata as FactMeta;
  const factId = meta.factId ?? null;
  try {
    appendRows(factVersionOf(e.type, e, meta), facts.length / FACT_STRIDE, tables);
  } catch (err) {
    return { kind: 'park', factId, error: err instanceof Error ? err.message : String(err), err: cloneableError(err) };
  }
  facts.push(factId, e.type, e.position, e.stream, e.revision, e.recordedAt);
  return DONE;
}
