/**
 * What queries share: the read-model connection and its read snapshot, cached prepared
 * statements, the bitemporal "known at" filter, entity rendering and keyset pages.
 *
 * The snapshot: statements read one read transaction, opened by the first and ended when the
 * runner applies events (so a read after a write's answer sees them) or SNAPSHOT_MS later.
 * Only the runner writes the file, so until it applies something a snapshot is the file as
 * it is: holding one longer changes no answer. Starting a read transaction costs three system
 * calls in WAL mode (a lock, fstat, an unlock: ~9 µs here) and BEGIN/COMMIT two statements;
 * sharing one among requests amortises that, and the statements of one answer see one state
 * of the file. The time bound lets checkpoints finish and the WAL start over while nothing
 * is applied.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { isUlid, type EntityKind } from '../events/index.js';

/** Rows visible at `@k`: recorded by then and not yet superseded (corrected or retracted). */
export const KNOWN = (alias = ''): string => `${alias ? `${alias}.` : ''}known_from <= @k AND ${alias ? `${alias}.` : ''}known_to > @k`;

/**
 * A recursive CTE `name(b)` of the distinct `body` values of `table`, one search of its (body, …)
 * index each (a skip scan: min(body), then the next above it), ending in one NULL row: how
 * documentBodies and organizationSessionBodies find an organization's bodies from the other end.
 */
export const DISTINCT_BODIES = (table: string, name: string): string =>
  `${name}(b) AS (SELECT (SELECT min(body) FROM ${table}) UNION ALL SELECT (SELECT min(body) FROM ${table} WHERE body > ${name}.b) FROM ${name} WHERE ${name}.b IS NOT NULL)`;

export type { EntityKind };

/**
 * `LIMIT` a bound parameter, written so that SQLite does not prepare the statement again at
 * every run: for a bare `LIMIT @n` SQLite 3.53 (`sqlite3ExprIsInteger`) marks the variable, so
 * binding it expires the statement and each run first parsed and planned it again: ~85–125 µs
 * for a documents page's keyset statement, more than reading its rows. SQLite would plan with
 * the value only were it bound as an INTEGER; better-sqlite3 binds a JS number as a REAL, so
 * the plans were those of an unknown limit, as with `+@n` (an expression, read at run time).
 * `npm run bench:limit-plans`: no statement with one plans otherwise than with its value
 * written in (1, 51, 501) on the 1,000,000-fact record.
 */
export const LIMIT = (param: string): string => `LIMIT +@${param}`;

export interface EntityRow {
  fact_id: string;
  kind: EntityKind;
  id: string;
  key: string | null;
  name: string | null;
  parent: string | null;
  classification: string | null;
  multiple: number;
  aliases: string | null;
  detail: string | null;
  known_from: string;
}

export interface EntityView {
  id: string;
  key: string | null;
  name?: string | null;
  title?: string | null;
}

/** The checkpoint a snapshot reads: the last event applied and when it was recorded. */
/** Longest a read snapshot is held when nothing is applied. */
export const SNAPSHOT_MS = 100;

export interface SnapshotState {
  readonly position: string | null;
  readonly recordedAt: string | null;
}

/** A position in a keyset order: the sort key of the last item of a page. */
export type Key = readonly string[];

/** One page of a list in a keyset order; `next`: the key to continue after, when more remain. */
export interface Page<T> {
  items: T[];
  next: Key | null;
}

export interface PageRequest {
  /** Continue after this key (null: from the start). */
  readonly after: Key | null;
  readonly limit: number;
}

export class QueryContext {
  private readonly stmts = new Map<string, Statement>();
  private readonly plucked = new Map<string, Statement>();
  private snap: SnapshotState | null = null;
  /** This context began the open read transaction (and so ends it). */
  private ownTx = false;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly checkpoint: Statement;
  private readonly endLater = (): void => this.end();

  /** `shared`: the connection also writes (no snapshot is opened on it). `snapshotMs`: how long a snapshot may stay open (tests hold one open). */
  constructor(
    readonly db: Db,
    private readonly shared = false,
    private readonly snapshotMs = SNAPSHOT_MS,
  ) {
    this.begin = db.prepare('BEGIN');
    this.commit = db.prepare('COMMIT');
    this.checkpoint = db.prepare('SELECT position, recorded_at AS recordedAt FROM checkpoint WHERE id = 1');
  }

