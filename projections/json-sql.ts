/**
 * SQL expressions that write an answer's JSON text in SQLite, byte for byte what
 * JSON.stringify writes of the objects the queries build in JS: a read worker hands the text
 * over instead of building objects from rows and serializing them (for a page of sessions
 * those two were ~40% of its CPU: bench/page-cpu.ts).
 *
 * Strings go through json_quote, whose escapes are JSON.stringify's (checked for every ASCII
 * character in test/projections-json-sql.test.ts; text in SQLite is well-formed UTF-8, so no
 * lone surrogate reaches either). NULL quotes as `null`. Every expression reads `@k`; entity
 * views are put in afterwards (withViews).
 */
import { KNOWN, type QueryContext } from './query-context.js';

/** A string (or NULL) column as a JSON value. */
export const quoted = (x: string): string => `json_quote(${x})`;

/**
 * Where the entity view `{ id, key, name }` (offices: `title`) of the id `x` goes: `null` for a
 * NULL id, else the id between the characters U+0001 and U+0002 (no JSON text holds them raw:
 * json_quote escapes them), which `withViews` replaces with the view as known at k. Written
 * in place, each view was a correlated subquery run for each mark (~400 a page of sessions):
 * ~0.7 ms of a page's CPU, against ~0.2 ms for one statement over the page's ~230 ids.
 */
export const VIEW = (x: string): string => `CASE WHEN ${x} IS NULL THEN 'null' ELSE char(1) || (${x}) || char(2) END`;

/** The view `{ id, key, name }` (offices: `title`) of an entity in withViews' form, from its row `v`. */
const VIEW_TEXT = (v: string): string => `'{"id":' || json_quote(${v}.id) || ',"key":' || json_quote(${v}.key) || CASE ${v}.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END || json_quote(${v}.name) || '}'`;

/**
 * The view of the entity whose id is the parameter `p` (never NULL), written in place as
 * withViews would put it in (the id alone, key and name null, when no entity of that id is
 * known at k): a subquery of parameters only, run once a statement, however many rows show it.
 */
export const VIEW_NOW = (p: string): string => `coalesce((SELECT ${VIEW_TEXT('v')} FROM entities v WHERE v.id = ${p} AND ${KNOWN('v')}), '{"id":' || json_quote(${p}) || ',"key":null,"name":null}')`;

/**
 * `texts` with each entity's view (VIEW's marks) as query-context.ts `view` renders it as
 * known at k (nulls for an id not known then): one statement for every id of them. Split at
 * the marks, not a regular expression: a callback a mark cost ~0.3 ms a page of sessions.
 */
export function withViews(q: QueryContext, texts: string[], k: string): string[] {
  const split = texts.map((t) => t.split('\u0001'));
  const ids = new Set<string>();
  for (const parts of split) for (let i = 1; i < parts.length; i++) ids.add((parts[i] as string).slice(0, (parts[i] as string).indexOf('\u0002')));
  const views = new Map<string, string>();
  const all = q.get<{ v: string | null }>(
    `SELECT group_concat(v.id || char(2) || ${VIEW_TEXT('v')}, char(1)) AS v FROM json_each(@ids) j CROSS JOIN entities v WHERE v.id = j.value AND ${KNOWN('v')}`,
    { ids: JSON.stringify([...ids]), k },
  )?.v;
  for (const part of all?.split('\u0001') ?? []) {
    const at = part.indexOf('\u0002');
    views.set(part.slice(0, at), part.slice(at + 1));
  }
  return split.map((parts) => {
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i] as string;
      const at = part.indexOf('\u0002');
      const id = part.slice(0, at);
      out += (views.get(id) ?? `{"id":${JSON.stringify(id)},"key":null,"name":null}`) + part.slice(at + 1);
    }
    return out;
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
