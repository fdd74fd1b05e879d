/**
 * SQL expressions that write an answer's JSON text in SQLite, byte for byte what
 * JSON.stringify writes of the objects the queries build in JS: a read worker hands the text
 * over instead of building objects from rows and serializing them (for a page of sessions
 * those two were ~40% of its CPU: bench/page-cpu.ts).
 *
 * Strings go through json_quote, whose escapes are JSON.stringify's (checked for every ASCII
 * character in test/projections-json-sql.test.ts; text in SQLite is well-formed UTF-8, so no
 * lone surrogate reaches either). NULL quotes as `null`. Every expression reads `@k`; entity
 * views are put in afterwards (withViews) or joined in place (JOIN_VIEW, JOINED).
 */
import { KNOWN, type QueryContext } from './query-context.js';

/** A string (or NULL) column as a JSON value. */
export const quoted = (x: string): string => `json_quote(${x})`;

/**
 * A ULID or a partial date (the envelope's and the fact's schemas admit nothing else: no
 * character JSON escapes) as a JSON string, NULL as `null`: without json_quote, which cost
 * ~0.2 µs a call, ~35 µs of a page of 50 documents' statement.
 */
export const plain = (x: string): string => (x === 'NULL' ? `'null'` : `CASE WHEN ${x} IS NULL THEN 'null' ELSE '"' || ${x} || '"' END`);
/** A column never NULL that holds a ULID, as a JSON string. */
export const ulid = (x: string): string => `'"' || ${x} || '"'`;

/**
 * Where the entity view `{ id, key, name }` (offices: `title`) of the id `x` goes: `null` for a
 * NULL id, else the id between the characters U+0001 and U+0002 (no JSON text holds them raw:
 * json_quote escapes them), which `withViews` replaces with the view as known at k (pages of
 * documents). Written in place, each view was a correlated subquery run for each mark (~400 a
 * page of sessions): ~0.7 ms of a page's CPU, against ~0.2 ms for one statement over the page's
 * ~230 ids; a page of sessions now joins each entity where it reads its id (JOIN_VIEW), which
 * also spares the replacing in JS (sessions/json.ts).
 */
export const VIEW = (x: string): string => `CASE WHEN ${x} IS NULL THEN 'null' ELSE char(1) || (${x}) || char(2) END`;

/**
 * The view `{ id, key, name }` (offices: `title`) of an entity from its row `v`, its id written
 * by json_quote, or between quotes as it is (`bare`: a ULID, as query-context.ts `view` writes it).
 */
const viewText = (v: string, id: 'quoted' | 'bare'): string =>
  // concat(): one allocation for the view, where each || copied the text so far (~4% of a page
  // of sessions' statement, ~290 views: bench/page-parts.ts BENCH_ONLY=sessions). None of its parts is NULL
  // (the row is there; json_quote writes NULL as `null`), so concat's '' for NULL never shows.
  `concat(${id === 'quoted' ? `'{"id":', json_quote(${v}.id), ',"key":'` : `'{"id":"', ${v}.id, '","key":'`}, json_quote(${v}.key), CASE ${v}.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END, json_quote(${v}.name), '}')`;

/** The view of an entity from its row `v` in withViews' form. */
const VIEW_TEXT = (v: string): string => viewText(v, 'quoted');

/** The view of the id `x` (an SQL expression) of no entity known at k: the id alone, key and name (an office's place: title) null, as query-context.ts `view` writes it. */
export const UNKNOWN_VIEW = (x: string, kind?: 'office'): string => `'{"id":' || json_quote(${x}) || ',"key":null,${kind === 'office' ? '"title"' : '"name"'}:null}'`;

/**
 * The view of the entity whose id is the parameter `p` (never NULL), written in place as
 * withViews would put it in (the id alone, key and name null, when no entity of that id is
 * known at k): a subquery of parameters only, run once a statement, however many rows show it.
 */
export const VIEW_NOW = (p: string): string => `coalesce((SELECT ${VIEW_TEXT('v')} FROM entities v WHERE v.id = ${p} AND ${KNOWN('v')}), ${UNKNOWN_VIEW(p)})`;

/**
 * Entity views written in place, without marks: the view of the entity row `e` (an alias) as
 * query-context.ts `view` renders it (its id a ULID, written without json_quote).
 */