  /** The state the statements of this turn read (opening the snapshot if none is open). */
  snapshot(): SnapshotState {
    if (this.snap === null) {
      if (!this.shared && !this.db.inTransaction) {
        this.begin.run();
        this.ownTx = true;
      }
      setTimeout(this.endLater, this.snapshotMs).unref();
      this.snap = (this.checkpoint.get() as SnapshotState | undefined) ?? { position: null, recordedAt: null };
    }
    return this.snap;
  }

  /** Ends the snapshot: the next statement reads the file as it is then. */
  end(): void {
    if (this.snap === null) return;
    this.snap = null;
    if (this.ownTx) {
      this.ownTx = false;
      if (this.db.open && this.db.inTransaction) this.commit.run();
    }
  }

  stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    if (this.snap === null) this.snapshot();
    return s;
  }

  /** A statement of its own that answers its rows' first column (better-sqlite3's pluck), prepared once. */
  pluck(sql: string): Statement {
    let s = this.plucked.get(sql);
    if (!s) {
      s = this.db.prepare(sql).pluck();
      this.plucked.set(sql, s);
    }
    if (this.snap === null) this.snapshot();
    return s;
  }

  all<T>(sql: string, params: Record<string, unknown>): T[] {
    return this.stmt(sql).all(params) as T[];
  }

  get<T>(sql: string, params: Record<string, unknown>): T | undefined {
    return this.stmt(sql).get(params) as T | undefined;
  }

  /** An entity by id or key, as known at `k`; null when unknown then (never registered yet, or retracted). */
  entity(kind: EntityKind, ref: string, k: string): EntityRow | null {
    const by = isUlid(ref) ? 'id' : 'key';
    return this.get<EntityRow>(`SELECT * FROM entities WHERE ${by} = @ref AND kind = @kind AND ${KNOWN()} LIMIT 1`, { ref, kind, k }) ?? null;
  }

  /** An entity's view `{ id, key, name }` by id or key at `k`, from the narrow index; null when unknown then. */
  ref(kind: EntityKind, ref: string, k: string): { id: string; key: string | null; name: string | null } | null {
    const by = isUlid(ref) ? 'id' : 'key';
    return this.get<{ id: string; key: string | null; name: string | null }>(`SELECT id, key, name FROM entities WHERE ${by} = @ref AND kind = @kind AND ${KNOWN()} LIMIT 1`, { ref, kind, k }) ?? null;
  }

  /**
   * An entity by id or key as it was last known at or before `k`, retracted or renamed since
   * included: the latest version recorded by then. For a client that resumes what it followed
   * (the feed's organization=), where the entity's own retraction is among what it must get.
   */
  everRef(kind: EntityKind, ref: string, k: string): { id: string; key: string | null; name: string | null } | null {
    const by = isUlid(ref) ? 'id' : 'key';
    return this.get<{ id: string; key: string | null; name: string | null }>(`SELECT id, key, name FROM entities WHERE ${by} = @ref AND kind = @kind AND known_from <= @k ORDER BY known_from DESC LIMIT 1`, { ref, kind, k }) ?? null;
  }

  /** Entity views for many ids at `k`, in one query. */
  views(ids: readonly (string | null | undefined)[], k: string): (id: string | null, kind?: EntityKind) => EntityView | null {
    const unique = [...new Set(ids.filter((i): i is string => typeof i === 'string'))];
    // Only what a view shows, as one JSON text: better-sqlite3 spends ~0.5 µs on every value it
    // hands over, so for the ~700 entities of a page of sessions one text parsed in JS cost
    // ~40% less CPU than 2,800 values (1.1–1.3 against 1.8–2.3 ms, alternating runs). The ids
    // drive the join (CROSS JOIN): no temporary index of them is built for an IN.
    const rows = unique.length
      ? (JSON.parse(this.get<{ v: string }>(`SELECT json_group_array(json_array(e.kind, e.id, e.key, e.name)) AS v FROM json_each(@ids) j CROSS JOIN entities e WHERE e.id = j.value AND ${KNOWN('e')}`, { ids: JSON.stringify(unique), k })?.v ?? '[]') as [EntityKind, string, string | null, string | null][])
      : [];
    const byId = new Map(rows.map(([kind, id, key, name]) => [id, view({ kind, id, key, name }, id)]));
    return (id, kind) => (id === null ? null : (byId.get(id) ?? view(null, id, kind)));
  }

  /** Any entity by id at `k`, whatever its kind. */
  byId(id: string, k: string): EntityRow | null {
    return this.get<EntityRow>(`SELECT * FROM entities WHERE id = @id AND ${KNOWN()} LIMIT 1`, { id, k }) ?? null;
  }

  /** The longest closed interval (days) of `table`'s rows in these groups (0 when none). */
  span(table: string, groups: readonly string[]): number {
    if (groups.length === 1) return this.get<{ d: number | null }>('SELECT max(days) AS d FROM spans WHERE tbl = @t AND grp = @g', { t: table, g: groups[0] })?.d ?? 0;
    return this.get<{ d: number | null }>('SELECT max(days) AS d FROM spans WHERE tbl = @t AND grp IN (SELECT value FROM json_each(@g))', { t: table, g: JSON.stringify(groups) })?.d ?? 0;
  }
}

