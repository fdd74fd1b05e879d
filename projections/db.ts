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
import { OPEN_END, isAmendment, isAmendmentType, isCreatingType, isFactType, parseStream, storedFact, upcast, type FactType, type Source } from '../events/index.js';
import { PROJECTIONS, SCHEMA_TAG } from './registry.js';
import { TermsKeeper, buildTerms, createTerms } from './offices/terms-index.js';
import { I32_MAX, createRtree, dayKey, entityKey, secondKey, rtreeOf } from './temporal.js';
import type { Cell, FactVersion, Projection, RowWrite, TableSpec } from './types.js';
import { BulkInsert } from './bulk-insert.js';
import { packRtree } from './rtree-pack.js';
import { BULK_TABLES, FACT_COLUMNS, checkCell, FACT_STRIDE, F_ID, F_POSITION, F_RECORDED, F_REVISION, F_STREAM, F_TYPE } from './bulk-rows.js';
import type { DecodedBatch } from './rebuild-decoder.js';
import { StoredItems, finishStoredItems } from './documents/stored.js';
import { BuildViews, LiveViews } from './sessions/live-views.js';
import { READ_OUT_INDEXES, READ_OUT_SKIPPED_TABLES } from './read-out.js';
import { readPageBytes } from './page-size.js';

export const OPEN = OPEN_END;
/**
 * Every row's bookkeeping: its fact, when its version was known (from, to), the position of
 * the event that wrote it, and `corrected_by`: the correction that wrote this version (NULL:
 * the fact as first recorded). A version known at k was written by the latest correction of
 * its fact known at k (a later one closes it), so an answer's `correctedBy` is read from the
 * row instead of sought among the facts for every item (a page of sessions: ~160 probes).
 */
const BOOKKEEPING = ['fact_id', 'known_from', 'known_to', 'position', 'corrected_by'] as const;

