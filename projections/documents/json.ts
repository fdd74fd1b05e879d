/**
 * A document's item as JSON text written by SQLite (json-sql.ts), byte for byte what
 * JSON.stringify writes of queries.ts `documentItems`' item with its `correctedBy`: its
 * entity, its first adoption known at k, the session it was considered at.
 */
import { KNOWN, type QueryContext } from '../query-context.js';
import { CORRECTED, VIEW, VIEW_AT, VIEW_NOW, plain, quoted, ulid } from '../json-sql.js';

/** The position of the first recording of the fact that wrote the row `x`: its own when no correction wrote it (corrected_by NULL), else its fact's row in `facts`. */
export const FIRST_POSITION = (x: string): string => `CASE WHEN ${x}.corrected_by IS NULL THEN ${x}.position ELSE (SELECT f.position FROM facts f WHERE f.fact_id = ${x}.fact_id) END`;

/**
 * The first adoption of the document `e.id` known at k (an older log may hold two): its rowid
 * (min's bare column: the row of the least position of its fact's first recording, no sort; a
 * row's own position is its version's, which a correction moves after the second adoption:
 * queries.ts FIRST_ADOPTION).
 */
const FIRST = `(SELECT rid FROM (SELECT x.rowid AS rid, min(${FIRST_POSITION('x')}) FROM adoptions x WHERE x.document = e.id AND ${KNOWN('x')}))`;

/** The session the document `e.id` was considered at, as known at k (queries.ts consideredAt: one consideration is known at a time). */
const CONSIDERED_AT = `(SELECT y.session FROM considerations y WHERE y.document = e.id AND ${KNOWN('y')} ORDER BY y.known_from DESC LIMIT 1)`;

/** `,"certainty":…` of the adoption `a` for a page in force during [@q0, @q1] (queries.ts documentItems: certaintyOf), else ''. */
export const CERTAINTY = `CASE WHEN a.s1 <= @q1 AND a.e0 >= @q0 THEN ',"certainty":"certain"' WHEN a.s0 <= @q1 AND a.e1 >= @q0 THEN ',"certainty":"possible"' ELSE '' END`;

/** The value of the field `f` of the document entity's `detail` as JSON text (`null`: none). */
const DETAIL = (f: string): string => `coalesce(e.detail -> '$.${f}', 'null')`;

/**
 * The item's JSON text from the document's entity `e` and its first adoption known at k `a`
 * (its columns NULL: none; `adopted: false`, none at all, as a page's considered documents),
 * as a session lists it; `certainty`: a page in force during [@q0, @q1] lists it after factId
 * (queries.ts documentItems: certaintyOf); `considered`: the session the document was
 * considered at, read only when the adoption names none; `view`: how an entity's view is
 * written (VIEW's mark by default, put in by withViews); `concat`: the parts joined by concat();
 * `body`: the adoption's body is this parameter of the statement (a body's own keyset), so its
 * view is written here, once a run (VIEW_NOW), not marked for withViews.
 */
export function documentFields(opts: { adopted?: boolean; certainty?: boolean; considered?: string; view?: (x: string, of: 'body' | 'session') => string; concat?: boolean; body?: string } = {}): string {
  const view = opts.view ?? VIEW;
  const adopted = opts.adopted ?? true;
  const a = (col: string): string => (adopted ? `a.${col}` : 'NULL');
  const status = adopted ? `CASE WHEN a.document IS NULL THEN '"considered"' ELSE '"adopted"' END` : `'"considered"'`;
  const effective = adopted ? `CASE WHEN a.document IS NULL THEN 'null' ELSE '{"from":' || ${plain('a.from_raw')} || ',"to":' || ${plain('a.to_raw')} || '}' END` : `'null'`;
  const parts = [
    `'{"id":' || ${ulid('e.id')}`,
    `',"key":' || ${quoted('e.key')}`,
    `',"title":' || ${quoted('e.name')}`,
    // The detail's own JSON text of a value (`->`), where json_quote(json_extract(…)) unquoted and quoted it
    // again: JSON.stringify wrote it (entities/evolve.ts), whose escapes are json_quote's (json-sql.ts).
    `',"kind":' || ${DETAIL('kind')}`,
    `',"status":' || ${status}`,
    `',"adoptedOn":' || ${plain(a('adopted_raw'))}`,
    `',"effective":' || ${effective}`,
    // parse(a.period) ?? detail.period ?? null: both written by JSON.stringify (rows.ts json), so their text is what stringify writes again.
    `',"period":' || coalesce(nullif(${a('period')}, 'null'), json_extract(e.detail, '$.period'), 'null')`,
    `',"summary":' || ${adopted ? `CASE WHEN a.summary IS NULL THEN ${DETAIL('summary')} ELSE ${quoted('a.summary')} END` : DETAIL('summary')}`,
    `',"body":' || ${opts.body !== undefined && adopted ? VIEW_NOW(opts.body) : view(`coalesce(${a('body')}, e.parent)`, 'body')}`,
    `',"session":' || ${view(documentSession(opts), 'session')}`,
    `',"factId":' || ${ulid('e.fact_id')}`,
    ...(opts.certainty && adopted ? [CERTAINTY] : []),
    CORRECTED('e'),
    `'}'`,
  ];
  // concat(): one allocation for the item's text, where || copies what is written so far at each
  // step. Its parts are never NULL but CORRECTED's (no facts row for the correction), which ||
  // carries to the whole item and concat() reads as ''.
  return opts.concat ? `concat(${parts.join(', ')})` : parts.join(' || ');
}

/** The id of the session the item names (documentFields' `session`), from the same options: a statement that joins its view (JOIN_VIEW) joins it on this. */
export function documentSession(opts: { adopted?: boolean; considered?: string } = {}): string {
  return `coalesce(${(opts.adopted ?? true) ? 'a.session' : 'NULL'}, ${opts.considered ?? CONSIDERED_AT})`;
}

/** The item of the document whose id is `x` (NULL when no document of that id is known at k); `view` as documentFields'. */
export function documentJson(x: string, view?: (x: string, of: 'body' | 'session') => string): string {
  return `(SELECT ${documentFields(view ? { view } : {})} FROM entities e LEFT JOIN adoptions a ON a.rowid = ${FIRST} WHERE e.id = ${x} AND e.kind = 'document' AND ${KNOWN('e')})`;
}

/** Documents by id (@ids, a JSON array) known at @k, each its item's JSON text or NULL, in the array's order (json_each's). */
const DOCUMENTS_BY_ID = `SELECT ${documentJson('j.value', (x) => VIEW_AT(x))} FROM json_each(@ids) j`;

/**
 * The documents `ids` known at k as their items' JSON texts (as a session's list has them), in
 * this order, the unknown left out: one statement for them all (`annals replay`'s read-out, a
 * unit of documents: `document(id)` ran ~5 a document).
 */
export function documentsJson(q: QueryContext, ids: readonly string[], k: string): string[] {
  return (q.pluck(DOCUMENTS_BY_ID).all({ ids: JSON.stringify(ids), k }) as (string | null)[]).filter((t): t is string => t !== null);
}
