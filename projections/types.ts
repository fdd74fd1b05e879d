/**
 * What a projection is: the fact types it handles and a pure `evolve` from one fact (one
 * version of it) to read-model rows. The runner adds the bitemporal bookkeeping columns
 * (fact_id, known_from, known_to, position, corrected_by), so evolve never sees a clock or the versioning.
 */
import type { Fact, FactType, Source, StreamKind } from '../events/index.js';

/**
 * One version of a fact, as the runner hands it to evolve: its type and typed data (for a
 * correction: the replacement data, upcast to the current schema), entity refs already ids.
 * A union over the types, so a `switch` on `type` narrows `data`.
 */
export type FactVersion<T extends FactType = FactType> = Fact<T> & {
  readonly factId: string;
  /** Provenance of this version (for a correction: the correction's source). */
  readonly source: Source | null;
};

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

export interface RowWrite {
  readonly table: string;
  readonly row: Row;
}

export interface TableSpec {
  readonly name: string;
  /** Domain columns; the runner adds fact_id, known_from, known_to, position, corrected_by (db.ts), `first_position` with `firstPosition`, and `earliest` with `first`. */
  readonly columns: readonly string[];
  /**
   * Clustering key: the table is stored WITHOUT ROWID in this order, so the rows a query
   * reads together (one office's appointments) sit on the same pages. Must be unique per
   * version row; `position` (of the version's event) makes it so.
   */
  readonly primaryKey?: string;
  /**
   * A column always equal to the row's fact_id that leads the primary key or one of
   * `indexes` (entities and sessions: `id`, the fact that made the entity; names: `entity`).
   * Closing a version (a correction, a retraction) finds the fact's rows through it, and no
   * index on (fact_id) is made: one index fewer to build and keep up.
   */
  readonly factKey?: string;
  /**
   * A column that always holds the id of the entity in whose stream the row's fact lives
   * (`kind`: that stream's kind; NULL when the fact lives in a stream of another kind, as talks
   * at no session do), leading the primary key or one of `indexes` (appointments: `office`).
   * The write side keeps it (the fields a correction may not change, `identity`), so closing a
   * version finds the fact's rows through it (`<column> IS <the fact's stream's id> AND fact_id
   * = @fact`, the stream read from `facts`), and no index on (fact_id) is made. No read query
   * looks a row up by its fact_id: that index served the writer's closes alone.
   */
  readonly streamKey?: { readonly column: string; readonly kind: StreamKind };
  /**
   * Extra indexes as column lists, e.g. `office, known_from`; one followed by ` WHERE <condition>`
   * is a partial index, of the rows that meet it: for an index whose queries never find the
   * other rows (the condition must be implied by each query's WHERE, e.g. `x IS NOT NULL` by
   * `x = ?`; `npm run bench:plans` shows the plans that use it).
   */
  readonly indexes: readonly string[];
  /**
   * A temporal index (temporal.ts): an R*Tree over (entity, valid days, recording time),
   * keyed by the row's rowid (so the table is a rowid table: no `primaryKey`).
   */
  readonly temporal?: TemporalSpec;
  /**
   * Bounded interval scans: the column grouping the rows (e.g. `body`) whose longest closed
   * interval `s0..e1`, in days, is kept in `spans`. A row that meets the days [q0, q1] then
   * began on or after q0 minus that span (or is open-ended), so an index on
   * (group, s0, …) is read from there, not from the group's first row.
   */
  readonly span?: SpanSpec;
  /**
   * The column naming what the rows are of (adoptions: `document`): the runner keeps a column
   * `earliest`, 1 on a row when no row of the table with the same value came before it in the log
   * (any version; so at every moment it is known, no earlier one of them is), else 0. A query
   * wanting the earliest row known at a moment skips its check on those (a document's first
   * adoption: no probe a row of a page).
   */
  readonly first?: string;
  /**
   * The runner keeps a column `first_position`: the position of the first recording of the
   * row's fact (a fact's own version: the row's `position`; a correction's version: its fact's,
   * from `facts`). A list in recording order keyed by it keeps a corrected item in its fact's
   * place, as an appointment keeps its among the holders (session items: sessions/evolve.ts).
   */
  readonly firstPosition?: boolean;
  /**
   * Columns the writer stores after the others, computed from other tables' rows at the row's
   * insert (adoptions: the item's text, documents/stored.ts, the only table that has them) and
   * NULL in a bulk build until its finish computes them from the finished rows.
   */
  readonly stored?: readonly string[];
  /**
   * Columns the writer derives from other tables' rows when it writes a row (session items:
   * the texts of the entity views they show, sessions/stored.ts), kept up when an entity a row
   * names changes. A pure function of the rows (so a rebuild may make them as its rows are
   * buffered, or after the log: finishBulk).
   */
  readonly derived?: DerivedSpec;
}

