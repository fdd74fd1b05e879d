/**
 * An attendance's or report's text as a page of sessions writes it (sessions/json.ts), stored in
 * its `session_items` row when the row is written: its entity views (person, representing,
 * office) as known at the row's known_from (talks: their participants' text, sessions@13; the
 * rows naming an id found through talk_participants), and until when they hold (`views_to`): the first
 * moment after known_from at which a version of an entity it names opens or closes (a
 * correction or retraction of it, or its registration when the row named it before). A page
 * known at k < views_to writes the stored text with no seek of `entities`; a later k writes the
 * views as known at k, as before (#12: the ~230 entity seeks were ~60% of a page's statement).
 *
 * Both are a pure function of the rows (each entity's versions), so the writer's upkeep (db.ts:
 * at an insert, then again for the rows naming an entity whose versions change at t and whose
 * views_to >= t) and a rebuild's (finishBulk: every row once the log is applied) make the same.
 * Both time axes: the texts are of one moment of recording (known_from) and every valid time
 * (an entity has no valid time), and a past knownAt reads them only when no version of an entity
 * they name opened or closed between known_from and it, so it gets what it got before.
 */
import { OPEN_END } from '../../events/index.js';
import type { DerivedSpec } from '../types.js';
import { UNKNOWN_VIEW } from '../json-sql.js';
import { jsonQuote } from './live-views.js';

/** The view `{ id, key, name }` (offices: `title`) of the id `x` as known at the moment `k` (SQL expressions), as json-sql.ts VIEW_AT writes it at @k. */
export const VIEW_AS_OF = (x: string, k: string, kind?: 'office'): string =>
  `CASE WHEN ${x} IS NULL THEN 'null' ELSE coalesce((SELECT concat('{"id":"', v.id, '","key":', json_quote(v.key), CASE v.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END, json_quote(v.name), '}') FROM entities v WHERE v.id = ${x} AND v.known_from <= ${k} AND v.known_to > ${k}), ${UNKNOWN_VIEW(x, kind)}) END`;

/** The first moment after `k` at which a version of the entity `x` opens or closes (OPEN_END: none; a NULL id never changes). */
const NEXT_CHANGE = (x: string, k: string): string =>
  `CASE WHEN ${x} IS NULL THEN '${OPEN_END}' ELSE coalesce((SELECT min(CASE WHEN v.known_from > ${k} THEN v.known_from ELSE v.known_to END) FROM entities v WHERE v.id = ${x} AND v.known_to > ${k}), '${OPEN_END}') END`;

/**
 * An item's text up to its factId included (the reader adds correctedBy and the closing brace),
 * its views written by `view` (x: an id column; `kind`: 'office' where an office is named, so
 * an office not known is `{ id, key: null, title: null }`): an attendance's or a report's, as json.ts ITEM writes them.
 */
export const ITEM_TEXT = {
  attendee: (r: string, view: (x: string, kind?: 'office') => string): string =>
    `concat('{"person":', ${view(`${r}.person`)}, ',"representing":', ${view(`${r}.representing`)}, ',"office":', ${view(`${r}.office`, 'office')}, ',"factId":"', ${r}.fact_id, '"')`,
  report: (r: string, view: (x: string, kind?: 'office') => string): string =>
    `concat('{"person":', ${view(`${r}.person`)}, ',"office":', ${view(`${r}.office`, 'office')}, ',"subject":', json_quote(${r}.subject), ',"factId":"', ${r}.fact_id, '"')`,
} as const;

/**
 * Talks' participants as a page writes them between the brackets of `"participants":[…]`
 * (json.ts TALKS), their views written by `view` (x: a participant's id, `p.value ->> '$.person'`).
 */
export const PARTICIPANTS_TEXT = (participants: string, view: (x: string) => string): string =>
  `coalesce((SELECT group_concat(concat('{"person":', ${view(`p.value ->> '$.person'`)}, ',"organization":', ${view(`p.value ->> '$.organization'`)}, '}'), ',') FROM json_each(${participants}) p), '')`;

/** The items whose text is stored. */
const STORED = (r: string): string => `${r}.item IN ('attendee', 'report', 'talks')`;

/**
 * The rows naming an id of the set `ids` (an SQL list, `(?)` or `(SELECT id FROM …)`) in their
 * talks' participants: through talk_participants (evolve.ts), by session (a session's talks are
 * few: those naming other ids are derived again too, to the same values).
 */
const TALKS_NAMING = (r: string, ids: string): string => `${r}.item = 'talks' AND ${r}.session IN (SELECT tp.session FROM talk_participants tp WHERE tp.entity IN ${ids})`;

