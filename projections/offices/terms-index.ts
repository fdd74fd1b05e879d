/**
 * `terms`: each appointment's term as departures cut it, kept bitemporally, so the holder
 * question reads rows already cut instead of cutting at query time. A row says: this version
 * of this appointment (`version`, the rowid of its appointments row) ran to `to_raw`
 * (bounds s0..e1) as the record stood during [known_from, known_to). Its temporal index
 * `terms_rt` (temporal.ts) holds the recording interval too, so rows of superseded states
 * drop out of the search, not after it.
 *
 * The rule is the read side's one (succession.ts cutAppointments: events/departures.ts),
 * and a departure is matched only among its person's appointments in its office, so the
 * state changes one (office, person) at a time. The rows are, for each appointment version,
 * the maximal recording intervals over which its cut end stays the same:
 * - live (TermsKeeper): after each event that inserts or closes an appointment or a
 *   departure of (office, person), that pair's state is cut again at the event's recordedAt;
 *   a row whose end changed is closed then, a new one begins then. Several events in one
 *   millisecond leave no empty row (one begun and ended at the same instant is deleted, one
 *   ended then and wanted again is reopened);
 * - a bulk build (buildTerms): the same intervals from the finished tables, pair by pair,
 *   over the instants at which any of the pair's versions began or ended.
 * The two agree row for row (test/projections-rebuild.test.ts); rowids may differ, so the
 * index is compared through its rows.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { OPEN_END, termBounds, type TermBounds } from '../../events/index.js';
import { I32_MAX, dayKey, entityKey, secondKey, secondKeyUp } from '../temporal.js';
import { cutAppointments } from './succession.js';
import { BulkInsert } from '../bulk-insert.js';
import { READ_OUT_INDEXES } from '../read-out.js';
import { packRtree } from '../rtree-pack.js';
import { sorting } from '../bulk-sorts.js';
import type { TermRow } from '../rows.js';

const OPEN = OPEN_END;

export const TERMS_TABLES = ['terms', 'terms_rt'] as const;

const TERMS_TABLE = 'CREATE TABLE IF NOT EXISTS terms (office TEXT NOT NULL, person TEXT NOT NULL, appointment TEXT NOT NULL, version INTEGER NOT NULL, to_raw TEXT, s0 TEXT NOT NULL, s1 TEXT NOT NULL, e0 TEXT NOT NULL, e1 TEXT NOT NULL, known_from TEXT NOT NULL, known_to TEXT NOT NULL)';
const TERMS_INDEXES = `
    CREATE INDEX IF NOT EXISTS terms_pair ON terms (office, person, known_to);
    CREATE INDEX IF NOT EXISTS terms_office ON terms (office, s0, s1, appointment);
    CREATE INDEX IF NOT EXISTS terms_person ON terms (person, s0, s1, appointment);`;
/** A replay's fold (read-out.ts): the terms' indexes its read-out reads (a succession by office, a pair's terms), no `terms_person`. */
const TERMS_INDEXES_READ_OUT = TERMS_INDEXES.split(';').filter((sql) => READ_OUT_INDEXES.has(/INDEX IF NOT EXISTS (\w+)/.exec(sql)?.[1] ?? '')).join(';') + ';';
const TERMS_RT = 'CREATE VIRTUAL TABLE IF NOT EXISTS terms_rt USING rtree_i32(id, elo, ehi, vlo, vhi, klo, khi)';

/** The table, its indexes and its temporal index, empty: a live file keeps them row by row (TermsKeeper). */
export function createTerms(db: Db): void {
  db.exec(`${TERMS_TABLE}; ${TERMS_INDEXES} ${TERMS_RT};`);
}


interface AppVersion extends TermRow {
  version: number;
  fact_id: string;
  person: string;
  first: string;
  known_from: string;
  known_to: string;
}

interface DepVersion {
  fact_id: string;
  person: string;
  on_raw: string;
  first: string;
  known_from: string;
  known_to: string;
}

/** version → its end and bounds as cut, for the versions given (those known at one instant). */
function cut(apps: readonly AppVersion[], deps: readonly DepVersion[]): Map<number, { to: string | null; b: TermBounds }> {
  const ends = deps.length ? cutAppointments(apps, deps) : new Map<string, string>();
  const out = new Map<number, { to: string | null; b: TermBounds }>();
  for (const a of apps) {
    const to = ends.get(a.fact_id);
    out.set(a.version, to === undefined ? { to: a.to_raw, b: { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 } } : { to, b: termBounds({ from: a.from_raw, to }) });
  }
  return out;
}

