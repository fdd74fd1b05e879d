/**
 * A bulk build's rows of one plain fact (not a correction or retraction), as flat cells per
 * table in the order of the writer's INSERT columns, written straight into the batch's packed
 * cells (decoded-cells.ts): made in the rebuild's decoding thread (rebuild-thread.ts). Pure:
 * the fact's data, the registry and nothing read back from the read models.
 */
import { isAmendmentType, isFactType, storedFact, upcast, type FactType, type Source } from '../events/index.js';
import { PROJECTIONS } from './registry.js';
import type { LogEvent } from './db.js';
import type { CellMark, CellPacker } from './decoded-cells.js';
import type { FactVersion, Projection, TableSpec } from './types.js';

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
/** A decoded batch's column of packed cells (decoded-cells.ts) holding its facts (FACT_STRIDE cells each), after one a BULK_TABLES entry. */
export const FACTS_COLUMN = BULK_TABLES.length;
const tableIndex = new Map(BULK_TABLES.map((t, i) => [t.name, i]));

/** The columns of a `facts` row a bulk build appends (retracted_at stays NULL until a retraction). */
export const FACT_COLUMNS = ['fact_id', 'type', 'target', 'position', 'stream', 'revision', 'recorded_at', 'reason'] as const;

/**
 * A decoded plain fact, once for all its rows: factId, type, position, stream, revision,
 * recordedAt (its `facts` row, and its rows' bookkeeping: fact_id, known_from = recordedAt,
 * position). Its rows name it by number instead of repeating those strings (fewer cells to
 * write and read back between the threads).
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
 * Appends a version's rows to `out` (one column of cells per BULK_TABLES entry): the number
 * of its fact (`fact`: FACT_STRIDE cells each), then the table's own columns; a table of
 * `skipped` gets none, its cells checked all the same. Throws, writing nothing, when a
 * projection writes to a table it does not have.
 */
function appendRows(fact: FactVersion, n: number, out: CellPacker, skipped: readonly boolean[] | undefined): void {
  const projections = projectionsOf(fact.type);
  const writes = projections.length === 1 ? (projections[0] as Projection).evolve(fact) : projections.flatMap((p) => p.evolve(fact));
  for (const w of writes) if (!tableIndex.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
  // Each cell read once, checked as it is appended (a row's cells are looked up by column name,
  // over rows of every table's shape: the slowest part of appending them). A failing fact
  // leaves no rows (it is parked): each table it appended to is cut back to what it held before.
  const marks: CellMark[] = [];
  try {
    for (const w of writes) {
      const i = tableIndex.get(w.table) as number;
      const columns = (BULK_TABLES[i] as TableSpec).columns;
      const row = w.row;
      if (skipped?.[i] === true) {
        for (let c = 0; c < columns.length; c++) checkCell(row[columns[c] as string]);
        continue;
      }
      marks.push(out.mark(i));
      out.put(i, n);
      for (let c = 0; c < columns.length; c++) {
        const v = row[columns[c] as string];
        checkCell(v);
        out.put(i, v ?? null);
      }
    }
  } catch (err) {
    // Backwards: a table written twice gets what it held before the first.
    for (let j = marks.length - 1; j >= 0; j--) out.back(marks[j] as CellMark);
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
 * Decodes one event of a bulk build: a plain fact's rows go to their tables' columns of `out`,
 * the fact itself (FACT_STRIDE cells) to its FACTS_COLUMN, what ReadModelWriter.applyFact would
 * write of them; the rows of the tables `skipped` marks are checked, then dropped (a replay's fold).
 */
export function decodeEvent(e: LogEvent, out: CellPacker, skipped?: readonly boolean[]): Decoded {
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
    appendRows({ type: fact.type, data: fact.data, factId, source: meta.source ?? null } as FactVersion, out.count(FACTS_COLUMN) / FACT_STRIDE, out, skipped);
  } catch (err) {
    return { kind: 'park', factId, error: err instanceof Error ? err.message : String(err), err: cloneableError(err) };
  }
  out.put(FACTS_COLUMN, factId);
  out.put(FACTS_COLUMN, e.type);
  out.put(FACTS_COLUMN, e.position);
  out.put(FACTS_COLUMN, e.stream);
  out.put(FACTS_COLUMN, e.revision);
  out.put(FACTS_COLUMN, e.recordedAt);
  return DONE;
}