/**
 * Derived columns (TableSpec.derived): `values(r)` are their SQL expressions over the row `r`
 * (an alias or the table's name), holding from the row's known_from until the moment in the
 * column `until` (a column of them). An entity named in a column of `refs` whose versions change
 * at t (a version opened or closed then) makes the writer derive them again for the rows that
 * name it with `until` >= t (each ref column needs an index led by it).
 */
export interface DerivedSpec {
  readonly columns: readonly string[];
  readonly values: (r: string) => readonly string[];
  readonly until: string;
  readonly refs: readonly string[];
  /**
   * Ids a row names in a list rather than a column (talks' participants, a JSON text): `ids(row)`
   * gives them, and `rows(r, ids)` is a condition over `r` (the table's name) true for at least
   * the rows naming an id of `ids` (an SQL list: `(?)`, `(SELECT id FROM …)`), found through an
   * index (a table of them kept beside the rows).
   */
  readonly listed?: { readonly rows: (r: string, ids: string) => string; readonly ids: (row: Readonly<Record<string, unknown>>) => readonly string[] };
  /** The rows that have them (others keep NULLs): a condition over `r`. */
  readonly where: (r: string) => string;
  /**
   * The same values made in JS for a row known from `k` (fact_id `factId`), from `view(id, k)`:
   * an entity's view text when it has one version, known from at or before k, and none after;
   * undefined when a view is not given (the writer then uses the SQL of `values`).
   */
  readonly js: (row: Readonly<Record<string, unknown>>, factId: string, k: string, view: (id: string, k: string) => string | undefined) => readonly (string | null)[] | undefined;
}

export interface SpanSpec {
  /** The column grouping the rows, e.g. `body`. */
  readonly group: string;
  /** The interval's first and last day columns. Default `s0`, `e1`. */
  readonly from?: string;
  readonly to?: string;
}

export interface TemporalSpec {
  /** The column naming the entity the rows are about (e.g. `office`). */
  readonly entity: string;
  /**
   * Valid days taken from another table's rows rather than this row's `s0`/`e1`: the rows of
   * `table` whose `id` equals this row's `ref` (attestations: the session's days). The entry
   * covers the days of every version of them, so a correction of those days widens it.
   */
  readonly daysFrom?: { readonly table: string; readonly id: string; readonly ref: string };
}

/**
 * A read model over the fact types T it handles. The runner hands evolve only facts of those
 * types, so its `switch` over them ends in `assertNever`: a type added to a list derived from
 * the catalogue (`typesIn`, `typesNaming`) is a compile error until evolve handles it.
 */
export interface Projection<T extends FactType = FactType> {
  readonly name: string;
  /** Bump when evolve or the tables change: the read models are then rebuilt from the log. */
  readonly version: number;
  readonly tables: readonly TableSpec[];
  readonly handles: readonly T[];
  /** Pure: no clock, no randomness, no I/O. Throwing parks the event. */
  evolve(fact: FactVersion<T>): RowWrite[];
}

/** Declares a projection; the types it handles, read from `handles`, type what evolve is given. */
export function projection<const T extends FactType>(p: Projection<T>): Projection<T> {
  return p;
}