const APP_COLUMNS = 'a.rowid AS version, a.fact_id, a.person, a.from_raw, a.to_raw, a.s0, a.s1, a.e0, a.e1, f.position AS first, a.known_from, a.known_to';
const DEP_COLUMNS = 'd.fact_id, d.person, d.on_raw, f.position AS first, d.known_from, d.known_to';

const TERMS_COLUMNS = ['office', 'person', 'appointment', 'version', 'to_raw', 's0', 's1', 'e0', 'e1', 'known_from', 'known_to'];

/** Writes terms rows, each with its temporal index entry. */
class TermsWriter {
  private readonly insert: Statement;
  private readonly insertRt: Statement;
  constructor(db: Db) {
    this.insert = db.prepare(`INSERT INTO terms (${TERMS_COLUMNS.join(', ')}) VALUES (${TERMS_COLUMNS.map(() => '?').join(', ')})`);
    this.insertRt = db.prepare('INSERT INTO terms_rt (id, elo, ehi, vlo, vhi, klo, khi) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }
  add(office: string, person: string, appointment: string, version: number, to: string | null, b: TermBounds, from: string, until: string): void {
    const info = this.insert.run(office, person, appointment, version, to, b.s0, b.s1, b.e0, b.e1, from, until);
    const ek = entityKey(office);
    this.insertRt.run(Number(info.lastInsertRowid), ek, ek, dayKey(b.s0), dayKey(b.e1), secondKey(from), secondKeyUp(until));
  }
}

/** A bulk build's: the rows only, appended many a statement (the temporal index is filled at the end). */
class BulkTermsWriter {
  private readonly rows: BulkInsert;
  constructor(db: Db) {
    this.rows = new BulkInsert(db, 'terms', TERMS_COLUMNS);
  }
  add(office: string, person: string, appointment: string, version: number, to: string | null, b: TermBounds, from: string, until: string): void {
    const r = this.rows;
    r.push(office);
    r.push(person);
    r.push(appointment);
    r.push(version);
    r.push(to);
    r.push(b.s0);
    r.push(b.s1);
    r.push(b.e0);
    r.push(b.e1);
    r.push(from);
    r.push(until);
    r.added();
  }
  flush(): void {
    this.rows.flush();
  }
}

/** Keeps `terms` as events are applied one by one (the live runner). */
export class TermsKeeper {
  private readonly touched = new Map<string, [string, string]>();
  private readonly writer: TermsWriter;
  private readonly apps: Statement;
  private readonly deps: Statement;
  private readonly open: Statement;
  private readonly close: Statement;
  private readonly closeRt: Statement;
  private readonly drop: Statement;
  private readonly dropRt: Statement;
  private readonly endedAt: Statement;
  private readonly reopen: Statement;
  private readonly reopenRt: Statement;

  constructor(db: Db) {
    this.writer = new TermsWriter(db);
    this.apps = db.prepare(`SELECT ${APP_COLUMNS} FROM appointments a JOIN facts f ON f.fact_id = a.fact_id WHERE a.office = ? AND a.person = ? AND a.known_to = '${OPEN}'`);
    this.deps = db.prepare(`SELECT ${DEP_COLUMNS} FROM departures d JOIN facts f ON f.fact_id = d.fact_id WHERE d.office = ? AND d.person = ? AND d.known_to = '${OPEN}'`);
    this.open = db.prepare(`SELECT rowid AS id, version, to_raw, known_from FROM terms WHERE office = ? AND person = ? AND known_to = '${OPEN}'`);
    this.close = db.prepare('UPDATE terms SET known_to = ? WHERE rowid = ?');
    this.closeRt = db.prepare('UPDATE terms_rt SET khi = ? WHERE id = ?');
    this.drop = db.prepare('DELETE FROM terms WHERE rowid = ?');
    this.dropRt = db.prepare('DELETE FROM terms_rt WHERE id = ?');
    this.endedAt = db.prepare('SELECT rowid AS id FROM terms WHERE office = ? AND person = ? AND known_to = ? AND version = ? AND to_raw IS ?');
    this.reopen = db.prepare(`UPDATE terms SET known_to = '${OPEN}' WHERE rowid = ?`);
    this.reopenRt = db.prepare(`UPDATE terms_rt SET khi = ${I32_MAX} WHERE id = ?`);
  }

  /** An appointment or departure row of (office, person) was inserted or closed. */
  touch(office: unknown, person: unknown): void {
    if (typeof office !== 'string' || typeof person !== 'string') return;
    this.touched.set(`${office}\u0000${person}`, [office, person]);
  }

  /** After an event: the touched pairs' terms as cut at its recordedAt. */
  flush(at: string): void {
    for (const [office, person] of this.touched.values()) this.recut(office, person, at);
    this.touched.clear();
  }

  /** The event failed and its writes were rolled back: the pairs it touched are recut by none. */
  forget(): void {
    this.touched.clear();
  }

  private recut(office: string, person: string, at: string): void {
    const apps = this.apps.all(office, person) as AppVersion[];
    const wanted = cut(apps, this.deps.all(office, person) as DepVersion[]);
    const factOf = new Map(apps.map((a) => [a.version, a.fact_id]));
    for (const row of this.open.all(office, person) as { id: number; version: number; to_raw: string | null; known_from: string }[]) {
      const w = wanted.get(row.version);
      if (w && w.to === row.to_raw) {
        wanted.delete(row.version);
        continue;
      }
      if (row.known_from >= at) {
        // Begun and ended in the same instant (or, in a log whose recording times go back, ended
        // before it began): it was never the state of the record. A bulk build makes no row of
        // it either (buildTerms: known_from < known_to); closed, its temporal index entry would
        // end before it begins, which the R*Tree refuses (klo <= khi), and the runner retried the
        // batch for ever (session 45's review, test/projections-review-edges.test.ts).
        this.drop.run(row.id);
        this.dropRt.run(row.id);
      } else {
        this.close.run(at, row.id);
        this.closeRt.run(secondKeyUp(at), row.id);
      }
    }
    for (const [version, w] of wanted) {
      const ended = this.endedAt.get(office, person, at, version, w.to) as { id: number } | undefined;
      if (ended) {
        // Ended by an earlier event of this instant, wanted again: the state never changed.
        this.reopen.run(ended.id);
        this.reopenRt.run(ended.id);
      } else this.writer.add(office, person, factOf.get(version) as string, version, w.to, w.b, at, OPEN);
    }
  }
}

/**
 * A bulk build: `terms` from the finished appointments and departures tables. The
 * appointments of pairs no departure names are copied as they are (nothing cuts them); the
 * others and the departures are first
 * copied, joined to their facts' first positions, into temporary tables in (office, person)
 * order: the join reads the tables in the order they were written (log order, which is
 * also the order of the facts' ULIDs), so the facts are read nearly sequentially, and the
 * copies are then read a chunk at a time by their rowid (a connection cannot write while it
 * iterates). Reading the appointments through the (office, person) index instead made one
 * random probe into the appointments and one into the million-row facts table per row:
 * 13-27 s of the 1,000,000-fact rebuild, and far more once the file outgrew the page cache.
 * Hence `NOT INDEXED`: the planner picks that index to spare the sort (7.9 s of CPU for the
 * copy at 1,000,000 facts, 2.1 s with the scan and the sort).
 */
export function buildTerms(db: Db, chunk = 20_000, phase: (name: string) => void = () => undefined): void {
  copyTermsInputs(db, 'temp', 'main', phase);
  cutTerms(db, 'temp', chunk, phase);
  indexTerms(db, phase);
}

/** `CREATE TABLE` of `terms` in the schema named (main, or an attached file). */
const termsTable = (schema: string): string => TERMS_TABLE.replace('EXISTS terms', `EXISTS ${schema}.terms`);

/**
 * The first steps of buildTerms, the ones that read the read models: `terms` made afresh in
 * schema `terms` (the build's own, or an attached file's), the appointments of pairs no
 * departure names copied into it, and the other appointments and the departures copied into
 * `inputs` (temp, or that attached file) in (office, person) order, for cutTerms. The
 * appointments and departures must be final (their closes applied) and `facts` written.
 */
export function copyTermsInputs(db: Db, inputs: string, terms: string, phase: (name: string) => void = () => undefined): void {
  // The rows first, into a bare table; then its indexes and its temporal index, each made in
  // one sorted pass (keeping three indexes and an R*Tree up row by row cost ~26 s of CPU on
  // the 1,000,000-fact record).
  db.exec(`DROP TABLE IF EXISTS ${terms}.terms; DROP TABLE IF EXISTS ${terms}.terms_rt; ${termsTable(terms)};`);
  // A pair no departure names has nothing to cut: each appointment version is one row, over
  // its own recording interval (what termsOfPair makes of it; one begun and ended in the same
  // instant was never the state of the record, so none). Copied in one statement: on the
  // 1,000,000-fact record 407,000 of 509,000 appointments, which the cut below reads no more.
  const PAIR = `SELECT 1 FROM ${inputs}.terms_pairs p WHERE p.office = a.office AND p.person = a.person`;
  db.exec(`
    DROP TABLE IF EXISTS ${inputs}.terms_pairs; DROP TABLE IF EXISTS ${inputs}.terms_apps; DROP TABLE IF EXISTS ${inputs}.terms_deps;
    CREATE TABLE ${inputs}.terms_pairs (office TEXT NOT NULL, person TEXT NOT NULL, PRIMARY KEY (office, person)) WITHOUT ROWID;
    INSERT OR IGNORE INTO ${inputs}.terms_pairs SELECT office, person FROM main.departures WHERE office IS NOT NULL AND person IS NOT NULL;
    INSERT INTO ${terms}.terms (${TERMS_COLUMNS.join(', ')}) SELECT a.office, a.person, a.fact_id, a.rowid, a.to_raw, a.s0, a.s1, a.e0, a.e1, a.known_from, a.known_to
      FROM main.appointments a NOT INDEXED WHERE a.office IS NOT NULL AND a.person IS NOT NULL AND a.known_from < a.known_to AND NOT EXISTS (${PAIR});`);
  phase('terms: appointments of pairs no departure names copied');
  db.exec(`
    CREATE TABLE ${inputs}.terms_apps AS SELECT a.office, ${APP_COLUMNS} FROM main.appointments a NOT INDEXED JOIN main.facts f ON f.fact_id = a.fact_id
      WHERE a.office IS NOT NULL AND a.person IS NOT NULL AND EXISTS (${PAIR}) ORDER BY a.office, a.person, a.rowid;
    CREATE TABLE ${inputs}.terms_deps AS SELECT d.office, ${DEP_COLUMNS} FROM main.departures d NOT INDEXED JOIN main.facts f ON f.fact_id = d.fact_id
      WHERE d.office IS NOT NULL AND d.person IS NOT NULL ORDER BY d.office, d.person;`);
  phase('terms: the other appointments and the departures copied in (office, person) order');
}

/**
 * The cut (buildTerms): the appointments and departures copyTermsInputs put in `inputs` read
 * pair by pair, each pair's terms appended to `terms` (of the connection's main schema), then
 * the inputs dropped.
 */
export function cutTerms(db: Db, inputs: string, chunk = 20_000, phase: (name: string) => void = () => undefined): void {
  const writer = new BulkTermsWriter(db);
  const apps = db.prepare(`SELECT rowid AS n, * FROM ${inputs}.terms_apps WHERE rowid > ? ORDER BY rowid LIMIT +?`);
  const deps = db.prepare(`SELECT rowid AS n, * FROM ${inputs}.terms_deps WHERE rowid > ? ORDER BY rowid LIMIT +?`);
  type Row<T> = T & { office: string; n: number };
  const key = (r: { office: string; person: string }): string => `${r.office}\u0000${r.person}`;
  // The departures, read alongside in the same order: those of pairs up to `upTo` (inclusive).
  let depAfter = 0;
  let depBuffer: Row<DepVersion>[] = [];
  const depsUpTo = (upTo: string): Map<string, DepVersion[]> => {
    const out = new Map<string, DepVersion[]>();
    for (;;) {
      if (depBuffer.length === 0) {
        depBuffer = deps.all(depAfter, chunk) as Row<DepVersion>[];
        if (depBuffer.length === 0) return out;
        depAfter = (depBuffer.at(-1) as Row<DepVersion>).n;
      }
      let i = 0;
      for (; i < depBuffer.length; i++) {
        const d = depBuffer[i] as Row<DepVersion>;
        const k = key(d);
        if (k > upTo) break;
        const list = out.get(k);
        if (list) list.push(d);
        else out.set(k, [d]);
      }
      depBuffer = depBuffer.slice(i);
      if (depBuffer.length > 0) return out;
    }
  };
  db.transaction(() => {
    let after = 0;
    let carry: Row<AppVersion>[] = [];
    for (;;) {
      const rows = apps.all(after, chunk) as Row<AppVersion>[];
      const done = rows.length < chunk;
      if (rows.length > 0) after = (rows.at(-1) as Row<AppVersion>).n;
      const all = carry.length ? carry.concat(rows) : rows;
      if (all.length === 0) break;
      // The last pair may go on in the next chunk: kept for it, unless this was the last.
      const last = all.at(-1) as Row<AppVersion>;
      let cutAt = all.length;
      if (!done) while (cutAt > 0 && key(all[cutAt - 1] as Row<AppVersion>) === key(last)) cutAt -= 1;
      const whole = all.slice(0, cutAt);
      carry = all.slice(cutAt);
      if (whole.length > 0) {
        const depsOf = depsUpTo(key(whole.at(-1) as Row<AppVersion>));
        let from = 0;
        for (let i = 1; i <= whole.length; i++) {
          if (i < whole.length && key(whole[i] as Row<AppVersion>) === key(whole[from] as Row<AppVersion>)) continue;
          const head = whole[from] as Row<AppVersion>;
          termsOfPair(writer, head.office, head.person, whole.slice(from, i), depsOf.get(key(head)) ?? []);
          from = i;
        }
      }
      if (done && carry.length === 0) break;
    }
    writer.flush();
  })();
  db.exec(`DROP TABLE ${inputs}.terms_apps; DROP TABLE ${inputs}.terms_deps; DROP TABLE ${inputs}.terms_pairs;`);
  phase('terms: cut');
}

/** The last steps of buildTerms: the indexes of `terms` and its temporal index, made from its rows. */
export function indexTerms(db: Db, phase: (name: string) => void = () => undefined, readOutOnly = false): void {
  sorting(db, () => db.exec(readOutOnly ? TERMS_INDEXES_READ_OUT : TERMS_INDEXES), "the terms' index builds");
  phase('terms: indexes');
  // A replay's fold: no temporal index (its read-out reads none: read-out.ts).
  if (readOutOnly) return;
  // Packed from the rows (rtree-pack.ts), not inserted one by one.
  db.exec(TERMS_RT);
  packRtree(db, 'terms_rt', 'SELECT rowid, office, s0, e1, known_from, known_to FROM terms', ([id, office, s0, e1, from, to]: [number, string, string, string, string, string]) => [id, entityKey(office), dayKey(s0), dayKey(e1), secondKey(from), secondKeyUp(to)]);
  phase('terms_rt: filled');
}

/**
 * `terms` and `terms_rt` as another connection built them in the file `attached` names
 * (copyTermsInputs, cutTerms and indexTerms there), copied into this connection's main schema,
 * where neither is yet. SQLite's transfer of a table into an empty one of the same shape
 * (`INSERT INTO t SELECT * FROM s.t`, as VACUUM copies) copies the rows with their rowids and
 * each index's entries as they are, in order: no row is built again, no index sorted again.
 * The R*Tree's nodes are copied through its shadow tables (rtree-pack.ts writes them so too).
 */
export function copyTermsFrom(db: Db, attached: string, readOutOnly = false): void {
  // The same indexes as the terms' file has (indexTerms), so that the transfer copies their entries.
  db.exec(`${termsTable('main')}; ${readOutOnly ? TERMS_INDEXES_READ_OUT : `${TERMS_INDEXES} ${TERMS_RT};`}`);
  db.exec(`INSERT INTO main.terms SELECT * FROM ${attached}.terms;`);
  if (readOutOnly) return;
  // SQLite refuses writes to a virtual table's shadow tables in defensive mode (better-sqlite3's default).
  db.unsafeMode(true);
  try {
    db.exec(`UPDATE main.terms_rt_node SET data = (SELECT data FROM ${attached}.terms_rt_node WHERE nodeno = 1) WHERE nodeno = 1;
      INSERT INTO main.terms_rt_node SELECT * FROM ${attached}.terms_rt_node WHERE nodeno > 1;
      INSERT INTO main.terms_rt_parent SELECT * FROM ${attached}.terms_rt_parent;
      INSERT INTO main.terms_rt_rowid SELECT * FROM ${attached}.terms_rt_rowid;`);
  } finally {
    db.unsafeMode(false);
  }
}

/** One (office, person)'s rows: the maximal recording intervals over which each version's cut end stays the same. */
function termsOfPair(writer: BulkTermsWriter, office: string, person: string, av: readonly AppVersion[], dv: readonly DepVersion[]): void {
  const instants = [...new Set([...av, ...dv].flatMap((v) => [v.known_from, v.known_to]).filter((t) => t !== OPEN))].sort();
  const current = new Map<number, { to: string | null; b: TermBounds; from: string }>();
  const factOf = new Map(av.map((a) => [a.version, a.fact_id]));
  const emit = (version: number, c: { to: string | null; b: TermBounds; from: string }, until: string): void => writer.add(office, person, factOf.get(version) as string, version, c.to, c.b, c.from, until);
  for (const at of instants) {
    const known = <T extends { known_from: string; known_to: string }>(v: T): boolean => v.known_from <= at && v.known_to > at;
    const wanted = cut(av.filter(known), dv.filter(known));
    for (const [version, c] of current) {
      const w = wanted.get(version);
      if (w && w.to === c.to) continue;
      emit(version, c, at);
      current.delete(version);
    }
    for (const [version, w] of wanted) if (!current.has(version)) current.set(version, { to: w.to, b: w.b, from: at });
  }
  for (const [version, c] of current) emit(version, c, OPEN);
}