const JOINED_TEXT = (e: string): string => viewText(e, 'bare');

/** The view of the id `x` whose entity known at k the statement joined as `e` (JOIN_VIEW): `null` for a NULL id, nulls for an id not known at k. */
export const JOINED = (x: string, e: string, kind?: 'office'): string => `CASE WHEN ${x} IS NULL THEN 'null' WHEN ${e}.id IS NULL THEN ${UNKNOWN_VIEW(x, kind)} ELSE ${JOINED_TEXT(e)} END`;

/**
 * `LEFT JOIN` of the entity `x` known at k as `e`, for JOINED. An entity has one version known
 * at any k (a correction closes the old one at the moment the new one opens), so the join
 * never doubles a row.
 */
export const JOIN_VIEW = (e: string, x: string): string => `LEFT JOIN entities ${e} ON ${e}.id = ${x} AND ${KNOWN(e)}`;

/** The view of the id `x` known at k by a subquery of its own: for the rare view no join has at hand. */
export const VIEW_AT = (x: string, kind?: 'office'): string =>
  `CASE WHEN ${x} IS NULL THEN 'null' ELSE coalesce((SELECT ${JOINED_TEXT('v')} FROM entities v WHERE v.id = ${x} AND ${KNOWN('v')}), ${UNKNOWN_VIEW(x, kind)}) END`;

/**
 * `texts` with each entity's view (VIEW's marks) as query-context.ts `view` renders it as
 * known at k (nulls for an id not known then): one statement for every id of them. Split at
 * the marks, not a regular expression: a callback a mark cost ~0.3 ms a page of sessions.
 */
export function withViews(q: QueryContext, texts: string[], k: string): string[] {
  // indexOf over each text, no split: the parts of ~360 marks a page of sessions were arrays
  // and strings made only to be joined again.
  const ids = new Set<string>();
  for (const t of texts) {
    for (let at = t.indexOf('\u0001'); at >= 0; ) {
      const end = t.indexOf('\u0002', at);
      ids.add(t.slice(at + 1, end));
      at = t.indexOf('\u0001', end);
    }
  }
  if (ids.size === 0) return texts;
  const views = new Map<string, string>();
  const all = q.get<{ v: string | null }>(
    `SELECT group_concat(v.id || char(2) || ${VIEW_TEXT('v')}, char(1)) AS v FROM json_each(@ids) j CROSS JOIN entities v WHERE v.id = j.value AND ${KNOWN('v')}`,
    { ids: JSON.stringify([...ids]), k },
  )?.v;
  for (let from = 0; all; ) {
    const at = all.indexOf('\u0002', from);
    const end = all.indexOf('\u0001', at);
    views.set(all.slice(from, at), all.slice(at + 1, end < 0 ? all.length : end));
    if (end < 0) break;
    from = end + 1;
  }
  return texts.map((t) => {
    let at = t.indexOf('\u0001');
    if (at < 0) return t;
    let out = '';
    let from = 0;
    while (at >= 0) {
      const end = t.indexOf('\u0002', at);
      const id = t.slice(at + 1, end);
      out += t.slice(from, at) + (views.get(id) ?? `{"id":${JSON.stringify(id)},"key":null,"name":null}`);
      from = end + 1;
      at = t.indexOf('\u0001', from);
    }
    return out + t.slice(from);
  });
}

/**
 * `,"correctedBy":{…}` for the row `r` (an alias) known at k when a correction wrote its
 * version (db.ts `corrected_by`: the latest correction of its fact known at k, as
 * facts/queries.ts correctionsOf finds it), else ''. Only a corrected row reads `facts` (by its key).
 */
export const CORRECTED = (r: string): string =>
  `CASE WHEN ${r}.corrected_by IS NULL THEN '' ELSE (SELECT ',"correctedBy":{"factId":' || json_quote(f.fact_id) || ',"reason":' || json_quote(f.reason) || ',"recordedAt":' || json_quote(f.recorded_at) || '}' FROM facts f WHERE f.fact_id = ${r}.corrected_by) END`;

/** A JSON text column holding an array (agenda, topics): itself, `[]` for NULL or `null` (as `parse(x) ?? []`). */
export const ARRAY = (x: string): string => `coalesce(nullif(${x}, 'null'), '[]')`;
