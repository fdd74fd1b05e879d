/**
 * The read-model database: one SQLite file beside the event log (never inside it), holding
 * every projection's tables, the fact index corrections need, parked events and the one
 * checkpoint. A batch of events and the checkpoint are written in one transaction, so a crash
 * never applies an event twice or skips one.
 *
 * Durability: WAL with synchronous=NORMAL. The checkpoint commits with the rows, so a process
 * crash loses nothing (WAL survives it); a power loss may lose the last transactions, rows
 * and checkpoint together, and the runner simply re-applies them from the log. FULL would buy
 * nothing for a disposable, replayable file.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import type { Logger } from 'pino';
import { OPEN_END, isFactType, upcast, type FactType, type Source } from '../events/index.js';
import { PROJECTIONS, SCHEMA_TAG } from './registry.js';
import type { FactVersion, Projection, RowWrite } from './types.js';

export const OPEN = OPEN_END;
const BOOKKEEPING = ['fact_id', 'known_from', 'known_to', 'position'] as const;

/** The minimum of a stored event the runner needs (structurally the store port's StoredEvent). */
export interface LogEvent {
  readonly id: string;
  readonly stream: string;
  readonly position: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

export interface Checkpoint {
  position: string | null;
  applied: number;
  recordedAt: string | null;
}

export interface ParkedEvent {
  position: string;
  eventId: string;
  type: string;
  factId: string | null;
  error: string;
}

export function tableNames(): string[] {
  return PROJECTIONS.flatMap((p) => p.tables.map((t) => t.name));
}

/**
 * The query indexes (not the fact_id ones the writer needs): created after a bulk build, faster
 * than maintained row by row. A bulk build also loads tables clustered by a primary key as
 * plain tables (appending rows is cheaper than inserting them at their place in the key order);
 * here they are sorted into their clustered form.
 */
export function createIndexes(db: Db, afterFactIndexes?: () => void): void {
  for (const p of PROJECTIONS) {
    for (const t of p.tables) {
      if (t.primaryKey) {
        const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(t.name) as string | undefined;
        if (sql !== undefined && !/WITHOUT ROWID/i.test(sql)) {
          const cols = [...BOOKKEEPING, ...t.columns].join(', ');
          db.exec(`CREATE TABLE ${t.name}__sorted (${cols}, PRIMARY KEY (${t.primaryKey})) WITHOUT ROWID;
            INSERT INTO ${t.name}__sorted (${cols}) SELECT ${cols} FROM ${t.name} ORDER BY ${t.primaryKey};
            DROP TABLE ${t.name};
            ALTER TABLE ${t.name}__sorted RENAME TO ${t.name};`);
        }
      }
      db.exec(`CREATE INDEX IF NOT EXISTS ${t.name}_fact ON ${t.name} (fact_id)`);
    }
  }
  afterFactIndexes?.();
  for (const p of PROJECTIONS) {
    for (const t of p.tables) t.indexes.forEach((cols, i) => db.exec(`CREATE INDEX IF NOT EXISTS ${t.name}_i${i} ON ${t.name} (${cols})`));
  }
}

function createSchema(db: Db, deferIndexes: boolean): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL, recorded_at TEXT);
    INSERT OR IGNORE INTO checkpoint (id, position, applied, recorded_at) VALUES (1, NULL, 0, NULL);
    CREATE TABLE IF NOT EXISTS facts (fact_id TEXT PRIMARY KEY, type TEXT NOT NULL, target TEXT NOT NULL, position TEXT NOT NULL, retracted_at TEXT) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS parked (position TEXT PRIMARY KEY, event_id TEXT NOT NULL, type TEXT NOT NULL, fact_id TEXT, error TEXT NOT NULL);
  `);
  for (const p of PROJECTIONS) {
    for (const t of p.tables) {
      const cols = [...BOOKKEEPING, ...t.columns].join(', ');
      // A bulk build appends to plain tables and sorts them into their key order at the end (createIndexes).
      db.exec(t.primaryKey && !deferIndexes ? `CREATE TABLE IF NOT EXISTS ${t.name} (${cols}, PRIMARY KEY (${t.primaryKey})) WITHOUT ROWID` : `CREATE TABLE IF NOT EXISTS ${t.name} (${cols})`);
    }
  }
  if (!deferIndexes) createIndexes(db);
  db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('schema', SCHEMA_TAG);
}

export interface OpenOptions {
  /**
   * A fresh file being rebuilt: no journal and no fsync until it is swapped in (a crash
   * leaves a file nobody uses), query indexes created at the end (createIndexes). Default false.
   */
  readonly bulk?: boolean;
}

/** Opens (creating if needed) a read-model file; a file with another schema tag is emptied first. */
export function openDb(path: string, options: OpenOptions = {}): Db {
  const db = new Database(path);
  if (options.bulk) {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
  } else {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  const hasTables = (db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() as number) > 0;
  const hasMeta = (db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get() as number) > 0;
  const tag = hasMeta ? (db.prepare("SELECT v FROM meta WHERE k = 'schema'").pluck().get() as string | undefined) : undefined;
  if (hasTables && tag !== SCHEMA_TAG) {
    // Read models are disposable: another version is dropped and rebuilt from the log.
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const t of tables) db.exec(`DROP TABLE IF EXISTS "${t}"`);
  }
  createSchema(db, options.bulk === true);
  return db;
}

export interface WriterOptions {
  /**
   * Bulk build (a fresh file nobody reads until it is swapped in): closing superseded
   * versions is deferred to `finishBulk()`, which closes them all in one pass per table, and
   * rows are inserted ten at a time (one statement for ten rows costs ~30% less a row).
   * Call finishBulk from createIndexes, once the fact_id indexes exist. Default false.
   */
  readonly deferCloses?: boolean;
}

/** Rows a bulk build inserts with one statement. */
const BULK_ROWS = 10;

/** Applies events to one read-model database; the only writer of its rows. */
export class ReadModelWriter {
  /** Bulk build: each correction's or retraction's close of its target's versions, in log order. */
  private readonly deferred: { factId: string; at: string; position: string }[] = [];
  /** Bulk build: rows waiting to be inserted BULK_ROWS at a time, flattened, by table ('facts' too). */
  private readonly pending = new Map<string, { rows: unknown[]; columns: number }>();
  private readonly bulkInserts = new Map<string, Statement>();
  private readonly inserts = new Map<string, { stmt: Statement; columns: readonly string[] }>();
  private readonly closes = new Map<string, Statement>();
  private readonly byType = new Map<FactType, Projection[]>();
  private readonly factGet: Statement;
  private readonly factPut: Statement;
  private readonly retract: Statement;
  private readonly parkStmt: Statement;
  private readonly cpPut: Statement;
  private readonly batchTx: (events: readonly LogEvent[]) => void;
  private cp: Checkpoint;

  constructor(
    readonly db: Db,
    private readonly log: Logger,
    private readonly onParked: (p: ParkedEvent) => void = () => undefined,
    private readonly options: WriterOptions = {},
  ) {
    for (const p of PROJECTIONS) {
      for (const t of p.tables) {
        const cols = [...BOOKKEEPING, ...t.columns];
        this.inserts.set(t.name, { stmt: db.prepare(`INSERT INTO ${t.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`), columns: t.columns });
        this.closes.set(t.name, db.prepare(`UPDATE ${t.name} SET known_to = ? WHERE fact_id = ? AND known_to = '${OPEN}'`));
      }
      for (const type of p.handles) this.byType.set(type, [...(this.byType.get(type) ?? []), p]);
    }
    this.factGet = db.prepare('SELECT type, target, retracted_at FROM facts WHERE fact_id = ?');
    this.factPut = db.prepare('INSERT OR IGNORE INTO facts (fact_id, type, target, position, retracted_at) VALUES (?, ?, ?, ?, NULL)');
    this.retract = db.prepare('UPDATE facts SET retracted_at = ? WHERE fact_id = ?');
    this.parkStmt = db.prepare('INSERT OR REPLACE INTO parked (position, event_id, type, fact_id, error) VALUES (?, ?, ?, ?, ?)');
    this.cpPut = db.prepare('UPDATE checkpoint SET position = ?, applied = ?, recorded_at = ? WHERE id = 1');
    const row = db.prepare('SELECT position, applied, recorded_at AS recordedAt FROM checkpoint WHERE id = 1').get() as Checkpoint;
    this.cp = { ...row };
    this.batchTx = db.transaction((events: readonly LogEvent[]) => {
      for (const e of events) this.applyOne(e);
      this.flushPending();
      const last = events.at(-1);
      if (last) {
        this.cp = { position: last.position, applied: this.cp.applied + events.length, recordedAt: last.recordedAt };
        this.cpPut.run(this.cp.position, this.cp.applied, this.cp.recordedAt);
      }
    });
  }

  checkpoint(): Checkpoint {
    return { ...this.cp };
  }

  /** Applies a batch and moves the checkpoint past it, in one transaction. */
  applyBatch(events: readonly LogEvent[]): void {
    const fresh = this.cp.position === null ? events : events.filter((e) => e.position > (this.cp.position as string));
    if (fresh.length) this.batchTx(fresh);
  }

  parkedCount(): number {
    return this.db.prepare('SELECT count(*) FROM parked').pluck().get() as number;
  }

  private applyOne(e: LogEvent): void {
    if (!isFactType(e.type)) return; // bookkeeping (key reservations): not a fact about the world
    const meta = e.metadata as { factId?: string; source?: Source; schemaVersion?: number };
    const factId = meta.factId ?? null;
    try {
      if (!factId) throw new Error('event has no metadata.factId');
      const data = upcast(e.type, e.data, meta.schemaVersion) as Record<string, unknown>;
      const source = meta.source ?? null;
      if (e.type === 'FactCorrected' || e.type === 'FactRetracted') {
        const target = this.resolve(data['fact'] as string);
        const writes = e.type === 'FactCorrected' ? this.evolve({ factId: target.id, type: target.type, data: data['data'] as Record<string, unknown>, source }) : [];
        this.closeVersion(target.id, target.type, e.recordedAt, e.position);
        this.write(writes, target.id, e.recordedAt, e.position);
        this.putFact(factId, e.type, target.id, e.position);
        if (e.type === 'FactRetracted') this.retract.run(e.recordedAt, target.id);
        return;
      }
      const writes = this.evolve({ factId, type: e.type, data, source });
      this.write(writes, factId, e.recordedAt, e.position);
      this.putFact(factId, e.type, factId, e.position);
    } catch (err) {
      const p: ParkedEvent = { position: e.position, eventId: e.id, type: e.type, factId, error: err instanceof Error ? err.message : String(err) };
      this.parkStmt.run(p.position, p.eventId, p.type, p.factId, p.error);
      this.log.error({ position: e.position, type: e.type, factId, err }, 'projection failed on an event; parked it and went on');
      this.onParked(p);
    }
  }

  /** A correction or retraction names a fact; naming a correction means the fact it corrected. */
  private resolve(fact: string): { id: string; type: FactType } {
    this.flushPending('facts');
    const row = this.factGet.get(fact) as { type: string; target: string; retracted_at: string | null } | undefined;
    if (!row) throw new Error(`correction or retraction of an unknown fact ${fact}`);
    if (row.target !== fact) return this.resolve(row.target);
    if (row.retracted_at) throw new Error(`fact ${fact} was retracted at ${row.retracted_at}`);
    return { id: fact, type: row.type as FactType };
  }

  private evolve(fact: FactVersion): RowWrite[] {
    const out: RowWrite[] = [];
    for (const p of this.byType.get(fact.type) ?? []) out.push(...p.evolve(fact));
    for (const w of out) if (!this.inserts.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
    return out;
  }

  private closeVersion(factId: string, type: FactType, at: string, position: string): void {
    if (this.options.deferCloses) {
      this.deferred.push({ factId, at, position });
      return;
    }
    for (const p of this.byType.get(type) ?? []) for (const t of p.tables) this.closes.get(t.name)?.run(at, factId);
  }

  /**
   * Bulk build: the deferred closes, as if each had run in log order on the rows written
   * before it. A row of fact F written at position p stops being known at the first close of
   * F (in log order) after p, so each table is closed in one UPDATE against a temporary
   * table of the closes, found through the table's fact_id index: call it from createIndexes
   * (`createIndexes(db, () => writer.finishBulk())`).
   */
  finishBulk(): void {
    this.flushPending();
    if (this.deferred.length === 0) return;
    this.db.exec('CREATE TEMP TABLE bulk_closes (fact_id TEXT NOT NULL, position TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (fact_id, position)) WITHOUT ROWID');
    const put = this.db.prepare('INSERT OR IGNORE INTO bulk_closes (fact_id, position, at) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const c of this.deferred) put.run(c.factId, c.position, c.at);
      for (const name of this.inserts.keys()) {
        this.db.exec(
          `UPDATE ${name} SET known_to = COALESCE((SELECT c.at FROM bulk_closes c WHERE c.fact_id = ${name}.fact_id AND c.position > ${name}.position ORDER BY c.position LIMIT 1), known_to)
           WHERE known_to = '${OPEN}' AND fact_id IN (SELECT fact_id FROM bulk_closes)`,
        );
      }
    })();
    this.db.exec('DROP TABLE bulk_closes');
    this.deferred.length = 0;
  }

  /** Bulk build: a row for `table`; inserted once BULK_ROWS of them wait. */
  private queue(table: string, values: readonly unknown[]): void {
    let p = this.pending.get(table);
    if (!p) this.pending.set(table, (p = { rows: [], columns: values.length }));
    for (const v of values) p.rows.push(v);
    if (p.rows.length === BULK_ROWS * p.columns) {
      this.bulkInsert(table, p.columns, BULK_ROWS).run(p.rows);
      p.rows.length = 0;
    }
  }

  /** `INSERT INTO table VALUES (…), …` for `rows` rows of `columns` values (the table's column order). */
  private bulkInsert(table: string, columns: number, rows: number): Statement {
    const key = `${table}/${rows}`;
    let stmt = this.bulkInserts.get(key);
    if (!stmt) {
      const one = `(${new Array(columns).fill('?').join(', ')})`;
      stmt = this.db.prepare(`${table === 'facts' ? 'INSERT OR IGNORE' : 'INSERT'} INTO ${table} VALUES ${new Array(rows).fill(one).join(', ')}`);
      this.bulkInserts.set(key, stmt);
    }
    return stmt;
  }

  /** Bulk build: inserts what waits (of one table, or of all). */
  private flushPending(only?: string): void {
    for (const [table, p] of this.pending) {
      if (p.rows.length === 0 || (only !== undefined && table !== only)) continue;
      this.bulkInsert(table, p.columns, p.rows.length / p.columns).run(p.rows);
      p.rows.length = 0;
    }
  }

  private putFact(factId: string, type: string, target: string, position: string): void {
    if (this.options.deferCloses) this.queue('facts', [factId, type, target, position, null]);
    else this.factPut.run(factId, type, target, position);
  }

  private write(writes: readonly RowWrite[], factId: string, knownFrom: string, position: string): void {
    for (const w of writes) {
      const ins = this.inserts.get(w.table) as { stmt: Statement; columns: readonly string[] };
      const values = [factId, knownFrom, OPEN, position, ...ins.columns.map((c) => w.row[c] ?? null)];
      if (this.options.deferCloses) this.queue(w.table, values);
      else ins.stmt.run(values);
    }
  }
}
