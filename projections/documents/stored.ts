/**
 * An adopted document's item as a page of documents writes it (json.ts documentFields), stored
 * on its `adoptions` row when the row is written (#12: the page's keyset statement sought the
 * document's entity and the session's for each row it kept, ~60% of its CPU with the items'
 * text): `item_head`, the item up to its body (`{"id":…,"summary":…`), `item_tail`, from its
 * session to its factId (`,"session":{…},"factId":"…"`), and `item_to`, until when they hold.
 * A page known at k < item_to writes head, the body's view (one a statement: VIEW_NOW), tail,
 * the certainty and `}` with no seek; at a later k, or on a row with none stored, it writes the
 * item from the entities as known at k, as before (queries.ts STORED_ITEM).
 *
 * A pure function of the rows, for the adoption `a` known from kf: D, the version of its
 * document's entity known at kf, and S, its session's, each written by a fact no later in the
 * log than the adoption's (position <= a.position). Stored when a.session is set (else the
 * session shown is the one the document was considered at, which a later consideration
 * changes), D is a document's and no correction wrote it (corrected_by NULL: its item has no
 * correctedBy), and S exists; then item_to = min(D.known_to, S.known_to), the first moment
 * at which a version of either closes. Else all three NULL (a page writes the item as before).
 *
 * The live writer (db.ts) computes them in JS at the row's insert from the two entities'
 * versions known at kf (every version there is earlier in the log: anything written later is
 * later in it; in a log whose recording times go back, the one known at kf may be closed
 * already, its known_to then item_to, as the rebuild's join finds), or, when an entity's text
 * reads back with U+FFFD (bytes SQLite keeps that are not UTF-8: a lone surrogate in a log
 * made by hand), with the rebuild's SQL for that row, so the bytes are the rebuild's; it touches the rows again only when a version of an entity closes at t (a
 * correction or retraction of the fact that created it: rare), the rows naming it whose
 * item_to > t getting item_to = t, or NULLs for a row known from t itself (an entity corrected
 * later in the same moment: its version known at kf is then one written after the adoption).
 * A registration (a version opening) touches none: a row naming an id not known at its insert
 * has none stored, and keeps none. A rebuild computes them from the finished rows
 * (finishStoredItems) in SQL, the same text (itemCells' in JS is documentFields' in SQL; on the
 * 1,000,000-fact record both wrote the same bytes on each of its 49,142 adoptions).
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import { OPEN_END } from '../../events/index.js';
import type { Cell, Row } from '../types.js';

/** The columns stored on `adoptions` (after the others: db.ts rowColumns). */
export const ITEM_COLUMNS = ['item_head', 'item_tail', 'item_to'] as const;

/** What the stored text reads of the document's entity version. */
interface DocVersion {
  kind: string;
  key: string | null;
  name: string | null;
  detail: string | null;
  fact_id: string;
  corrected_by: string | null;
  known_to: string;
}

/** What the stored text reads of the session's entity version (any kind: a view is written of whatever the id names). */
interface SessionVersion {
  id: string;
  kind: string;
  key: string | null;
  name: string | null;
  known_to: string;
}

/** The adoption's columns the item shows. */
interface AdoptionCells {
  document: unknown;
  session: unknown;
  adopted_raw: unknown;
  from_raw: unknown;
  to_raw: unknown;
  period: unknown;
  summary: unknown;
}

const NONE: Cell[] = [null, null, null];

/** json-sql.ts plain: a partial date (or a ULID) between quotes, `null` for none. */
const plain = (x: unknown): string => (x === null || x === undefined ? 'null' : `"${x as string}"`);
const q = JSON.stringify;
/**
 * JSON of a string of the row not yet stored, as json_quote writes the stored column: a lone
 * surrogate left as it is (better-sqlite3 stores it as its three bytes, ED A0 80 for U+D800, the
 * column's bytes, which json_quote copies; JSON.stringify would escape it: `"\ud800"`, and
 * toWellFormed's U+FFFD is other bytes), every other character as JSON.stringify writes it.
 */