/** The ids a talks row's participants name (each once, in their order). */
export function participantIds(participants: unknown): string[] | undefined {
  if (typeof participants !== 'string') return undefined;
  let list: unknown;
  try {
    list = JSON.parse(participants);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const ids = new Set<string>();
  for (const p of list) {
    if (p === null || typeof p !== 'object') return undefined;
    for (const c of ['person', 'organization']) {
      const x = (p as Record<string, unknown>)[c];
      if (typeof x === 'string') ids.add(x);
      else if (x !== undefined && x !== null) return undefined;
    }
  }
  return [...ids];
}

/** session_items' derived columns: `views` (the text; talks: their participants') and `views_to`. */
export const ITEM_VIEWS: DerivedSpec = {
  columns: ['views', 'views_to'],
  values: (r) => [
    `CASE ${r}.item WHEN 'attendee' THEN ${ITEM_TEXT.attendee(r, (x, kind) => VIEW_AS_OF(x, `${r}.known_from`, kind))} WHEN 'report' THEN ${ITEM_TEXT.report(r, (x, kind) => VIEW_AS_OF(x, `${r}.known_from`, kind))} WHEN 'talks' THEN ${PARTICIPANTS_TEXT(`${r}.participants`, (x) => VIEW_AS_OF(x, `${r}.known_from`))} END`,
    `CASE ${r}.item WHEN 'talks' THEN coalesce((SELECT min(min(${NEXT_CHANGE(`p.value ->> '$.person'`, `${r}.known_from`)}, ${NEXT_CHANGE(`p.value ->> '$.organization'`, `${r}.known_from`)})) FROM json_each(${r}.participants) p), '${OPEN_END}') WHEN 'attendee' THEN min(${['person', 'representing', 'office'].map((c) => NEXT_CHANGE(`${r}.${c}`, `${r}.known_from`)).join(', ')}) WHEN 'report' THEN min(${['person', 'representing', 'office'].map((c) => NEXT_CHANGE(`${r}.${c}`, `${r}.known_from`)).join(', ')}) END`,
  ],
  until: 'views_to',
  refs: ['person', 'office', 'representing'],
  listed: {
    rows: TALKS_NAMING,
    ids: (row) => (row['item'] === 'talks' ? (participantIds(row['participants']) ?? []) : []),
  },
  where: STORED,
  js: (row, factId, k, view) => itemViewsJs(row, factId, k, view),
};

/**
 * The live writer's derived values of a row (live-views.ts): [views, views_to] as ITEM_VIEWS'
 * SQL makes them for a row known from `k` whose entities have not changed since, or undefined
 * when a view is not held (the writer then uses the SQL).
 */
export function itemViewsJs(row: Readonly<Record<string, unknown>>, factId: string, k: string, view: (id: string, k: string) => string | undefined): [string | null, string | null] | undefined {
  const item = row['item'];
  if (item === 'talks') return talksViewsJs(row, k, view);
  if (item !== 'attendee' && item !== 'report') return [null, null];
  const v = (c: string): string | undefined => {
    const x = row[c];
    if (x === null || x === undefined) return 'null';
    return typeof x === 'string' ? view(x, k) : undefined;
  };
  // views_to's min runs over all three columns, for a report too.
  const person = v('person');
  const office = v('office');
  const representing = v('representing');
  if (person === undefined || office === undefined || representing === undefined) return undefined;
  if (item === 'report') {
    const subject = jsonQuote(row['subject']);
    return subject === undefined ? undefined : [`{"person":${person},"office":${office},"subject":${subject},"factId":"${factId}"`, OPEN_END];
  }
  return [`{"person":${person},"representing":${representing},"office":${office},"factId":"${factId}"`, OPEN_END];
}

/** A talks row's [views, views_to] (its participants' text), or undefined when a view is not held or JS cannot read the list as json_each does. */
function talksViewsJs(row: Readonly<Record<string, unknown>>, k: string, view: (id: string, k: string) => string | undefined): [string, string] | undefined {
  const participants = row['participants'];
  if (typeof participants !== 'string' || participantIds(participants) === undefined) return undefined;
  const parts: string[] = [];
  for (const p of JSON.parse(participants) as Record<string, unknown>[]) {
    const person = typeof p['person'] === 'string' ? view(p['person'], k) : 'null';
    const organization = typeof p['organization'] === 'string' ? view(p['organization'], k) : 'null';
    if (person === undefined || organization === undefined) return undefined;
    parts.push(`{"person":${person},"organization":${organization}}`);
  }
  return [parts.join(','), OPEN_END];
}
