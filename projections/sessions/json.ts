/**
 * Sessions as JSON text written by SQLite (json-sql.ts), one statement for a page: each
 * session with its attendees, reports, documents and talks, byte for byte what
 * JSON.stringify writes of queries.ts `renderSessions`' view once `correctedBy` is marked and
 * `more` is left out (a read worker hands `more` over apart: read-worker.ts).
 *
 * Entity views are written in place, each from the entity joined where its id is read
 * (JOIN_VIEW): a page of 10 sessions shows ~360 of them (~230 entities). Marks put in by
 * withViews afterwards cost one statement over the page's ids (~0.3-0.4 ms) and as much again in
 * JS to find and replace the marks; a join is one seek of entities_i3 each, within the walk
 * that reads the id. The session's own view (a document's session) is written from its row, and
 * its body's once a statement when the page has one body (OWN_VIEW, BODY_VIEW): no seek. An
 * attendance's and a report's text, views included, is stored in its row (sessions/stored.ts)
 * and written from there while no entity it names changed since (views_to > k): no seek either
 * (sessions@12: the statement ~0.94 -> ~0.5 ms a page warm, bench/page-parts.ts `BENCH_ONLY=sessions`).
 * A document's item is written from the text stored on its adoption (documents/stored.ts) while
 * it holds (item_to > k): no seek and no detail read (s37-ss: the documents' part ~264 -> ~51
 * µs a page). Talks' participants' text is stored in their row too (sessions@13, s38-sp: the
 * talks' part ~95 -> ~14-45 µs a page) and written from there while it holds. The seeks left
 * are the place's country and the chair's person and office, talks' participants whose stored
 * text no longer holds, and a document's whose item is not stored or no longer holds.
 *
 * A page whose sessions all have at most `nested` items in each list (every page of the
 * 1,000,000-fact record: at most 30 a list) has no `more`: its lists are written whole. A page
 * with a longer list gives null, and is rendered in JS (the first `nested` and the key to
 * continue after).
 */
import { KNOWN, type QueryContext } from '../query-context.js';
import { ARRAY, CORRECTED, JOINED, JOIN_VIEW, VIEW_AT, VIEW_NOW, plain, quoted, ulid } from '../json-sql.js';
import { documentFields, documentJson } from '../documents/json.js';
import { ITEM_TEXT } from './stored.js';

/**
 * Talks' text: their participants' stored text while it holds at k (`views_to > @k`:
 * stored.ts), else written with the joins of the entities they show. The rows come in the walk's order: the item
 * rows (the primary key's order: session, item, first_position, position) drive each join, which adds at
 * most one row (JOIN_VIEW). An ORDER BY there made SQLite sort them again (a temporary B-tree a
 * list: the joined entity is not unique to SQLite).
 */
const TALKS = [
  `'{"participants":['`,
  `CASE WHEN i.views_to > @k THEN i.views ELSE coalesce((SELECT group_concat(concat('{"person":', ${JOINED(`p.value ->> '$.person'`, 'pp')}, ',"organization":', ${JOINED(`p.value ->> '$.organization'`, 'po')}, '}'), ',') FROM json_each(i.participants) p ${JOIN_VIEW('pp', `p.value ->> '$.person'`)} ${JOIN_VIEW('po', `p.value ->> '$.organization'`)}), '') END`,
  `'],"topics":'`,
  ARRAY('i.topics'),
  `',"on":'`,
  plain('coalesce(i.on_raw, s.from_raw)'),
  `',"summary":'`,
  quoted('i.summary'),
];

/**
 * An attendance's or report's text up to its factId: the row's stored text when its views hold
 * at k (stored.ts: views_to, the first change after the row of an entity it names), else the
 * views as known at k, each a seek of its own (only then: not a join made for every row).
 */
const STORED_TEXT = (kind: 'attendee' | 'report'): string => `CASE WHEN i.views_to > @k THEN i.views ELSE ${ITEM_TEXT[kind]('i', VIEW_AT)} END`;

/** An item's text up to its factId. */
const ITEM = { attendee: STORED_TEXT('attendee'), report: STORED_TEXT('report'), talks: `concat(${TALKS.join(', ')}, ',"factId":', ${ulid('i.fact_id')})` } as const;

/**
 * The session `s`'s items of one kind known at k, in the order of their facts' first recordings
 * (the walk's: the primary key's, led by session, item, first_position), as their texts joined;
 * LONG when more than `@nested` (the page is then rendered as objects). One seek of
 * session_items a list.
 */