const LONE = /(?<!\\)((?:\\\\)*)\\u(d[89a-f][0-9a-f]{2})/g;
const quoteStored = (x: unknown): string => {
  const text = q(x);
  return text.includes('\\ud') ? text.replace(LONE, (_, slashes: string, hex: string) => slashes + String.fromCharCode(parseInt(hex, 16))) : text;
};

/**
 * [item_head, item_tail, item_to] of an adoption, from its document's and session's entity
 * versions known at its known_from (undefined: none), byte for byte what documentFields writes
 * in SQL (json_quote writes what JSON.stringify does; the detail's values are JSON.stringify's
 * text, which `->` and json_extract give back as it is).
 */
export function itemCells(a: AdoptionCells, d: DocVersion | undefined, s: SessionVersion | undefined): Cell[] {
  if (a.session === null || a.session === undefined || d === undefined || s === undefined || d.kind !== 'document' || d.corrected_by !== null) return NONE;
  const detail = d.detail === null ? null : (JSON.parse(d.detail) as { kind?: unknown; period?: unknown; summary?: unknown } | null);
  const period = a.period !== null && a.period !== undefined && a.period !== 'null' ? (a.period as string) : q(detail?.period ?? null);
  const summary = a.summary !== null && a.summary !== undefined ? quoteStored(a.summary) : q(detail?.summary ?? null);
  const head = `{"id":"${a.document as string}","key":${q(d.key)},"title":${q(d.name)},"kind":${q(detail?.kind ?? null)},"status":"adopted","adoptedOn":${plain(a.adopted_raw)},"effective":{"from":${plain(a.from_raw)},"to":${plain(a.to_raw)}},"period":${period},"summary":${summary}`;
  const tail = `,"session":{"id":"${s.id}","key":${q(s.key)},${s.kind === 'office' ? '"title"' : '"name"'}:${q(s.name)}},"factId":"${d.fact_id}"`;
  return [head, tail, d.known_to < s.known_to ? d.known_to : s.known_to];
}

const DOC = 'kind, key, name, detail, fact_id, corrected_by, known_to';
const SESSION = 'id, kind, key, name, known_to';

/** The writer's upkeep of the stored items (db.ts): their values at an adoption's insert, and the rows an entity's closed version touches. */
export class StoredItems {
  private readonly doc: Statement;
  private readonly session: Statement;
  private readonly closeDoc: Statement;
  private readonly closeSession: Statement;
  private readonly one: Statement;
  /** The last row's cells are left to `one` (an entity's text SQLite stores as bytes JS cannot give back). */
  private inSql = false;

  constructor(db: Db) {
    // An entity's version known at the row's moment (as finishStoredItems joins it; every version
    // in the table is earlier in the log): by its primary key (id, position), the few versions of the id.
    this.doc = db.prepare(`SELECT ${DOC} FROM entities WHERE id = @id AND known_from <= @k AND known_to > @k`);
    this.session = db.prepare(`SELECT ${SESSION} FROM entities WHERE id = @id AND known_from <= @k AND known_to > @k`);
    // Through adoptions' (document, …) and (session, document) indexes.
    const set = `SET item_to = CASE WHEN known_from < @at THEN @at END, item_head = CASE WHEN known_from < @at THEN item_head END, item_tail = CASE WHEN known_from < @at THEN item_tail END`;
    this.closeDoc = db.prepare(`UPDATE adoptions ${set} WHERE document = @id AND item_to > @at`);
    this.closeSession = db.prepare(`UPDATE adoptions ${set} WHERE session = @id AND item_to > @at`);
    this.one = db.prepare(storedItemsSql(' AND a.rowid = ?'));
  }

