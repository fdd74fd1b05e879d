/**
 * Row <-> StoredEvent for the embedded store, and the JSON rules for payloads. Statements
 * return raw arrays (`.raw()`), which is measurably cheaper than objects on large pages.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { StoredEvent } from './port.js';
import { StoreCorruptError } from './errors.js';
import { encodePosition } from './positions.js';
import type { Sealer } from './sqlite-seal.js';

/** Column order of every SELECT that returns events. */
export const EVENT_COLUMNS = 'position, id, stream, revision, type, data, metadata, recorded_at';

export type EventRow = [
  position: number,
  id: string,
  stream: string,
  revision: number,
  type: string,
  data: string,
  metadata: string,
  recordedAt: string,
];

/** The same columns and the seal, for a store that checks seals. */
export const SEALED_COLUMNS = `${EVENT_COLUMNS}, seal`;

export type SealedRow = [...EventRow, seal: Buffer | null];

export function rowToEvent(r: EventRow): StoredEvent {
  return {
    id: r[1],
    stream: r[2],
    revision: r[3],
    position: encodePosition(r[0]),
    type: r[4],
    data: parseColumn(r, 5),
    metadata: parseColumn(r, 6) as Record<string, unknown>,
    recordedAt: r[7],
  };
}

/** A record's JSON column; text that is not JSON is a StoreCorruptError naming the record (the service writes only JSON). */
export function parseColumn(r: EventRow, i: 5 | 6): unknown {
  try {
    return JSON.parse(r[i]);
  } catch (err) {
    throw new StoreCorruptError(r[0], r[2], i === 5 ? 'data' : 'metadata', { cause: err });
  }
}

/**
 * A record that does not match its seal (or has none), read as far as it can be: a column that
 * is not JSON comes as its text (data) or as no metadata, so the audit parks the record as
 * altered or unsealed, and verify names it, instead of stopping at it.
 */
function unsealedEvent(r: EventRow): StoredEvent {
  const lenient = (i: 5 | 6): unknown => {
    try {
      return JSON.parse(r[i]);
    } catch {
      return i === 5 ? r[i] : {};
    }
  };
  return { id: r[1], stream: r[2], revision: r[3], position: encodePosition(r[0]), type: r[4], data: lenient(5), metadata: lenient(6) as Record<string, unknown>, recordedAt: r[7] };
}

export function rowsToEvents(rows: readonly EventRow[]): StoredEvent[] {
  const out = new Array<StoredEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rowToEvent(rows[i] as EventRow);
  return out;
}

/** Rows with their seal checked (StoredEvent.integrity). */
export function sealedRowsToEvents(rows: readonly SealedRow[], sealer: Sealer): StoredEvent[] {
  const out = new Array<StoredEvent>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as SealedRow;
    const integrity = sealer.verdict(r[8], r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    out[i] = { ...(integrity === 'sealed' ? rowToEvent(r as unknown as EventRow) : unsealedEvent(r as unknown as EventRow)), integrity };
  }
  return out;
}

/**
 * JSON text of a payload. `undefined` (not representable in JSON) is stored as `null`, so it
 * reads back as null.
 */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * JSON with object keys sorted, so two payloads that differ only in key order count as the
 * same content for idempotent retries.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  const parts: string[] = [];
  for (const k of keys) parts.push(`${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${parts.join(',')}}`;
}

/** Same content when equal as text (the usual retry) or equal once canonicalised. */
export function sameJson(storedText: string, newText: string): boolean {
  if (storedText === newText) return true;
  return canonicalJson(JSON.parse(storedText)) === canonicalJson(JSON.parse(newText));
}

/**
 * The prepared reads of one row shape: plain events, or events with their seal checked.
 * Kept apart so the checked view shares the store's connection and paging.
 */
export class RowReader {
  readonly streamForwards: Statement<[string, number, number], unknown[]>;
  readonly streamBackwards: Statement<[string, number, number], unknown[]>;
  readonly allAfter: Statement<[number, number], unknown[]>;
  readonly allAfterUpTo: Statement<[number, number, number], unknown[]>;
  /** By number of types; callers filter on a handful of types, so this stays small. */
  private readonly typedStmts = new Map<number, Statement<unknown[], unknown[]>>();

  constructor(
    private readonly db: Db,
    private readonly columns: string,
    readonly toEvents: (rows: unknown[][]) => StoredEvent[],
  ) {
    const sel = `SELECT ${columns} FROM events`;
    this.streamForwards = db.prepare<[string, number, number], unknown[]>(`${sel} WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT +?`).raw();
    this.streamBackwards = db.prepare<[string, number, number], unknown[]>(`${sel} WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT +?`).raw();
    this.allAfter = db.prepare<[number, number], unknown[]>(`${sel} WHERE position > ? ORDER BY position LIMIT +?`).raw();
    this.allAfterUpTo = db.prepare<[number, number, number], unknown[]>(`${sel} WHERE position > ? AND position <= ? ORDER BY position LIMIT +?`).raw();
  }

  typed(n: number): Statement<unknown[], unknown[]> {
    let stmt = this.typedStmts.get(n);
    if (stmt === undefined) {
      const marks = new Array<string>(n).fill('?').join(', ');
      stmt = this.db.prepare<unknown[], unknown[]>(`SELECT ${this.columns} FROM events WHERE position > ? AND position <= ? AND type IN (${marks}) ORDER BY position LIMIT +?`).raw();
      this.typedStmts.set(n, stmt);
    }
    return stmt;
  }
}