const list = (kind: keyof typeof ITEM): string =>
  `(SELECT CASE WHEN count(*) > @nested THEN ${LONG} ELSE coalesce(group_concat(j, ','), '') END FROM (SELECT concat(${ITEM[kind]}, ${CORRECTED('i')}, '}') AS j
    FROM session_items i WHERE i.session = s.id AND i.item = '${kind}' AND ${KNOWN('i')}))`;

/**
 * What a list longer than `@nested` writes in place of its items: U+0000, which no JSON text
 * written here holds raw (json_quote escapes it; ids and dates cannot hold it). A session's text
 * is one concat() of its parts (one allocation, where a chain of || copied the text written so
 * far at each step, ~4 KB a session), and concat() reads NULL as '': a NULL could not say it.
 */
const LONG_MARK = '\u0000';
const LONG = 'char(0)';

/** The ids of the documents adopted or considered at the session `s` known at k, by id (documents/queries.ts sessionDocuments). */
const DOCUMENT_IDS = `SELECT a.document AS id FROM adoptions a WHERE a.session = s.id AND ${KNOWN('a')} UNION SELECT c.document FROM considerations c WHERE c.session = s.id AND ${KNOWN('c')}`;

/** The adoption columns documentFields reads, of the row `x`. */
const ADOPTION = ['document', 'from_raw', 'to_raw', 'adopted_raw', 'period', 'summary', 'body', 'session', 'item_head', 'item_tail', 'item_to'].map((c) => `x.${c} AS ${c}`).join(', ');

/**
 * The session's own entity view, from its row: the entity and the row are both written from the
 * SessionHeld fact's version (entities/evolve.ts: key, and title as name), so whenever the row is
 * known at k the entity is, with the same key and name. Not a seek of entities_i3 a session.
 */
const OWN_VIEW = `concat('{"id":"', s.id, '","key":', json_quote(s.key), ',"name":', json_quote(s.title), '}')`;

/**
 * The view of the session's body: `@body` (the page's one body, or NULL) written once a
 * statement (VIEW_NOW: a subquery of parameters only), any other body by a subquery of its own.
 * Every session of a page of the 1,000,000-fact record has the same body: a join a session was
 * ten seeks of entities_i3 for one view.
 */
const BODY_VIEW = `CASE WHEN s.body = @body THEN ${VIEW_NOW('@body')} ELSE ${VIEW_AT('s.body')} END`;

/** A document's body or session: the session's own when it is, else looked up. */
const docView = (x: string, of: 'body' | 'session'): string => (of === 'body' ? `CASE WHEN ${x} = s.body THEN ${BODY_VIEW} ELSE ${VIEW_AT(x)} END` : `CASE WHEN ${x} = s.id THEN ${OWN_VIEW} ELSE ${VIEW_AT(x)} END`);

/**
 * The documents adopted or considered at the session `s` known at k, by id: their items' texts
 * joined, or LONG when more than `@nested` of them are known at k (count(dj): an adoption known
 * whose document is not, its making fact retracted, writes no item, as sessionDocuments lists
 * none). A session nothing was considered at (every session
 * of the 1,000,000-fact record) lists its adoptions known at k in the index's order (session,
 * document): no union to sort. Of a document's adoptions there, the one of least position (min's
 * bare columns) is its first known at k when no adoption of it came before in the log (db.ts
 * `earliest`): its item is written from that row, not by finding the first adoption again (two
 * more seeks): from the row's stored text (documents/stored.ts, the same text documentFields
 * writes) while it holds at k (`item_to > @k`: the document's entity and the session's known at k
 * are the versions it was written from, the document's not corrected, so it has no correctedBy;
 * the session's view there is what OWN_VIEW writes), the body's view put in (docView, of the
 * row's body: documentFields' `coalesce(a.body, e.parent)` when a.body is set); else from the
 * document's entity (one seek). Any other document goes through documentJson
 * (the general rule), by the id the group carries (`sd_id`: a name documentJson's own tables do
 * not have, so it reads this row's). The groups come in document order (SQLite emits a GROUP BY's
 * groups in the order of its key, here the index's): an ORDER BY again made a sorter a session.
 * The walk reads adoptions' (session, document, …) index alone (documents/evolve.ts
 * SESSION_ADOPTIONS holds every column of `x` read here): a session's adoptions side by side in
 * it, where the table's rows of ~25 documents a page lay in as many places (documents@9, s40-st:
 * bench:page-cpu 0.92-0.95 of the table's CPU a page, 1,600 questions, load 3-4).
 */