/**
 * `{ id, key, name }` (offices: `title`); an id not known at `k` renders with nulls, as an
 * office (`title`) when the place names an office (`kind`: the SQL's UNKNOWN_VIEW alike).
 */
export function view(row: Pick<EntityRow, 'kind' | 'id' | 'key' | 'name'> | null, id: string | null, kind?: EntityKind): EntityView | null {
  if (id === null) return null;
  if (!row) return kind === 'office' ? { id, key: null, title: null } : { id, key: null, name: null };
  return row.kind === 'office' ? { id: row.id, key: row.key, title: row.name } : { id: row.id, key: row.key, name: row.name };
}

/** Renders ids as entity views at `k`, memoised for one answer. */
export function viewer(q: QueryContext, k: string): (id: string | null) => EntityView | null {
  const memo = new Map<string, EntityView | null>();
  return (id) => {
    if (id === null) return null;
    let v = memo.get(id);
    if (v === undefined) {
      v = view(q.get<Pick<EntityRow, 'kind' | 'id' | 'key' | 'name'>>(`SELECT kind, id, key, name FROM entities WHERE id = @id AND ${KNOWN()} LIMIT 1`, { id, k }) ?? null, id);
      memo.set(id, v);
    }
    return v;
  };
}

/**
 * Statement parameters from parts: Object.assign, never `{ ...a, b }`. On Node 20 an object
 * spread followed by more properties took 2-10 µs to make (measured here; `{ b, ...a }` and
 * Object.assign ~0.1 µs), more than the statement it binds.
 */
export const bind = (...parts: object[]): Record<string, unknown> => Object.assign({}, ...parts) as Record<string, unknown>;

export const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** `day` (YYYY-MM-DD) minus `days` days. */
export function daysBefore(day: string, days: number): string {
  if (days <= 0) return day;
  const t = Date.parse(`${day}T00:00:00Z`) - days * 86_400_000;
  return Number.isNaN(t) ? day : new Date(t).toISOString().slice(0, 10);
}

export const compareKeys = (a: Key, b: Key): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
};

/**
 * A keyset page from several sources, each already in key order after `after` and fetched
 * with up to `limit + 1` rows (e.g. one per body of an organization): merged, the first
 * `limit` kept, `next` set when more remain.
 */
export function mergePage<T>(sources: readonly (readonly T[])[], keyOf: (t: T) => Key, limit: number): Page<T> {
  const all = sources.length === 1 ? [...(sources[0] as readonly T[])] : sources.flat().sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
  const items = all.slice(0, limit);
  const last = items.at(-1);
  return { items, next: all.length > limit && last !== undefined ? keyOf(last) : null };
}

/** Every item of a paged list (CLI, exports): follows `next` until the end. */
export function* everything<T>(fetch: (after: Key | null) => Page<T>): Generator<T> {
  let after: Key | null = null;
  for (;;) {
    const page = fetch(after);
    yield* page.items;
    if (page.next === null) return;
    after = page.next;
  }
}

/** The key to pass as `after` to read a list from its start: sorts before every real key. */
export const START: Key = [];

/** `after` as bound parameters `a0, a1, …` (missing parts ''), for `(x, y) > (@a0, @a1)`. */
export function afterParams(after: Key | null, n: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`a${i}`] = after?.[i] ?? '';
  return out;
}

/**
 * Reads a source in key order, `batch` rows at a time after `after`, keeping what `keep`
 * keeps, until `want` are kept or the source is exhausted: for keyset pages whose filter
 * cannot be said in SQL (a cut, a certainty). Returns the kept items in order.
 */
export function readFiltered<R, T>(fetch: (after: Key | null, n: number) => R[], keyOf: (r: R) => Key, keep: (r: R) => T | null, after: Key | null, want: number, batch = want): T[] {
  const out: T[] = [];
  let from = after;
  for (;;) {
    const rows = fetch(from, batch);
    for (const r of rows) {
      const t = keep(r);
      if (t !== null) out.push(t);
      if (out.length >= want) return out;
    }
    const last = rows.at(-1);
    if (rows.length < batch || last === undefined) return out;
    from = keyOf(last);
  }
}