  /**
   * The stored cells of the adoption row `row` known from `k`, inserted now: from the versions
   * known at k (not the open ones: in a log whose recording times go back, a version opened
   * after k may be open, and the one known at k closed, its known_to then item_to).
   */
  cells(row: Row, k: string): Cell[] {
    this.inSql = false;
    if (row['session'] === null || row['session'] === undefined) return NONE;
    const d = this.doc.get({ id: row['document'], k }) as DocVersion | undefined;
    if (d === undefined || d.kind !== 'document' || d.corrected_by !== null) return NONE;
    const s = this.session.get({ id: row['session'], k }) as SessionVersion | undefined;
    // A text read back with U+FFFD may be bytes SQLite keeps that are not UTF-8 (a lone
    // surrogate stored by hand): JS would write U+FFFD's bytes, json_quote the stored ones.
    if (s !== undefined && [d.key, d.name, s.key, s.name].some((x) => x?.includes('\ufffd'))) {
      this.inSql = true;
      return NONE;
    }
    return itemCells(row as unknown as AdoptionCells, d, s);
  }

  /** After the insert of the row `cells` was asked for: its cells by finishStoredItems' SQL, when they were left to it. */
  inserted(rowid: number): void {
    if (this.inSql) this.one.run(rowid);
    this.inSql = false;
  }

  /** A version of the entity `id` closed at `at` (a correction or retraction of the fact that created it). */
  closed(id: string, at: string): void {
    const p = { id, at };
    this.closeDoc.run(p);
    this.closeSession.run(p);
  }
}

/** json-sql.ts plain in SQL. */
const PLAIN = (x: string): string => `CASE WHEN ${x} IS NULL THEN 'null' ELSE '"' || ${x} || '"' END`;

/**
 * A rebuild's stored items, from the finished rows (every close applied): each adoption with a
 * session joined to the versions known at its known_from written no later than it, its texts
 * written by SQLite in one statement (itemCells' text in SQL, as json.ts documentFields writes
 * it: json_quote's escapes are JSON.stringify's, the detail's values JSON.stringify's text given
 * back as it is), so no row's values cross into JS (~0.5 µs a value: 49,142 rows of 20 were
 * ~0.8 s of CPU, their texts in JS ~0.6 s more, on the 1,000,000-fact record).
 */
export function finishStoredItems(db: Db): number {
  return db.prepare(storedItemsSql('')).run().changes;
}

/** finishStoredItems' UPDATE, of the rows `where` keeps (`AND …`, of `a`). */
function storedItemsSql(where: string): string {
  return `UPDATE adoptions SET item_head = x.head, item_tail = x.tail, item_to = x.until FROM (
       SELECT a.rowid AS r,
         concat('{"id":"', a.document, '","key":', json_quote(d.key), ',"title":', json_quote(d.name), ',"kind":', coalesce(d.detail -> '$.kind', 'null'),
           ',"status":"adopted","adoptedOn":', ${PLAIN('a.adopted_raw')}, ',"effective":{"from":', ${PLAIN('a.from_raw')}, ',"to":', ${PLAIN('a.to_raw')},
           '},"period":', coalesce(nullif(a.period, 'null'), json_extract(d.detail, '$.period'), 'null'),
           ',"summary":', CASE WHEN a.summary IS NULL THEN coalesce(d.detail -> '$.summary', 'null') ELSE json_quote(a.summary) END) AS head,
         concat(',"session":{"id":"', s.id, '","key":', json_quote(s.key), CASE s.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END, json_quote(s.name), '},"factId":"', d.fact_id, '"') AS tail,
         min(d.known_to, s.known_to) AS until
       FROM adoptions a
       CROSS JOIN entities d ON d.id = a.document AND d.known_from <= a.known_from AND d.known_to > a.known_from AND d.position <= a.position
       CROSS JOIN entities s ON s.id = a.session AND s.known_from <= a.known_from AND s.known_to > a.known_from AND s.position <= a.position
       WHERE a.session IS NOT NULL AND d.kind = 'document' AND d.corrected_by IS NULL${where}) x
     WHERE adoptions.rowid = x.r`;
}