/** The minimum of a stored event the runner needs (structurally the store port's StoredEvent). */
export interface LogEvent {
  readonly id: string;
  readonly stream: string;
  readonly revision: number;
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
  /** The id of the event at `position`, and the position before it (src/store/identity.ts). */
  eventId: string | null;
  previous: string | null;
  /** The identity of the log these read models follow; null until known. */
  log: string | null;
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

/** Derived index tables (temporal indexes, spans): rebuilt equal to the running ones, like the rows. */
export function indexTableNames(): string[] {
  return [...PROJECTIONS.flatMap((p) => p.tables.filter((t) => t.temporal).map((t) => rtreeOf(t.name))), 'spans', 'terms', 'terms_rt'];
}

const tableSpecs = (): TableSpec[] => PROJECTIONS.flatMap((p) => p.tables);

/** The columns a row's INSERT binds: the bookkeeping, `first_position` (TableSpec.firstPosition), the projection's, `earliest` (TableSpec.first), the stored ones (TableSpec.stored); all but the derived ones, which its statement computes. */
const boundColumns = (t: TableSpec): string[] => [...BOOKKEEPING, ...(t.firstPosition ? ['first_position'] : []), ...t.columns, ...(t.first ? ['earliest'] : []), ...(t.stored ?? [])];

/** A table's columns in the order its rows are written: the bound ones, and its derived ones (TableSpec.derived) last (stored columns are computed for adoptions only, and never beside derived ones: the writer refuses a table that has both). */
const rowColumns = (t: TableSpec): string[] => [...boundColumns(t), ...(t.derived?.columns ?? [])];

/**
 * A table's live INSERT: its bound columns, and the derived ones computed from them by the same
 * statement (the values of a one-row subquery `r`), as finishBulk computes them for a rebuild.
 */
function insertSql(t: TableSpec): string {
  const bound = boundColumns(t);
  const d = t.derived;
  if (!d) return `INSERT INTO ${t.name} (${bound.join(', ')}) VALUES (${bound.map(() => '?').join(', ')})`;
  return `INSERT INTO ${t.name} (${rowColumns(t).join(', ')}) SELECT r.*, ${d.values('r').map((v) => `CASE WHEN ${d.where('r')} THEN ${v} END`).join(', ')} FROM (SELECT ${bound.map((c) => `? AS ${c}`).join(', ')}) r`;
}

/** SET of a table's derived columns, computed from the row as it is (an UPDATE of `t`). */
const derivedSet = (t: TableSpec): string => (t.derived as NonNullable<TableSpec['derived']>).values(t.name).map((v, i) => `${(t.derived as NonNullable<TableSpec['derived']>).columns[i]} = ${v}`).join(', ');

/**
 * A fact's rows in a table (binds `@fact`, and `@entity` with a stream key): through the
 * clustered key where the fact's id leads it (TableSpec.factKey), through the key led by the
 * id of the entity whose stream the fact lives in (TableSpec.streamKey), else by fact_id.
 */
const factWhere = (t: TableSpec): string =>
  t.factKey ? `${t.factKey} = @fact AND fact_id = @fact` : t.streamKey ? `${t.streamKey.column} IS @entity AND fact_id = @fact` : 'fact_id = @fact';

/** A table with an index on (fact_id): the writer's closes need one unless a key leads with the fact's id or its stream's entity. */
const hasFactIndex = (t: TableSpec): boolean => !t.factKey && !t.streamKey;

/** Whole days from `s0` to `e1` (both `YYYY-MM-DD`), as SQLite's julianday difference gives them. */
export function spanDays(s0: string, e1: string): number {
  return Math.round((Date.parse(e1) - Date.parse(s0)) / 86_400_000);
}

export interface IndexOptions {
  /** Make `terms` (a live file; default true). A bulk build makes them from the finished tables (finishBulk, terms-build.ts). */
  readonly terms?: boolean;
  /** Only these tables' sorted copies and indexes: not the facts' indexes, the spans nor the temporal indexes. */
  readonly only?: readonly string[];
  /** Every table's but these (already made). */
  readonly except?: readonly string[];
  /**
   * A replay's fold (read-out.ts): only the indexes its read-out reads (READ_OUT_INDEXES), no
   * sorted copy nor index of the tables it leaves empty, no `spans`, no temporal index.
   */
  readonly readOutOnly?: boolean;
  /**
   * A bulk build: a table's indexes that hold a column finishBulk writes after the index builds
   * (`earliest`, the stored items: writtenLater), from the first such one on, are not made here
   * but put on this list, in order, for the build to make once finishBulk has written those
   * columns (makeLater). Made before, each row's UPDATE there rewrote its entries in them
   * (adoptions_i3, adoptions_i4: the stored items and `earliest` 1.05-1.30 s of CPU with them
   * against 0.65-0.70 s with the two made after, s42-al). The same entries either way, made in
   * the same order (an index after the first such one waits too).
   */
  readonly later?: LaterIndex[];
}

/** An index build left for after finishBulk's UPDATEs (IndexOptions.later). */
export interface LaterIndex {
  readonly sql: string;
  /** Its phase's name, as createIndexes names it. */
  readonly label: string;
}

/** The columns of `t` finishBulk writes once the indexes are made: `earliest`, the stored items. */
const writtenLater = (t: TableSpec): readonly string[] => [...(t.first ? ['earliest'] : []), ...(t.stored ?? [])];

/** Makes the index builds createIndexes left for later (IndexOptions.later), each a phase. */
export function makeLater(db: Db, later: readonly LaterIndex[], phase: (name: string) => void = () => undefined): void {
  for (const l of later) {
    db.exec(l.sql);
    phase(l.label);
  }
}

/** The facts' indexes (GET /v1/changes and annals diff read facts_recorded: facts in a window of recording time, in keyset order). */
const FACTS_AMENDMENTS = "CREATE INDEX IF NOT EXISTS facts_amendments ON facts (target, position) WHERE type IN ('FactCorrected', 'FactRetracted');";
const FACTS_INDEXES = `${FACTS_AMENDMENTS}
  CREATE INDEX IF NOT EXISTS facts_recorded ON facts (recorded_at, position);`;
/** The facts' indexes a build makes: both, or for a replay's fold (read-out.ts) the amendments' alone (its read-out reads no window of recording time). */
const factsIndexes = (readOutOnly: boolean): string => (readOutOnly ? FACTS_AMENDMENTS : FACTS_INDEXES);
const factsIndexesMade = (db: Db, readOutOnly: boolean): boolean =>
  (db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('facts_amendments', 'facts_recorded')").pluck().get() as number) === (readOutOnly ? 1 : 2);

/**
 * A bulk build's indexes kept up while the log is applied instead of built after it: those
 * whose keys rise with the log (a fact's id and recording time rise with its position: each
 * entry lands on the index's last page, as the rows land on the table's), on tables that are
 * not sorted into a new table at the end: `facts (recorded_at, position)`, `timeline (fact_id)`,
 * and the facts' amendments (a tenth of the facts, a small index). Built at the end they cost a
 * pass over their table and a sort each on the thread that builds (the facts' a pass over every
 * fact's row), while the terms' thread and the sorter want the other core; kept up during the log
 * they cost the applying thread an index entry a row (the same entries: createIndexes then finds
 * them made). The same indexes, the same entries either way.
 */
export function createAppendedIndexes(db: Db, readOutOnly = false): void {
  db.exec(factsIndexes(readOutOnly));
  for (const t of tableSpecs()) {
    if (readOutOnly && READ_OUT_SKIPPED_TABLES.includes(t.name)) continue;
    if (hasFactIndex(t) && !t.primaryKey) db.exec(`CREATE INDEX IF NOT EXISTS ${t.name}_fact ON ${t.name} (fact_id)`);
  }
}

/**
 * The query indexes (not the fact_id ones the writer needs): created after a bulk build, faster
 * than maintained row by row. A bulk build also loads tables clustered by a primary key as
 * plain tables (appending rows is cheaper than inserting them at their place in the key order);
 * here they are sorted into their clustered form.
 */
export function createIndexes(db: Db, phase: (name: string) => void = () => undefined, options: IndexOptions = {}): void {
  const { only, except = [], readOutOnly = false } = options;
  if (only === undefined) {
    // A bulk build made these before the log (createAppendedIndexes): then a no-op.
    const made = factsIndexesMade(db, readOutOnly);
    db.exec(factsIndexes(readOutOnly));
    if (!made) phase(readOutOnly ? 'facts: index (target, position)' : 'facts: indexes (target, position), (recorded_at, position)');
  }
  for (const p of PROJECTIONS) {
    for (const t of p.tables) {
      if ((only !== undefined && !only.includes(t.name)) || except.includes(t.name)) continue;
      // A replay's fold leaves these tables empty (read-out.ts): nothing to sort or index.
      if (readOutOnly && READ_OUT_SKIPPED_TABLES.includes(t.name)) continue;
      if (t.primaryKey) {
        const sql = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(t.name) as string | undefined;
        if (sql !== undefined && !/WITHOUT ROWID/i.test(sql)) {
          const cols = rowColumns(t).join(', ');
          db.exec(`CREATE TABLE ${t.name}__sorted (${cols}, PRIMARY KEY (${t.primaryKey})) WITHOUT ROWID;
            INSERT INTO ${t.name}__sorted (${cols}) SELECT ${cols} FROM ${t.name} ORDER BY ${t.primaryKey};
            DROP TABLE ${t.name};
            ALTER TABLE ${t.name}__sorted RENAME TO ${t.name};`);
          phase(`${t.name}: sorted by (${t.primaryKey})`);
        }
      }
      if (hasFactIndex(t)) {
        const made = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?").pluck().get(`${t.name}_fact`) === 1;
        db.exec(`CREATE INDEX IF NOT EXISTS ${t.name}_fact ON ${t.name} (fact_id)`);
        if (!made) phase(`${t.name}: index (fact_id)`);
      }
      const late = options.later === undefined ? [] : writtenLater(t);
      let deferring = false;
      t.indexes.forEach((spec, i) => {
        if (readOutOnly && !READ_OUT_INDEXES.has(`${t.name}_i${i}`)) return;
        const [cols, where] = spec.split(' WHERE ');
        const sql = `CREATE INDEX IF NOT EXISTS ${t.name}_i${i} ON ${t.name} (${cols})${where ? ` WHERE ${where}` : ''}`;
        const label = `${t.name}: index (${cols})${where ? ` where ${where}` : ''}`;
        deferring ||= late.some((c) => new RegExp(`\\b${c}\\b`).test(spec));
        if (deferring) {
          options.later?.push({ sql, label });
          return;
        }
        db.exec(sql);
        phase(label);
      });
    }
  }
  // Only some tables' sorts and indexes (a bulk build's first steps): the rest comes with the others.
  if (only !== undefined) return;
  // Temporal indexes and spans made here are filled from the rows already written (a bulk
  // build); on a new live file they start empty and the writer keeps them.
  const exists = (name: string): boolean => (db.prepare("SELECT count(*) FROM sqlite_master WHERE name = ?").pluck().get(name) as number) > 0;
  // Appointments as departures cut them (offices/terms-index.ts): kept by the writer, or made by finishBulk.
  // A bulk build makes them in finishBulk (buildTerms), from the finished tables.
  if (options.terms !== false) createTerms(db);
  // A replay's read-out reads neither the spans nor a temporal index (read-out.ts).
  if (readOutOnly) return;
  if (!exists('spans')) {
    db.exec('CREATE TABLE spans (tbl TEXT NOT NULL, grp TEXT NOT NULL, days INTEGER NOT NULL, PRIMARY KEY (tbl, grp)) WITHOUT ROWID');
    for (const t of tableSpecs()) {
      if (!t.span) continue;
      const { group, from = 's0', to = 'e1' } = t.span;
      // NOT INDEXED: one pass over the table; through an index on `from` (timeline's lo) each row is a random read (2.2 -> 1.5 s of CPU on the 1,000,000-fact record).
      db.exec(`INSERT INTO spans (tbl, grp, days) SELECT '${t.name}', ${group}, max(CAST(round(julianday(${to}) - julianday(${from})) AS INTEGER)) FROM ${t.name} NOT INDEXED WHERE ${to} <> '${OPEN}' AND ${from} IS NOT NULL AND ${group} IS NOT NULL GROUP BY ${group}`);
    }
    phase('spans');
  }
  for (const t of tableSpecs()) {
    const spec = t.temporal;
    if (!spec || exists(rtreeOf(t.name))) continue;
    createRtree(db, t.name);
    const rt = rtreeOf(t.name);
    // Packed from the rows (rtree-pack.ts), not inserted one by one; the keys as the writer's upkeep makes them
    // (prepareUpkeep: of the days of every version of the rows the table takes its days from).
    // Days none yet (no row to take them from has any): no entry, as the upkeep makes none.
    const entry = ([id, entity, s0, e1, knownFrom]: [number, unknown, unknown, unknown, unknown]) =>
      s0 === null || e1 === null ? null : ([id, entityKey(String(entity)), dayKey(String(s0)), dayKey(String(e1)), secondKey(String(knownFrom)), I32_MAX] as const);
    if (spec.daysFrom) {
      const f = spec.daysFrom;
      packRtree(db, rt, `SELECT a.rowid, a.${spec.entity}, min(s.s0), max(s.e1), a.known_from
        FROM ${t.name} a JOIN ${f.table} s ON s.${f.id} = a.${f.ref} WHERE a.${spec.entity} IS NOT NULL GROUP BY a.rowid`, entry);
    } else packRtree(db, rt, `SELECT rowid, ${spec.entity}, s0, e1, known_from FROM ${t.name} WHERE ${spec.entity} IS NOT NULL`, entry);
    phase(`${rt}: filled`);
  }
}

function createSchema(db: Db, deferIndexes: boolean): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position TEXT, applied INTEGER NOT NULL, recorded_at TEXT, event_id TEXT, previous TEXT, log TEXT);
    INSERT OR IGNORE INTO checkpoint (id, position, applied, recorded_at) VALUES (1, NULL, 0, NULL);
    -- Every fact: where it lives in the log (stream, revision: GET /v1/facts/{factId} reads its
    -- versions there), when it was recorded, and for corrections and retractions the fact they
    -- name (target) and why (reason: correctedBy on answers).
    CREATE TABLE IF NOT EXISTS facts (fact_id TEXT PRIMARY KEY, type TEXT NOT NULL, target TEXT NOT NULL, position TEXT NOT NULL, retracted_at TEXT, stream TEXT NOT NULL, revision INTEGER NOT NULL, recorded_at TEXT NOT NULL, reason TEXT) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS parked (position TEXT PRIMARY KEY, event_id TEXT NOT NULL, type TEXT NOT NULL, fact_id TEXT, error TEXT NOT NULL);
  `);
  // Read models made before the log's identity was kept: the columns are added, filled by the next batch.
  const cpColumns = new Set((db.prepare('PRAGMA table_info(checkpoint)').all() as { name: string }[]).map((c) => c.name));
  for (const c of ['event_id', 'previous', 'log']) if (!cpColumns.has(c)) db.exec(`ALTER TABLE checkpoint ADD COLUMN ${c} TEXT`);
  for (const p of PROJECTIONS) {
    for (const t of p.tables) {
      const cols = rowColumns(t).join(', ');
      // A bulk build appends to plain tables and sorts them into their key order at the end (createIndexes).
      db.exec(t.primaryKey && !deferIndexes ? `CREATE TABLE IF NOT EXISTS ${t.name} (${cols}, PRIMARY KEY (${t.primaryKey})) WITHOUT ROWID` : `CREATE TABLE IF NOT EXISTS ${t.name} (${cols})`);
    }
  }
  if (!deferIndexes) createIndexes(db);
  db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('schema', SCHEMA_TAG);
}

/** Sets the page size a new file (or attached `schema`) gets: before its first page is made; a no-op on a file that has pages. */
export function setPageSize(db: Db, schema = 'main'): void {
  db.pragma(`${schema}.page_size = ${readPageBytes()}`);
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
  try {
    setUp(db, options);
  } catch (err) {
    // Not left to the garbage collector: a failing open retried (a rebuild's swap) would pile up open files.
    db.close();
    throw err;
  }
  return db;
}

/**
 * A bulk build's file (or `schema`, a file attached for one): no journal, no fsync; a crash
 * leaves a file nobody uses. better-sqlite3 opens connections in SQLite's defensive mode, which
 * ignores `journal_mode = OFF` (the file kept a rollback journal, made and unlinked at each
 * COMMIT, and wrote each reused page there first): lifted for this pragma only.
 */
export function unjournaled(db: Db, schema = 'main'): void {
  db.unsafeMode(true);
  try {
    db.pragma(`${schema}.journal_mode = OFF`);
  } finally {
    db.unsafeMode(false);
  }
  db.pragma(`${schema}.synchronous = OFF`);
}

function setUp(db: Db, options: OpenOptions): void {
  // Before the journal mode: WAL writes the new file's first page.
  setPageSize(db);
  if (options.bulk) {
    unjournaled(db);
  } else {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // A checkpoint every 4,000 pages (SQLite's default is 1,000): the live runner commits a few
    // events at a time, each COMMIT dirtying a leaf page of most indexes, so a checkpoint copies
    // the same hot pages again and again and fsyncs twice; at 4,000 it copies each once per
    // ~4x as many commits (applying 24 events a commit: 66-74 -> 54-59 us of CPU an event).
    db.pragma('wal_autocheckpoint = 4000');
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
}

/** A fact's row as the writer reads it back (a correction or retraction resolving the fact it names). */
interface FactRow {
  readonly type: string;
  readonly target: string;
  readonly retracted_at: string | null;
  readonly stream: string;
  /** Its first recording's (a fact's row is written once: INSERT OR IGNORE). */
  readonly position: string;
}

/** A statement over a fact's rows in one table, and with a stream key the one for a fact whose stream does not parse. */
interface FactRows {
  readonly stmt: Statement;
  readonly key: TableSpec['streamKey'] | null;
  readonly anywhere: Statement | null;
}

/** A table's INSERT, its projection's columns, its bulk appender (a bulk build), and the probe that decides `earliest` (TableSpec.first). */
interface Insert {
  stmt: Statement;
  columns: readonly string[];
  bulk: BulkInsert | null;
  first: { column: string; any: Statement } | null;
  /** Whether the row carries its fact's first position (TableSpec.firstPosition). */
  firstPosition: boolean;
  /** How many stored columns (TableSpec.stored): NULL in a bulk build until finishBulk. */
  stored: number;
  /** How many derived columns (TableSpec.derived): a bulk build fills them as its rows are buffered (BuildViews), NULL there only for finishBulk to derive (a dirty id, or every row: `full`). */
  derived: number;
  /** Live, a row whose derived values JS makes (session items: sessions/live-views.ts), bound whole; `stmt` computes them when JS cannot. */
  plain: Statement | null;
  spec: TableSpec;
}

export interface WriterOptions {
  /**
   * Bulk build: closing superseded versions is deferred to `finishBulk()`, after the indexes
   * exist (an UPDATE by fact_id per correction needs one; maintaining it row by row is what
   * a bulk build avoids). Default false.
   */
  readonly deferCloses?: boolean;
  /**
   * Bulk build whose memory must stay bounded (a replay): session items' texts derived by one
   * UPDATE at the end instead of made in JS from ~150,000 held entity views (~25 MB at
   * 1,000,000 facts; BuildViews). Default false.
   */
  readonly boundedMemory?: boolean;
  /**
   * Bulk build of a replay's fold (read-out.ts): the rows of READ_OUT_SKIPPED_TABLES are
   * dropped (their cells still checked, as in a rebuild), and finishBulk makes neither the
   * adoptions' stored items nor the derived columns (session items' texts), which the
   * read-out does not read. Default false.
   */
  readonly readOutOnly?: boolean;
}

const STORAGE_FAULTS = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|NOMEM|READONLY|CANTOPEN|PROTOCOL|CORRUPT|NOTADB)/;

/** An event failed part-way through the batch's first attempt: the batch is applied again, that event parked. */
class EventFailed extends Error {
  constructor(readonly error: unknown) {
    super('an event failed part-way', { cause: error });
  }
}

/** A fault of the file or the disk (SQLite's I/O codes), as opposed to a projection's error on an event. */
export function isStorageFault(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && STORAGE_FAULTS.test(code);
}

/** Applies events to one read-model database; the only writer of its rows. */
/** `id, at` once for each of `n` EXISTS (ReadModelWriter.rederiveAny: positional parameters, bound cheaper than named ones). */
function bindTwice(n: number, id: unknown, at: string): unknown[] {
  const out = new Array<unknown>(n * 2);
  for (let i = 0; i < n; i++) [out[i * 2], out[i * 2 + 1]] = [id, at];
  return out;
}

export class ReadModelWriter {
  /** Bulk build: closes waiting for finishBulk, counted (they wait in `bulk_closes`, not in memory). */
  private deferred = 0;
  private deferClose: BulkInsert | null = null;
  private readonly inserts = new Map<string, Insert>();
  /** Every BulkInsert, flushed before each COMMIT. */
  private readonly bulks: BulkInsert[] = [];
  /** Bulk build: each table's BulkInsert in BULK_TABLES order (a decoded batch's), and the `facts` rows'. */
  private readonly bulkTables: BulkInsert[] = [];
  /** Bulk build of a replay's fold: the tables whose rows are dropped (WriterOptions.readOutOnly), and their BULK_TABLES entries. */
  private readonly skipped: ReadonlySet<string>;
  private readonly skippedAt: readonly boolean[];
  private readonly factsBulk: BulkInsert | null;
  /** Index upkeep after a row is inserted (none in a bulk build: createIndexes fills them at the end). */
  private readonly upkeep = new Map<string, ((row: RowWrite['row'], rowid: number, knownFrom: string) => void)[]>();
  /** Appointments as cut by departures (null in a bulk build: finishBulk makes them). */
  private readonly terms: TermsKeeper | null;
  /** Adoptions' stored items (documents/stored.ts; null in a bulk build: finishBulk makes them). */
  private readonly items: StoredItems | null;
  /** Per table with derived columns, per column naming an entity: derive them again for the rows naming it whose `until` is at or after a moment (TableSpec.derived). */
  private readonly rederive: Statement[] = [];
  /**
   * Per table with derived columns, whether any row would be derived again (one statement of
   * positional EXISTS, one index seek a ref column): a creation has none to derive but for a log
   * that named its id before (made by hand), so most `changed` calls end here instead of running
   * every UPDATE of `rederive` (#19, s37-bz).
   */
  private readonly rederiveAny: { stmt: Statement<unknown[]>; refs: number }[] = [];
  /** Live: the entity views session items' texts are made of in JS (null in a bulk build). */
  private readonly views: LiveViews | null;
  /** A bulk build's: its rows' derived values made as they are buffered (null live). */
  private readonly built: BuildViews | null;
  /** The fact types whose versions are entities' (a correction or retraction of one changes an entity). */
  private readonly entityTypes: ReadonlySet<string>;
  /** The (office, person) of a fact's open rows, to cut again (appointments, departures). */
  private readonly closing = new Map<string, FactRows>();
  private readonly closes = new Map<string, FactRows>();
  private readonly byType = new Map<FactType, Projection[]>();
  private readonly factGet: Statement;
  private readonly factPut: Statement;
  private readonly retract: Statement;
  private readonly parkStmt: Statement;
  private readonly cpPut: Statement;
  private readonly logPut: Statement;
  private readonly batchTx: (events: readonly LogEvent[], cp: Checkpoint) => void;
  /** One event inside the batch's transaction: a savepoint, rolled back to if the event fails. */
  private readonly eventTx: (e: LogEvent & { type: FactType }) => void;
  /** A bulk build: no journal, so nothing to roll back to (applyFact orders its writes instead). */
  private readonly bulk: boolean;
  /** Each event in a savepoint: the batch is being applied again after an event failed. */
  private careful = false;
  /** Events parked by the batch being applied: logged and reported once it committed. */
  private parkedNow: { p: ParkedEvent; err: unknown }[] = [];
  private readonly decodedTx: (batch: DecodedBatch, cp: Checkpoint) => void;
  private cp: Checkpoint;
  /** The `facts` row read last within the event being applied (factRow). */
  private lastFact: { id: string; row: FactRow | undefined } | null = null;

  constructor(
    readonly db: Db,
    private readonly log: Logger,
    private readonly onParked: (p: ParkedEvent) => void = () => undefined,
    private readonly options: WriterOptions = {},
  ) {
    if (!options.deferCloses) this.prepareUpkeep(db);
    this.skipped = new Set(options.deferCloses && options.readOutOnly ? READ_OUT_SKIPPED_TABLES : []);
    this.skippedAt = BULK_TABLES.map((t) => this.skipped.has(t.name));
    this.terms = options.deferCloses ? null : new TermsKeeper(db);
    this.items = options.deferCloses ? null : new StoredItems(db);
    this.views = options.deferCloses ? null : new LiveViews(db);
    this.built = options.deferCloses ? new BuildViews(options.boundedMemory !== true) : null;
    const factRows = (t: TableSpec, sql: (where: string) => string): FactRows => ({
      stmt: db.prepare(sql(factWhere(t))),
      key: t.streamKey ?? null,
      // A fact whose stream is not named as this service names them (a log made by hand): its rows found by a scan.
      anywhere: t.streamKey ? db.prepare(sql('fact_id = @fact')) : null,
    });
    for (const t of tableSpecs()) {
      if (t.name === 'appointments' || t.name === 'departures') this.closing.set(t.name, factRows(t, (where) => `SELECT office, person FROM ${t.name} WHERE ${where} AND known_to = '${OPEN}'`));
    }
    for (const p of PROJECTIONS) {
      for (const t of p.tables) {
        if (t.stored && (t.name !== 'adoptions' || t.derived)) throw new Error(`${t.name}: stored columns are computed for adoptions only (documents/stored.ts), and not beside derived ones`);
        const cols = rowColumns(t);
        const bulk = options.deferCloses ? new BulkInsert(db, t.name, cols) : null;
        if (bulk) this.bulks.push(bulk);
        if (bulk) this.bulkTables[BULK_TABLES.indexOf(t)] = bulk;
        // Live, a row is its document's first when no row of it is there yet (a bulk build sets them all in finishBulk).
        const first = t.first ? { column: t.first, any: db.prepare(`SELECT 1 FROM ${t.name} WHERE ${t.first} = ? LIMIT 1`).pluck() } : null;
        const plain = t.derived && !bulk ? db.prepare(`INSERT INTO ${t.name} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`) : null;
        this.inserts.set(t.name, { stmt: db.prepare(insertSql(t)), columns: t.columns, bulk, first, firstPosition: t.firstPosition === true, stored: t.stored?.length ?? 0, derived: t.derived?.columns.length ?? 0, plain, spec: t });
        const d = t.derived;
        if (d && !options.deferCloses) {
          // Each ref column's rows, and the rows naming the id in a list (DerivedSpec.listed).
          const listed = d.listed;
          const naming = [...d.refs.map((ref) => (ids: string) => `${t.name}.${ref} IN ${ids}`), ...(listed ? [(ids: string) => listed.rows(t.name, ids)] : [])];
          for (const rows of naming) this.rederive.push(db.prepare(`UPDATE ${t.name} SET ${derivedSet(t)} WHERE ${rows('(@entity)')} AND ${d.until} >= @at AND ${d.where(t.name)}`));
          const any = db.prepare<unknown[]>(`SELECT ${naming.map((rows) => `EXISTS (SELECT 1 FROM ${t.name} WHERE ${rows('(?)')} AND ${d.until} >= ? AND ${d.where(t.name)})`).join(' OR ')}`).pluck();
          this.rederiveAny.push({ stmt: any, refs: naming.length });
        }
        this.closes.set(t.name, factRows(t, (where) => `UPDATE ${t.name} SET known_to = @at WHERE ${where} AND known_to = '${OPEN}'`));
      }
      for (const type of p.handles) this.byType.set(type, [...(this.byType.get(type) ?? []), p]);
    }
    this.entityTypes = new Set(PROJECTIONS.filter((p) => p.tables.some((t) => t.name === 'entities')).flatMap((p) => p.handles));
    if (options.deferCloses) {
      db.exec('CREATE TABLE IF NOT EXISTS bulk_closes (fact_id TEXT NOT NULL, position TEXT NOT NULL, at TEXT NOT NULL, type TEXT NOT NULL)');
      this.deferClose = new BulkInsert(db, 'bulk_closes', ['fact_id', 'position', 'at', 'type']);
      this.bulks.push(this.deferClose);
    }
    // A bulk build appends `facts` rows many a statement too; a correction or retraction reads them from the file, else from the rows waiting (factRow).
    this.factsBulk = options.deferCloses ? new BulkInsert(db, 'facts', FACT_COLUMNS, true) : null;
    if (this.factsBulk) this.bulks.push(this.factsBulk);
    this.factGet = db.prepare('SELECT type, target, retracted_at, stream, position FROM facts WHERE fact_id = ?');
    this.factPut = db.prepare('INSERT OR IGNORE INTO facts (fact_id, type, target, position, retracted_at, stream, revision, recorded_at, reason) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)');
    this.retract = db.prepare('UPDATE facts SET retracted_at = ? WHERE fact_id = ?');
    this.parkStmt = db.prepare('INSERT OR REPLACE INTO parked (position, event_id, type, fact_id, error) VALUES (?, ?, ?, ?, ?)');
    this.cpPut = db.prepare('UPDATE checkpoint SET position = ?, applied = ?, recorded_at = ?, event_id = ?, previous = ?, log = ? WHERE id = 1');
    this.logPut = db.prepare('UPDATE checkpoint SET log = ? WHERE id = 1');
    const row = db.prepare('SELECT position, applied, recorded_at AS recordedAt, event_id AS eventId, previous, log FROM checkpoint WHERE id = 1').get() as Checkpoint;
    this.cp = { ...row };
    this.bulk = options.deferCloses === true;
    this.eventTx = db.transaction((e: LogEvent & { type: FactType }) => {
      this.applyFact(e);
      this.terms?.flush(e.recordedAt);
    });
    this.batchTx = db.transaction((events: readonly LogEvent[], cp: Checkpoint) => {
      for (const e of events) this.applyOne(e);
      for (const b of this.bulks) b.flush();
      this.cpPut.run(cp.position, cp.applied, cp.recordedAt, cp.eventId, cp.previous, cp.log);
    });
    this.decodedTx = db.transaction((batch: DecodedBatch, cp: Checkpoint) => {
      for (const s of batch.segments) {
        if (s.kind === 'rows') this.putDecoded(s.tables, s.facts);
        else if (s.kind === 'event') this.applyOne(s.event);
        else this.park(s.event, s.factId, s.error, s.err);
      }
      for (const b of this.bulks) b.flush();
      this.cpPut.run(cp.position, cp.applied, cp.recordedAt, cp.eventId, cp.previous, cp.log);
    });
  }

  checkpoint(): Checkpoint {
    return { ...this.cp };
  }

  /**
   * The identity of the log followed (src/store/identity.ts), written at once. An empty
   * EventStoreDB log has none until its first event, which is learned after that event was
   * applied: written only with the next batch, the running file kept none when no batch
   * followed, and differed from a rebuild (esdb-cluster failed on it under load).
   */
  followLog(identity: string | null): void {
    this.cp = { ...this.cp, log: identity };
    // A writer replaced by a rebuild meanwhile: its file is the old one, already closed.
    if (this.db.open) this.logPut.run(identity);
  }

  /**
   * Applies a batch and moves the checkpoint past it, in one transaction. The checkpoint kept
   * in memory moves only once the transaction committed: a failed COMMIT (a full disk) leaves
   * it where the file has it, and the batch is applied again.
   */
  applyBatch(events: readonly LogEvent[]): void {
    const fresh = this.cp.position === null ? events : events.filter((e) => e.position > (this.cp.position as string));
    const last = fresh.at(-1);
    if (last === undefined) return;
    const previous = fresh.length > 1 ? (fresh[fresh.length - 2] as LogEvent).position : this.cp.position;
    const next: Checkpoint = { position: last.position, applied: this.cp.applied + fresh.length, recordedAt: last.recordedAt, eventId: last.id, previous, log: this.cp.log };
    try {
      this.attempt(fresh, next, false);
    } catch (err) {
      if (!(err instanceof EventFailed)) throw err;
      // An event failed part-way and the transaction rolled back whole. Applied again with each
      // event in a savepoint, the failing one is rolled back to its own and parked. Only a
      // failing batch pays for the savepoints: one around every event of every batch cost 4% more
      // CPU live (40,000 events in batches of 10,000, alternating; -2 to +11% a batch, load ~25).
      this.attempt(fresh, next, true);
    }
    this.cp = next;
    this.reportParked();
  }

  private attempt(events: readonly LogEvent[], next: Checkpoint, careful: boolean): void {
    this.careful = careful;
    this.parkedNow = [];
    try {
      this.batchTx(events, next);
    } catch (err) {
      for (const b of this.bulks) b.discard();
      this.views?.clear();
      throw err;
    } finally {
      this.careful = false;
    }
  }

  /**
   * Bulk build: applies a batch decoded on another thread (rebuild-decoder.ts), the log's next
   * events after the checkpoint, and moves the checkpoint past it, in one transaction, as
   * applyBatch would apply those events.
   */
  applyDecoded(batch: DecodedBatch): void {
    if (!this.factsBulk) throw new Error('decoded batches are for a bulk build (deferCloses) only');
    const next: Checkpoint = { position: batch.last.position, applied: this.cp.applied + batch.events, recordedAt: batch.last.recordedAt, eventId: batch.last.id, previous: batch.previous ?? this.cp.position, log: this.cp.log };
    this.parkedNow = [];
    try {
      this.decodedTx(batch, next);
    } catch (err) {
      for (const b of this.bulks) b.discard();
      throw err;
    }
    this.cp = next;
    this.reportParked();
  }

  /** A decoded run of plain facts (bulk-rows.ts): their `facts` rows, and each row with its fact's bookkeeping. */
  private putDecoded(tables: readonly Cell[][], f: readonly Cell[]): void {
    const facts = this.factsBulk as BulkInsert;
    for (let k = 0; k < f.length; k += FACT_STRIDE) {
      facts.push(f[k + F_ID] as Cell);
      facts.push(f[k + F_TYPE] as Cell);
      facts.push(f[k + F_ID] as Cell);
      facts.push(f[k + F_POSITION] as Cell);
      facts.push(f[k + F_STREAM] as Cell);
      facts.push(f[k + F_REVISION] as Cell);
      facts.push(f[k + F_RECORDED] as Cell);
      facts.push(null);
      facts.added();
    }
    for (let i = 0; i < tables.length; i++) {
      const cells = tables[i] as Cell[];
      if (cells.length === 0 || this.skippedAt[i]) continue;
      const bulk = this.bulkTables[i] as BulkInsert;
      const width = (BULK_TABLES[i] as TableSpec).columns.length + 1;
      for (let j = 0; j < cells.length; j += width) {
        const k = (cells[j] as number) * FACT_STRIDE;
        bulk.push(f[k + F_ID] as Cell);
        bulk.push(f[k + F_RECORDED] as Cell);
        bulk.push(OPEN);
        bulk.push(f[k + F_POSITION] as Cell);
        bulk.push(null);
        const t = BULK_TABLES[i] as TableSpec;
        // A plain fact's row: its first recording is this one.
        if (t.firstPosition) bulk.push(f[k + F_POSITION] as Cell);
        for (let c = 1; c < width; c++) bulk.push(cells[j + c] as Cell);
        if (t.first) bulk.push(null);
        for (let n = t.stored?.length ?? 0; n > 0; n--) bulk.push(null);
        if (t.derived || t.name === 'entities') {
          // A plain fact's rows: an object of them for the derived values and the views kept (few tables: not every row pays).
          const row: Record<string, unknown> = {};
          t.columns.forEach((c, n) => (row[c] = cells[j + 1 + n]));
          if (t.derived) for (const v of this.builtValues(t, row, f[k + F_ID] as string, f[k + F_RECORDED] as string)) bulk.push(v);
          else this.builtEntity(row, f[k + F_RECORDED] as string, false);
        }
        bulk.added();
      }
    }
  }

  parkedCount(): number {
    return this.db.prepare('SELECT count(*) FROM parked').pluck().get() as number;
  }

  /**
   * One event, all or nothing. An event a projection cannot apply (an error that is not the
   * file's or the disk's) is parked, with none of its rows: live, the batch is rolled back and
   * applied again with each event in a savepoint (applyBatch); a bulk build, which has no
   * journal to roll back, writes nothing of an event before the last thing that can fail.
   *
   * The event's work includes its terms' upkeep (TermsKeeper.flush): an error there (SQLite
   * refusing a terms_rt entry) parks the event as any other. It ran in a `finally` outside this
   * path until session 45: the error escaped the parking, the batch failed whole and was
   * retried for ever, never ready (test/projections-park-terms.test.ts).
   */
  private applyOne(e: LogEvent): void {
    if (!isFactType(e.type)) return; // bookkeeping (key reservations): not a fact about the world
    const fact = e as LogEvent & { type: FactType };
    try {
      if (this.careful) this.eventTx(fact);
      else {
        this.applyFact(fact);
        this.terms?.flush(e.recordedAt);
      }
    } catch (err) {
      // The pairs the event touched: rolled back with it (its savepoint, or the batch), so their terms stand as they were.
      this.terms?.forget();
      // A full disk or a failing file is not the event's fault: the batch fails and is retried.
      if (isStorageFault(err)) throw err;
      if (!this.careful && !this.bulk) throw new EventFailed(err);
      this.views?.clear(); // rolled back to the event's savepoint
      // Metadata that is null, or a factId that is no string (an object no cell can hold), fails the event: named as none here, lest the parking fail too.
      const id = (e.metadata as { factId?: unknown } | null)?.factId;
      this.park(e, typeof id === 'string' ? id : null, err instanceof Error ? err.message : String(err), err);
    }
  }

  private applyFact(e: LogEvent & { type: FactType }): void {
    // What factRow kept is of the event before: facts' rows may have changed since (a retraction).
    this.lastFact = null;
    const meta = e.metadata as { factId?: string; source?: Source; schemaVersion?: number };
    const factId = meta.factId ?? null;
    if (!factId) throw new Error('event has no metadata.factId');
    const fact = storedFact(e.type, upcast(e.type, e.data, meta.schemaVersion, (id) => this.typeOf(id)));
    const source = meta.source ?? null;
    let target = factId;
    // The position of the first recording of the fact the rows are of (TableSpec.firstPosition).
    let first = e.position;
    let closes: FactType | null = null;
    let stream = e.stream;
    let reason: string | null = null;
    let writes: RowWrite[];
    if (isAmendment(fact)) {
      const t = this.resolve(fact.data.fact);
      writes = fact.type === 'FactCorrected' ? this.evolve({ ...storedFact(t.type, fact.data.data), factId: t.id, source }) : [];
      target = t.id;
      first = t.position;
      closes = t.type;
      stream = t.stream;
      reason = fact.data.reason;
    } else writes = this.evolve({ ...fact, factId, source });
    const retracts = fact.type === 'FactRetracted';
    if (this.bulk) {
      // Buffered rows (the facts row too) are written later, many to a statement: what SQLite
      // would refuse is refused now, before any row of the event is buffered.
      this.checkCells(writes);
      checkCell(factId);
      checkCell(reason);
      this.index(e, factId, target, reason, retracts);
    }
    if (closes) {
      this.closeVersion(target, closes, stream, e.recordedAt, e.position);
      // A version of the entity the fact created closed: the adoptions' stored items naming it hold until now.
      if (this.items && isCreatingType(closes)) this.items.closed(target, e.recordedAt);
    }
    if (closes && this.built && this.entityTypes.has(closes)) this.built.changed(target);
    this.write(writes, target, e.recordedAt, e.position, closes ? factId : null, first);
    if (!this.bulk) {
      this.index(e, factId, target, reason, retracts);
      // An entity's versions changed (a version closed, or one opened): the rows that name it derive their columns again.
      if (this.rederive.length > 0) {
        const ids: unknown[] = closes && this.entityTypes.has(closes) ? [target] : [];
        for (const w of writes) {
          if (w.table !== 'entities') continue;
          if (!ids.includes(w.row['id'])) ids.push(w.row['id']);
          // A creation (no version closed): its id is the creating fact's own, so it has no other version.
          if (!closes) this.views?.created(w.row['id'] as string, w.row['kind'], w.row['key'], w.row['name'], e.recordedAt);
        }
        for (const id of ids) {
          if (closes) this.views?.changed(id as string);
          this.changed(id, e.recordedAt);
        }
      }
    }
  }

  /** The versions of the entity `id` changed at `at`: the derived columns of the rows naming it that held until then or later, derived again (TableSpec.derived). */
  private changed(id: unknown, at: string): void {
    if (!this.rederiveAny.some(({ stmt, refs }) => stmt.get(...bindTwice(refs, id, at)) === 1)) return;
    for (const s of this.rederive) s.run({ entity: id, at });
  }

  /** The fact's row in `facts` (an amendment: the fact it names, why; a retraction marks it). */
  private index(e: LogEvent, factId: string, target: string, reason: string | null, retracts: boolean): void {
    this.putFact(factId, e, target, reason);
    if (!retracts) return;
    // A bulk build: the retracted fact's row may still wait to be written (recorded since the last multi-row INSERT).
    if (this.factsBulk?.pendingRow(target) !== undefined) this.factsBulk.flush();
    this.retract.run(e.recordedAt, target);
  }

  /** A bulk build refuses, at the event, the cells better-sqlite3 would refuse to bind (same error). */
  private checkCells(writes: readonly RowWrite[]): void {
    for (const w of writes) {
      for (const c of (this.inserts.get(w.table) as { columns: readonly string[] }).columns) checkCell(w.row[c]);
    }
  }

  private putFact(factId: string, e: LogEvent, target: string, reason: string | null): void {
    const bulk = this.factsBulk;
    if (!bulk) {
      this.factPut.run(factId, e.type, target, e.position, e.stream, e.revision, e.recordedAt, reason);
      return;
    }
    bulk.push(factId);
    bulk.push(e.type);
    bulk.push(target);
    bulk.push(e.position);
    bulk.push(e.stream);
    bulk.push(e.revision);
    bulk.push(e.recordedAt);
    bulk.push(reason);
    bulk.added();
  }

  /** Parks an event inside the batch's transaction; it is logged and reported once the batch committed (reportParked). */
  private park(e: LogEvent, factId: string | null, error: string, err: unknown = error): void {
    const p: ParkedEvent = { position: e.position, eventId: e.id, type: e.type, factId, error };
    this.parkStmt.run(p.position, p.eventId, p.type, p.factId, p.error);
    this.parkedNow.push({ p, err });
  }

  /** The events the batch that just committed parked: logged and counted once. */
  private reportParked(): void {
    for (const { p, err } of this.parkedNow) {
      this.log.error({ position: p.position, type: p.type, factId: p.factId, err }, 'projection failed on an event; parked it and went on');
      this.onParked(p);
    }
    this.parkedNow = [];
  }

  /**
   * A fact's row in `facts`, as `factGet` reads it; the last one read is kept for the same
   * event (a correction of an older schema asks typeOf, then resolve, the same fact: one seek
   * into the million-row table instead of two). applyFact forgets it at each event.
   *
   * A bulk build's `facts` rows wait to be written many a statement (BulkInsert): a fact not in
   * the file yet is read from the rows waiting, as the file would have it once they are written
   * (INSERT OR IGNORE: a row already in the file, then the first waiting, wins; retracted_at is
   * NULL there, index() writes them before a retraction of one). Before, they were written before
   * each correction and retraction, a tenth of the events: ~9 rows a statement instead of 32.
   */
  private factRow(fact: string): FactRow | undefined {
    if (this.lastFact !== null && this.lastFact.id === fact) return this.lastFact.row;
    let row = this.factGet.get(fact) as FactRow | undefined;
    if (row === undefined && this.factsBulk) {
      const p = this.factsBulk.pendingRow(fact);
      // FACT_COLUMNS: fact_id, type, target, position, stream, …
      if (p !== undefined) row = { type: p[1] as string, target: p[2] as string, retracted_at: null, stream: p[4] as string, position: p[3] as string };
    }
    this.lastFact = { id: fact, row };
    return row;
  }

  /** The type of a fact applied before (for upcasting a correction's replacement data). */
  private typeOf(fact: string): FactType | undefined {
    const row = this.factRow(fact);
    return row && isFactType(row.type) ? row.type : undefined;
  }

  /** A correction or retraction names a fact; naming a correction means the fact it corrected. */
  private resolve(fact: string): { id: string; type: FactType; stream: string; position: string } {
    const row = this.factRow(fact);
    if (!row) throw new Error(`correction or retraction of an unknown fact ${fact}`);
    if (row.target !== fact) return this.resolve(row.target);
    if (row.retracted_at) throw new Error(`fact ${fact} was retracted at ${row.retracted_at}`);
    return { id: fact, type: row.type as FactType, stream: row.stream, position: row.position };
  }

  private evolve(fact: FactVersion): RowWrite[] {
    const out: RowWrite[] = [];
    for (const p of this.byType.get(fact.type) ?? []) out.push(...p.evolve(fact));
    for (const w of out) if (!this.inserts.has(w.table)) throw new Error(`projection wrote to unknown table ${w.table}`);
    return out;
  }

  private closeVersion(factId: string, type: FactType, stream: string, at: string, position: string): void {
    if (this.deferClose) {
      this.deferClose.push(factId);
      this.deferClose.push(position);
      this.deferClose.push(at);
      this.deferClose.push(type);
      this.deferClose.added();
      this.deferred += 1;
      return;
    }
    const placed = parseStream(stream);
    const run = (rows: FactRows | undefined, params: Record<string, unknown>): Statement | null => {
      if (!rows) return null;
      if (!rows.key) return rows.stmt;
      if (!placed) return rows.anywhere;
      params['entity'] = placed.kind === rows.key.kind ? placed.id : null;
      return rows.stmt;
    };
    for (const p of this.byType.get(type) ?? []) {
      for (const t of p.tables) {
        const params: Record<string, unknown> = { at, fact: factId };
        const closing = run(this.closing.get(t.name), params);
        if (closing && this.terms) for (const r of closing.all(params) as { office: unknown; person: unknown }[]) this.terms.touch(r.office, r.person);
        run(this.closes.get(t.name), params)?.run(params);
      }
    }
  }

  /**
   * Bulk build: the deferred closes not applied yet (buildFresh applies them all with closeBulk
   * before createIndexes since s39-rb; a build that did not still has them applied here, after
   * it). Applied one after the other in log
   * order, each close set known_to on the fact's rows still open and written before it; so
   * a row's known_to is the `at` of the first close of its fact after the row's position.
   * That is one statement per table here, over the closes kept in `bulk_closes`.
   */
  finishBulk(phase: (name: string) => void = () => undefined, options: { terms?: boolean } = {}): void {
    this.closeBulk(phase, (t) => !this.closed.has(t));
    this.db.exec('DROP TABLE bulk_closes');
    // A replay's fold reads neither (WriterOptions.readOutOnly): `earliest` only.
    const readOutOnly = this.options.readOutOnly === true;
    if (readOutOnly) phase('adoptions: no stored items, no derived columns (a replay reads neither)');
    // Adoptions' stored items, from the rows as closed (entities' versions included): what the live writer makes at each insert.
    if (!readOutOnly) phase(`adoptions: stored items (${finishStoredItems(this.db)})`);
    // Derived columns, from the rows as closed (entities' versions included): what the live writer's upkeep makes.
    // The rows were buffered with them (BuildViews) but for those naming an id whose views JS
    // could not hold: those rows here, found through the refs' indexes.
    for (const t of tableSpecs()) {
      const d = t.derived;
      if (!d || readOutOnly) continue;
      const b = this.built as BuildViews;
      if (b.full) this.db.exec(`UPDATE ${t.name} SET ${derivedSet(t)} WHERE ${d.where(t.name)}`);
      else if (b.dirty.size > 0) {
        this.db.exec('CREATE TEMP TABLE derived_dirty (id TEXT PRIMARY KEY) WITHOUT ROWID');
        const put = this.db.prepare('INSERT INTO derived_dirty (id) VALUES (?)');
        for (const id of b.dirty) put.run(id);
        const dirty = [...d.refs.map((c) => `${c} IN (SELECT id FROM derived_dirty)`), ...(d.listed ? [d.listed.rows(t.name, '(SELECT id FROM derived_dirty)')] : [])];
        this.db.exec(`UPDATE ${t.name} SET ${derivedSet(t)} WHERE ${d.where(t.name)} AND (${dirty.map((c) => `(${c})`).join(' OR ')})`);
        this.db.exec('DROP TABLE derived_dirty');
      }
      phase(`${t.name}: ${d.columns.join(', ')} (${b.full ? 'every row' : `the rows naming ${b.dirty.size} ids changed or not yet known`})`);
    }
    // `earliest` as the live writer decides it at each insert: no row of the same value before it in the log.
    for (const t of tableSpecs()) {
      if (!t.first) continue;
      this.db.exec(`UPDATE ${t.name} SET earliest = NOT EXISTS (SELECT 1 FROM ${t.name} x WHERE x.${t.first} = ${t.name}.${t.first} AND x.position < ${t.name}.position)`);
      phase(`${t.name}: first of each ${t.first}`);
    }
    this.deferred = 0;
    if (options.terms !== false) buildTerms(this.db, undefined, phase);
  }

  /** Bulk build: the tables whose deferred closes are applied already (closeBulk). */
  private readonly closed = new Set<string>();

  /**
   * Bulk build: the deferred closes of the tables `which` picks, applied now (finishBulk
   * applies the others'): a table's closes touch its own rows only, so those of the
   * appointments and departures can come first, for the terms made from them (terms-build.ts).
   */
  closeBulk(phase: (name: string) => void, which: (table: string) => boolean): void {
    if (!this.closesIndexed) {
      this.db.exec('CREATE INDEX bulk_closes_fact ON bulk_closes (fact_id, position)');
      phase(`closes of corrected and retracted versions (${this.deferred}): their index`);
      this.closesIndexed = true;
    }
    this.db.transaction(() => {
      for (const p of PROJECTIONS) {
        // As closeVersion does live: only the closes of facts of the types the table's read model handles.
        const types = p.handles.map((h) => `'${h}'`).join(', ');
        for (const t of p.tables) {
          if (!which(t.name)) continue;
          this.closed.add(t.name);
          // No rows to close (a replay's fold: WriterOptions.readOutOnly).
          if (this.skipped.has(t.name)) continue;
          const key = t.factKey ?? 'fact_id';
          this.db.exec(`UPDATE ${t.name} SET known_to = coalesce((SELECT c.at FROM bulk_closes c WHERE c.fact_id = ${t.name}.fact_id AND c.position > ${t.name}.position ORDER BY c.position LIMIT 1), known_to)
            WHERE ${key} IN (SELECT fact_id FROM bulk_closes WHERE type IN (${types})) AND known_to = '${OPEN}'`);
          phase(`closes: ${t.name}`);
        }
      }
    })();
  }

  private closesIndexed = false;

  /** Bulk build: a row's derived values (TableSpec.derived.js), or NULLs for finishBulk to derive (its ids are dirty, or every row is: BuildViews). */
  private builtValues(t: TableSpec, row: Readonly<Record<string, unknown>>, factId: string, k: string): readonly Cell[] {
    const d = t.derived as NonNullable<TableSpec['derived']>;
    const b = this.built as BuildViews;
    const v = d.js(row, factId, k, (id, at) => b.view(id, at));
    if (v) return v;
    if (!d.refs.some((c) => typeof row[c] === 'string' && b.dirty.has(row[c] as string)) && !(d.listed?.ids(row) ?? []).some((id) => b.dirty.has(id))) b.full = true;
    return d.columns.map(() => null);
  }

  /** Bulk build: an entity's version written (a creation, or a correction's new version). */
  private builtEntity(row: Readonly<Record<string, unknown>>, at: string, corrects: boolean): void {
    const b = this.built as BuildViews;
    if (corrects) b.changed(row['id'] as string);
    else b.created(row['id'] as string, row['kind'], row['key'], row['name'], at);
  }

  private write(writes: readonly RowWrite[], factId: string, knownFrom: string, position: string, correctedBy: string | null, first: string): void {
    for (const w of writes) {
      const ins = this.inserts.get(w.table) as Insert;
      const bulk = ins.bulk;
      if (bulk) {
        // A replay's fold: a table its read-out does not read (the cells were checked, applyFact).
        if (this.skipped.has(w.table)) continue;
        bulk.push(factId);
        bulk.push(knownFrom);
        bulk.push(OPEN);
        bulk.push(position);
        bulk.push(correctedBy);
        if (ins.firstPosition) bulk.push(first);
        for (const c of ins.columns) bulk.push(w.row[c] ?? null);
        if (ins.first) bulk.push(null);
        for (let n = ins.stored; n > 0; n--) bulk.push(null);
        if (ins.derived > 0) for (const v of this.builtValues(ins.spec, w.row, factId, knownFrom)) bulk.push(v);
        if (w.table === 'entities') this.builtEntity(w.row, knownFrom, correctedBy !== null);
        bulk.added();
        continue;
      }
      const values: unknown[] = [factId, knownFrom, OPEN, position, correctedBy];
      if (ins.firstPosition) values.push(first);
      for (const c of ins.columns) values.push(w.row[c] ?? null);
      if (ins.first) values.push(ins.first.any.get(w.row[ins.first.column] ?? null) === undefined ? 1 : 0);
      if (ins.stored > 0) values.push(...(this.items as StoredItems).cells(w.row, knownFrom));
      const views = ins.plain && this.views ? ins.spec.derived?.js(w.row, factId, knownFrom, (id, k) => (this.views as LiveViews).view(id, k)) : undefined;
      const info = views ? (ins.plain as Statement).run(values.concat(views)) : ins.stmt.run(values);
      if (ins.stored > 0) (this.items as StoredItems).inserted(Number(info.lastInsertRowid));
      if (this.terms && (w.table === 'appointments' || w.table === 'departures')) this.terms.touch(w.row['office'], w.row['person']);
      const upkeep = this.upkeep.get(w.table);
      if (upkeep) for (const u of upkeep) u(w.row, Number(info.lastInsertRowid), knownFrom);
    }
  }

  /**
   * What keeps the derived index tables equal to what createIndexes would make of the rows:
   * - a temporal index entry per row (its entity, valid days, recording second), or, for a
   *   table whose days come from another's rows (attestations: the session's), the span of
   *   the days of every version of them, widened when a new version of them is written;
   * - the longest closed interval (days) per group, for bounded scans.
   */
  private prepareUpkeep(db: Db): void {
    const add = (table: string, f: (row: RowWrite['row'], rowid: number, knownFrom: string) => void): void => {
      this.upkeep.set(table, [...(this.upkeep.get(table) ?? []), f]);
    };
    const str = (v: unknown): string => v as string;
    for (const t of tableSpecs()) {
      if (t.span) {
        const { group, from = 's0', to = 'e1' } = t.span;
        const put = db.prepare(`INSERT INTO spans (tbl, grp, days) VALUES ('${t.name}', ?, ?) ON CONFLICT (tbl, grp) DO UPDATE SET days = max(days, excluded.days)`);
        add(t.name, (row) => {
          if (row[group] != null && row[from] != null && row[to] != null && row[to] !== OPEN) put.run(row[group], spanDays(str(row[from]), str(row[to])));
        });
      }
      const spec = t.temporal;
      if (!spec) continue;
      const rt = rtreeOf(t.name);
      const insert = db.prepare(`INSERT INTO ${rt} (id, elo, ehi, vlo, vhi, klo, khi) VALUES (?, ?, ?, ?, ?, ?, ${I32_MAX})`);
      if (!spec.daysFrom) {
        add(t.name, (row, rowid, knownFrom) => {
          const entity = row[spec.entity];
          if (entity == null) return;
          const ek = entityKey(str(entity));
          insert.run(rowid, ek, ek, dayKey(str(row['s0'])), dayKey(str(row['e1'])), secondKey(knownFrom));
        });
        continue;
      }
      const f = spec.daysFrom;
      const days = db.prepare(`SELECT min(s0), max(e1) FROM ${f.table} WHERE ${f.id} = ?`).raw();
      add(t.name, (row, rowid, knownFrom) => {
        const entity = row[spec.entity];
        if (entity == null || row[f.ref] == null) return;
        const [lo, hi] = days.get(row[f.ref]) as [string | null, string | null];
        // None yet: the rows it takes its days from come later in the same event (a session's chair).
        if (lo === null || hi === null) return;
        const ek = entityKey(str(entity));
        insert.run(rowid, ek, ek, dayKey(lo), dayKey(hi), secondKey(knownFrom));
      });
      const dependents = db.prepare(`SELECT rowid, ${spec.entity}, known_from FROM ${t.name} WHERE ${f.ref} = ? AND ${spec.entity} IS NOT NULL`).raw();
      const widen = db.prepare(`UPDATE ${rt} SET vlo = min(vlo, ?), vhi = max(vhi, ?) WHERE id = ?`);
      add(f.table, (row) => {
        const v0 = dayKey(str(row['s0']));
        const v1 = dayKey(str(row['e1']));
        for (const [rowid, entity, knownFrom] of dependents.all(row[f.id]) as [number, string, string][]) {
          if (widen.run(v0, v1, rowid).changes === 0) {
            const ek = entityKey(entity);
            insert.run(rowid, ek, ek, v0, v1, secondKey(knownFrom));
          }
        }
      });
    }
  }
}