function documents(): string {
  const fast = `(SELECT ${documentFields({ view: docView, concat: true })} FROM entities e WHERE e.id = a.document AND e.kind = 'document' AND ${KNOWN('e')})`;
  const first = `CASE WHEN a.item_to > @k AND a.body IS NOT NULL THEN concat(a.item_head, ',"body":', ${docView('a.body', 'body')}, a.item_tail, '}') ELSE ${fast} END`;
  const adopted = `(SELECT CASE WHEN count(dj) > @nested THEN ${LONG} ELSE coalesce(group_concat(dj, ','), '') END FROM (SELECT CASE WHEN a.earliest = 1 THEN ${first} ELSE ${documentJson('sd_id', docView)} END AS dj
    FROM (SELECT ${ADOPTION}, x.document AS sd_id, x.earliest AS earliest, min(x.position) FROM adoptions x WHERE x.session = s.id AND ${KNOWN('x')} GROUP BY x.document) a))`;
  const any = `(SELECT CASE WHEN count(dj) > @nested THEN ${LONG} ELSE coalesce(group_concat(dj, ','), '') END FROM (SELECT ${documentJson('d.id', docView)} AS dj FROM (${DOCUMENT_IDS} ORDER BY 1) d))`;
  return `CASE WHEN EXISTS (SELECT 1 FROM considerations c WHERE c.session = s.id) THEN ${any} ELSE ${adopted} END`;
}

/** `"attendees":[…],"reports":[…],"documents":[…],"talks":[…]` without its first quote. */
const LISTS = `'attendees":[', ${list('attendee')}, '],"reports":[', ${list('report')}, '],"documents":[', ${documents()}, '],"talks":[', ${list('talks')}, ']'`;

const SESSION = `concat(${[
  `'{"id":', ${ulid('s.id')}`,
  `',"key":', ${quoted('s.key')}`,
  `',"title":', ${quoted('s.title')}`,
  `',"number":', ${quoted('s.number')}`,
  `',"body":', ${BODY_VIEW}`,
  `',"held":{"from":', ${plain('s.from_raw')}, ',"to":', ${plain('s.to_raw')}, '}'`,
  // `s.city ? … : null` in JS: NULL and '' are no place.
  `',"place":', CASE WHEN s.city <> '' THEN '{"city":' || ${quoted('s.city')} || ',"country":' || ${JOINED('s.country', 'sc')} || '}' ELSE 'null' END`,
  `',"chairedBy":', CASE WHEN s.chair_person <> '' THEN '{"person":' || ${JOINED('s.chair_person', 'sp')} || ',"office":' || ${JOINED('s.chair_office', 'so', 'office')} || '}' ELSE 'null' END`,
  `',"agenda":', ${ARRAY('s.agenda')}`,
  `',"', ${LISTS}`,
  `',"factId":', ${ulid('s.fact_id')}`,
  CORRECTED('s'),
  `'}'`,
].join(', ')})`;

const PAGE = `SELECT j.key AS n, ${SESSION} AS json FROM json_each(@ids) j CROSS JOIN sessions s ${JOIN_VIEW('sc', 's.country')} ${JOIN_VIEW('sp', 's.chair_person')} ${JOIN_VIEW('so', 's.chair_office')}
  WHERE s.id = j.value AND ${KNOWN('s')}`;

/**
 * The sessions `ids` (known at k, in this order) as JSON texts, each with every item of its
 * lists; null when a list of one of them is longer than `nested` (then it needs `more`).
 */
export function sessionsJson(q: QueryContext, ids: readonly string[], k: string, nested: number, body: string | null = null): string[] | null {
  if (ids.length === 0) return [];
  // In the order of `ids` by their place (j.key), not by an ORDER BY: SQLite copied the page's
  // texts (~4 KB a session) into a sorter to put them back in the order json_each read them.
  const at: (string | undefined)[] = new Array<string | undefined>(ids.length);
  for (const { n, json } of q.all<{ n: number; json: string | null }>(PAGE, { ids: JSON.stringify(ids), k, nested, body })) {
    if (json === null || json.includes(LONG_MARK)) return null;
    at[n] = json;
  }
  return at.filter((t): t is string => t !== undefined);
}
