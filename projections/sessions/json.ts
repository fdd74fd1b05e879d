/**
 * Sessions as JSON text written by SQLite (json-sql.ts), one statement for a page: each
 * session with its attendees, reports, documents and talks, byte for byte what
 * JSON.stringify writes of queries.ts `renderSessions`' view once `correctedBy` is marked and
 * `more` is left out (a read worker hands `more` over apart: read-worker.ts).
 *
 * A page whose sessions all have at most `nested` items in each list (every page of the
 * 1,000,000-fact record: at most 30 a list) has no `more`: its lists are written whole. A page
 * with a longer list gives null, and is rendered in JS (the first `nested` and the key to
 * continue after).
 */
import { KNOWN, type QueryContext } from '../query-context.js';
import { ARRAY, CORRECTED, VIEW, quoted, withViews } from '../json-sql.js';
import { documentJson } from '../documents/json.js';

const ITEM = {
  attendee: `'{"person":' || ${VIEW('i.person')} || ',"representing":' || ${VIEW('i.representing')} || ',"office":' || ${VIEW('i.office')}`,
  report: `'{"person":' || ${VIEW('i.person')} || ',"office":' || ${VIEW('i.office')} || ',"subject":' || ${quoted('i.subject')}`,
  talks:
    `'{"participants":[' || coalesce((SELECT group_concat('{"person":' || ${VIEW(`p.value ->> '$.person'`)} || ',"organization":' || ${VIEW(`p.value ->> '$.organization'`)} || '}', ',') FROM json_each(i.participants) p), '') || ']'` +
    ` || ',"topics":' || ${ARRAY('i.topics')} || ',"on":' || ${quoted('coalesce(i.on_raw, s.from_raw)')} || ',"summary":' || ${quoted('i.summary')}`,
} as const;

/**
 * The session `s`'s lists from one walk of its items in the primary key's order (session, item,
 * position, fact_id: each list in recording order): `"attendees":[…],"reports":[…],
 * "documents":[…],"talks":[…]` without its first quote, or NULL when a list holds more than
 * `@nested` (a NULL makes the whole session's text NULL: it is then rendered as objects).
 */
const LISTS = `(SELECT CASE WHEN max(na, nr, nt) > @nested THEN NULL ELSE
    'attendees":[' || coalesce(ga, '') || '],"reports":[' || coalesce(gr, '') || '],"documents":[' || ${documents()} || '],"talks":[' || coalesce(gt, '') || ']' END
  FROM (SELECT group_concat(j, ',') FILTER (WHERE item = 'attendee') AS ga, count(*) FILTER (WHERE item = 'attendee') AS na,
      group_concat(j, ',') FILTER (WHERE item = 'report') AS gr, count(*) FILTER (WHERE item = 'report') AS nr,
      group_concat(j, ',') FILTER (WHERE item = 'talks') AS gt, count(*) FILTER (WHERE item = 'talks') AS nt
    FROM (SELECT i.item AS item, CASE i.item WHEN 'attendee' THEN ${ITEM.attendee} WHEN 'report' THEN ${ITEM.report} WHEN 'talks' THEN ${ITEM.talks} END || ',"factId":' || ${quoted('i.fact_id')} || ${CORRECTED('i')} || '}' AS j
      FROM session_items i WHERE i.session = s.id AND ${KNOWN('i')} ORDER BY i.item, i.position, i.fact_id)))`;

/** The documents adopted or considered at the session `s` known at k, by id (documents/queries.ts sessionDocuments); NULL when more than `@nested`. */
function documents(): string {
  const ids = `SELECT a.document AS id FROM adoptions a WHERE a.session = s.id AND ${KNOWN('a')} UNION SELECT c.document FROM considerations c WHERE c.session = s.id AND ${KNOWN('c')}`;
  return `(SELECT CASE WHEN count(*) > @nested THEN NULL ELSE coalesce(group_concat(dj, ','), '') END FROM (SELECT ${documentJson('d.id')} AS dj FROM (${ids} ORDER BY 1) d))`;
}

const SESSION = [
  `'{"id":' || ${quoted('s.id')}`,
  `',"key":' || ${quoted('s.key')}`,
  `',"title":' || ${quoted('s.title')}`,
  `',"number":' || ${quoted('s.number')}`,
  `',"body":' || ${VIEW('s.body')}`,
  `',"held":{"from":' || ${quoted('s.from_raw')} || ',"to":' || ${quoted('s.to_raw')} || '}'`,
  // `s.city ? … : null` in JS: NULL and '' are no place.
  `',"place":' || CASE WHEN s.city <> '' THEN '{"city":' || ${quoted('s.city')} || ',"country":' || ${VIEW('s.country')} || '}' ELSE 'null' END`,
  `',"chairedBy":' || CASE WHEN s.chair_person <> '' THEN '{"person":' || ${VIEW('s.chair_person')} || ',"office":' || ${VIEW('s.chair_office')} || '}' ELSE 'null' END`,
  `',"agenda":' || ${ARRAY('s.agenda')}`,
  `',"' || ${LISTS}`,
  `',"factId":' || ${quoted('s.fact_id')}`,
  CORRECTED('s'),
  `'}'`,
].join(' || ');

const PAGE = `SELECT ${SESSION} AS json FROM json_each(@ids) j CROSS JOIN sessions s WHERE s.id = j.value AND ${KNOWN('s')} ORDER BY j.key`;

/**
 * The sessions `ids` (known at k, in this order) as JSON texts, each with every item of its
 * lists; null when a list of one of them is longer than `nested` (then it needs `more`).
 */
export function sessionsJson(q: QueryContext, ids: readonly string[], k: string, nested: number): string[] | null {
  if (ids.length === 0) return [];
  const out: string[] = [];
  for (const { json } of q.all<{ json: string | null }>(PAGE, { ids: JSON.stringify(ids), k, nested })) {
    if (json === null) return null;
    out.push(json);
  }
  return withViews(q, out, k);
}
