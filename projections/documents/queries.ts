/**
 * Document queries. A document is adopted once an adoption of it is known, considered
 * otherwise. An organization's documents are those adopted or considered by it or one of
 * its bodies, in keyset pages: the ones only considered first (by id), then the adopted ones
 * by the first day of their effect, then id; with `validAt`, only adopted documents whose
 * period of effect overlaps it — open-ended ones through (body, e1 = open, s0, …), the others
 * from the day asked about minus the body's longest period (spans). A read worker's page is
 * written as JSON text by the same keyset statements (documentsPageJson).
 */
import { type Certainty } from '../../events/index.js';
import { OPEN_END as OPEN, lowerBound, upperBound } from '../../events/index.js';
import { bind, DISTINCT_BODIES, KNOWN, LIMIT, afterParams, daysBefore, mergePage, parse, viewer, type EntityRow, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { certaintyOf } from '../offices/terms.js';
import type { TermRow } from '../rows.js';
import { correctionsById, type Corrected, type CorrectedBy } from '../facts/queries.js';
import { CERTAINTY, FIRST_POSITION, documentFields, documentSession } from './json.js';
import { withBodies } from '../organizations/queries.js';
import { JOINED, JOIN_VIEW, VIEW, VIEW_NOW, withViews } from '../json-sql.js';

export interface DocumentItem {
  id: string;
  key: string | null;
  title: string | null;
  kind: string | null;
  status: 'adopted' | 'considered';
  adoptedOn: string | null;
  effective: { from: string; to: string | null } | null;
  period: { from: string; to: string } | null;
  summary: string | null;
  body: EntityView | null;
  session: EntityView | null;
  certainty?: Certainty;
  factId: string;
}

interface AdoptionRow extends TermRow {
  document: string;
  body: string;
  session: string | null;
  adopted_raw: string;
  period: string | null;
  summary: string | null;
}

/** What a document's item is made of, as known at k: its entity, its first adoption, its consideration. */
interface DocumentRows {
  docs: { fact_id: string; id: string; key: string | null; name: string | null; parent: string | null; detail: string | null }[];
  adoptions: Map<string, AdoptionRow>;
  considered: Map<string, string | null>;
}

/** Rows of one JSON text (`json_group_array(json_array(…))`): better-sqlite3 hands over ~0.5 µs a value, one text is cheaper for a page's rows. */
const rowsOf = <T>(q: QueryContext, sql: string, p: Record<string, unknown>): T[] => JSON.parse(q.get<{ v: string }>(sql, p)?.v ?? '[]') as T[];

const ADOPTION_COLUMNS = ['document', 'body', 'session', 'adopted_raw', 'from_raw', 'to_raw', 's0', 's1', 'e0', 'e1', 'period', 'summary'] as const;
type AdoptionTuple = [string, string, string | null, string, string, string | null, string, string, string, string, string | null, string | null];

/**
 * The rows of documents by id as known at k: three statements for a page, not three per
 * document, each driven by the ids (CROSS JOIN json_each) and answering one JSON text.
 */
function documentRows(q: QueryContext, ids: readonly string[], k: string): DocumentRows {
  const p = { ids: JSON.stringify([...new Set(ids)]), k };
  const docs = rowsOf<[string, string, string | null, string | null, string | null, string | null]>(
    q,
    `SELECT json_group_array(json_array(e.fact_id, e.id, e.key, e.name, e.parent, e.detail)) AS v FROM json_each(@ids) j CROSS JOIN entities e WHERE e.id = j.value AND e.kind = 'document' AND ${KNOWN('e')}`,
    p,
  ).map(([fact_id, id, key, name, parent, detail]) => ({ fact_id, id, key, name, parent, detail }));
  const adoptions = new Map<string, AdoptionRow>();
  for (const [document, body, session, adopted_raw, from_raw, to_raw, s0, s1, e0, e1, period, summary] of rowsOf<AdoptionTuple>(q, `SELECT json_group_array(json_array(${ADOPTION_COLUMNS.map((c) => `a.${c}`).join(', ')})) AS v FROM json_each(@ids) j CROSS JOIN adoptions a WHERE a.document = j.value AND ${KNOWN('a')} AND ${FIRST_ADOPTION}`, p)) {
    // A literal, not Object.fromEntries (which makes a pair array of each value).
    adoptions.set(document, { document, body, session, adopted_raw, from_raw, to_raw, s0, s1, e0, e1, period, summary });
  }
  return { docs, adoptions, considered: consideredAt(q, ids, k) };
}

/** The session each of these documents was considered at, as known at k. */
function consideredAt(q: QueryContext, ids: readonly string[], k: string): Map<string, string | null> {
  return new Map(rowsOf<[string, string | null]>(q, `SELECT json_group_array(json_array(c.document, c.session)) AS v FROM json_each(@ids) j CROSS JOIN considerations c WHERE c.document = j.value AND ${KNOWN('c')}`, { ids: JSON.stringify([...new Set(ids)]), k }));
}

/** The entities a document's item names (its body, its session): to render with the rest of an answer's in one statement. */
function namedBy(rows: DocumentRows): (string | null)[] {
  return rows.docs.flatMap((d) => {
    const a = rows.adoptions.get(d.id);
    return [a?.body ?? d.parent, a?.session ?? rows.considered.get(d.id) ?? null];
  });
}

function documentItems(rows: DocumentRows, v: (id: string | null) => EntityView | null, validAt?: string): Map<string, DocumentItem> {
  const out = new Map<string, DocumentItem>();
  const q0 = validAt ? lowerBound(validAt) : '';
  const q1 = validAt ? upperBound(validAt) : '';
  for (const doc of rows.docs) {
    const detail = parse<{ kind: string; period: { from: string; to: string } | null; summary: string | null }>(doc.detail);
    const a = rows.adoptions.get(doc.id);
    const item: DocumentItem = {
      id: doc.id,
      key: doc.key,
      title: doc.name,
      kind: detail?.kind ?? null,
      status: a ? 'adopted' : 'considered',
      adoptedOn: a?.adopted_raw ?? null,
      effective: a ? { from: a.from_raw, to: a.to_raw } : null,
      period: parse<{ from: string; to: string }>(a?.period ?? null) ?? detail?.period ?? null,
      summary: a?.summary ?? detail?.summary ?? null,
      body: v(a?.body ?? doc.parent),
      session: v(a?.session ?? rows.considered.get(doc.id) ?? null),
      factId: doc.fact_id,
    };
    if (validAt && a) {
      const cert = certaintyOf(a, q0, q1);
      if (cert) item.certainty = cert;
    }
    out.set(doc.id, item);
  }
  return out;
}

/** Documents by id as known at k, rendered together: four statements for a page, not four per document. */
export function renderDocuments(q: QueryContext, ids: readonly string[], k: string, validAt?: string): Map<string, DocumentItem> {
  if (ids.length === 0) return new Map();
  const rows = documentRows(q, ids, k);
  return documentItems(rows, q.views(namedBy(rows), k), validAt);
}

function render(q: QueryContext, docId: string, k: string): DocumentItem | null {
  return renderDocuments(q, [docId], k).get(docId) ?? null;
}

export function documentById(q: QueryContext, id: string, k: string): DocumentItem | null {
  return render(q, id, k);
}

/**
 * The first adoption of a document known at k (an older log may hold two): the one whose fact
 * was recorded first (its row in `facts`: a correction keeps its fact's place, as an
 * appointment's does; a row's own position is its version's, so a corrected first adoption
 * came after the second: session 45's review, test/projections-review-edges.test.ts). No probe
 * for one that is the first of its document in the log (db.ts `earliest`: that row's fact is
 * the first adoption of its document); the others are compared only with the rows of another
 * adoption of the same document known at k (an older log's).
 */
const FIRST_ADOPTION = `(a.earliest = 1 OR NOT EXISTS (SELECT 1 FROM adoptions x WHERE x.document = a.document AND ${KNOWN('x')} AND x.fact_id <> a.fact_id AND ${FIRST_POSITION('x')} < ${FIRST_POSITION('a')}))`;

/**
 * Documents adopted or considered at each of these sessions, by id, a page each (at most
 * `limit` after `after`), in two steps: the rows, and the pages once the entities they name
 * are rendered (`named`), so a page of sessions renders every entity it shows in one statement.
 */
export function sessionDocuments(q: QueryContext, sessions: readonly string[], k: string, page: PageRequest): { named: (string | null)[]; pages: (v: (id: string | null) => EntityView | null) => Map<string, Page<DocumentItem>> } {
  const pairs = sessionDocumentPairs(q, sessions, k, page);
  const rows: DocumentRows = pairs.length ? documentRows(q, pairs.map((r) => r.document), k) : { docs: [], adoptions: new Map(), considered: new Map() };
  return {
    named: namedBy(rows),
    pages: (v) => {
      const docs = documentItems(rows, v);
      const bySession = new Map<string, DocumentItem[]>();
      for (const r of pairs) {
        const d = docs.get(r.document);
        if (!d) continue;
        const list = bySession.get(r.session);
        if (list) list.push(d);
        else bySession.set(r.session, [d]);
      }
      return new Map(sessions.map((s) => [s, mergePage([bySession.get(s) ?? []], (d) => [d.id], page.limit)]));
    },
  };
}

/**
 * The (session, document) pairs of these sessions after `after` whose document is known at k
 * (an older log may hold an adoption still known whose document is not: the fact that made it
 * retracted; counting it would cut a session's page short), at most `limit + 1` a session, in
 * (session, document) order. First every pair of them (as one JSON text), up to
 * a cap that `limit + 1` of each session fits in: a session has few documents, and reading
 * them whole cost ~60% of numbering them with a window over the union (which sorts it: 390
 * against 650 µs a page of 10 sessions on the 1,000,000-fact record, a loaded machine,
 * alternating runs). Only when the cap is reached, a session may have more: numbered then.
 */
function sessionDocumentPairs(q: QueryContext, sessions: readonly string[], k: string, page: PageRequest): { session: string; document: string }[] {
  const n = page.limit + 1;
  const p = bind({ s: JSON.stringify(sessions), k, n, cap: sessions.length * n }, afterParams(page.after, 1));
  const whole = JSON.parse(
    q.get<{ v: string }>(
      `SELECT json_group_array(json_array(session, document)) AS v FROM (
          SELECT a.session, a.document FROM json_each(@s) j CROSS JOIN adoptions a WHERE a.session = j.value AND ${KNOWN('a')} AND a.document > @a0 AND ${DOC_KNOWN('a.document')}
          UNION SELECT c.session, c.document FROM json_each(@s) j CROSS JOIN considerations c WHERE c.session = j.value AND ${KNOWN('c')} AND c.document > @a0 AND ${DOC_KNOWN('c.document')} ${LIMIT('cap')})`,
      p,
    )?.v ?? '[]',
  ) as [string, string][];
  if (whole.length >= (p['cap'] as number)) {
    return q.all<{ session: string; document: string }>(
      `SELECT session, document FROM (SELECT session, document, row_number() OVER (PARTITION BY session ORDER BY document) AS rn FROM (
          SELECT session, document FROM adoptions WHERE session IN (SELECT value FROM json_each(@s)) AND ${KNOWN()} AND document > @a0 AND ${DOC_KNOWN('document')}
          UNION SELECT session, document FROM considerations WHERE session IN (SELECT value FROM json_each(@s)) AND ${KNOWN()} AND document > @a0 AND ${DOC_KNOWN('document')}))
        WHERE rn <= @n ORDER BY session, document`,
      p,
    );
  }
  whole.sort(([s1, d1], [s2, d2]) => (s1 < s2 ? -1 : s1 > s2 ? 1 : d1 < d2 ? -1 : d1 > d2 ? 1 : 0));
  const out: { session: string; document: string }[] = [];
  let run = 0;
  for (let i = 0; i < whole.length; i++) {
    const [session, document] = whole[i] as [string, string];
    run = i > 0 && (whole[i - 1] as [string, string])[0] === session ? run + 1 : 1;
    if (run <= n) out.push({ session, document });
  }
  return out;
}

/** Documents adopted or considered at a session, by id, a page at a time. */
export function documentsAtSessionPage(q: QueryContext, session: string, k: string, page: PageRequest): Page<DocumentItem> {
  const d = sessionDocuments(q, [session], k, page);
  return d.pages(q.views(d.named, k)).get(session) as Page<DocumentItem>;
}

export const documentKey = (d: DocumentItem): Key => [d.effective ? lowerBound(d.effective.from) : '', d.id];

/**
 * What a page's keyset statements answer of each document, as one JSON text: its key (s0,
 * document), its entity's columns and (adopted ones) its first adoption's, so a page is its
 * keyset statements, the considerations of its documents and the entities it names, not the
 * documents' rows sought again by id (the entity and the first adoption, each probed twice).
 */
const PAGE_COLUMNS = (adoption: 'a' | null): string =>
  [adoption ? `${adoption}.document` : 'c.document', adoption ? `${adoption}.s0` : "''", 'e.fact_id', 'e.key', 'e.name', 'e.parent', 'e.detail', ...(['body', 'session', 'adopted_raw', 'from_raw', 'to_raw', 's1', 'e0', 'e1', 'period', 'summary'] as const).map((col) => (adoption ? `${adoption}.${col}` : 'NULL')), 'e.corrected_by'].map((col, i) => `${col} AS c${i}`).join(', ');
type PageTuple = [string, string, string, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null];
/** The document `col` names is known at k (an entity row of it; the statement's alias `e` is not used). */
const DOC_KNOWN = (col: string): string => `EXISTS (SELECT 1 FROM entities de WHERE de.id = ${col} AND de.kind = 'document' AND ${KNOWN('de')})`;
/** The document's entity known at k, joined as `e` (as DOC_KNOWN tests it: one version of an id is known at a time). */
const DOC_ENTITY = (col: string): string => `CROSS JOIN entities e ON e.id = ${col} AND e.kind = 'document' AND ${KNOWN('e')}`;
const packed = (sql: string): string => `SELECT json_group_array(json_array(${Array.from({ length: 18 }, (_, i) => `c${i}`).join(', ')})) AS v FROM (${sql})`;
const byKey = (x: readonly string[] | PageTuple, y: readonly string[] | PageTuple): number => (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);

/**
 * A page's statement's select list: the document's key and what the page shows of it, from the
 * entity `e` and (adopted: `a`, else the consideration `c`) the first adoption; `bound`: the
 * adoption's body is the statement's `@b` (a body's own keyset), not any body.
 */
type Select = ((adoption: 'a' | null, bound?: boolean) => string) & {
  /** Joined after the row's document entity (DOC_ENTITY) where the statement reads a row of the page: the session's view (documentsPageJson). */
  join?: (adoption: 'a' | null) => string;
  /**
   * A body's own keyset (`bound`) reads the adoption alone: its select list seeks the entities
   * only for a row whose stored item does not hold at k (STORED_ITEM), and the statement keeps
   * a row when its stored item holds or its document's entity is known at k (STORED_KEPT), where
   * the others join the entity (DOC_ENTITY) and `join`.
   */
  stored?: boolean;
};

/**
 * A page's statement text, made once for its select list and shape: the same string object at
 * each page, so the statement cache finds it by the hash V8 keeps on the string, instead of a
 * ~2.4 KB text written again and hashed at every page.
 */
const texts = new WeakMap<Select, Map<string, string>>();
function textOf(select: Select, shape: string, make: () => string): string {
  let bySelect = texts.get(select);
  if (!bySelect) texts.set(select, (bySelect = new Map()));
  let text = bySelect.get(shape);
  if (text === undefined) bySelect.set(shape, (text = make()));
  return text;
}

/**
 * An adopting body's few adoptions known at k: when k is within the first EARLY of the time
 * its adoptions were known (`early`, from its first and last known_from), are fewer than FEW
 * of them known? Then a page reads those (INDEXED BY the (body, known_from, …) index, index 4
 * of adoptions in evolve.ts) and sorts them: its keyset order would read ~limit / (share of the
 * adoptions known) keys for them (all of its range when fewer than a page are known: ~1–2.5 ms
 * on the 1,000,000-fact record). FEW balances the two: a row found by known_from costs its
 * document's entity sought and a place in the sort (~1 µs), a key passed by the keyset order
 * ~0.1–0.25 µs (sqlite3 on the record's one body: 362 known, 0.38 against 1.8 ms; 564, 0.76
 * against 1.25; 2,810, 2.8 against 0.54).
 */
const EARLY = 0.05;
const FEW = 768;
const fewKnown = (q: QueryContext, b: string, k: string): boolean =>
  (q.get<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM adoptions WHERE body = @b AND known_from <= @k LIMIT ${FEW})`, { b, k })?.n ?? 0) < FEW;

/**
 * The bodies of the organization `org` (itself, and its bodies at any depth as known at k:
 * organizations/queries.ts withBodies) that adopted or considered a document, found from the
 * other end in one statement: the distinct bodies of adoptions and of considerations (one
 * search of their (body, …) index each), each kept when its parent chain known at k reaches
 * `org`, with an adopting body's span (null: none of its adoptions ever had an end). A body
 * none of whose adoptions was known yet at k is left out (its first known_from, one seek in
 * (body, known_from)): its keyset statements would read the whole of its range of keys to find
 * none (~2.2–2.8 ms a page on the 1,000,000-fact record, ~1.7% of bench:read's questions, its
 * p99: SQLite tests a WHERE term holding a subquery at each row, not once before the loop). Not
 * every organization's parent read, as withBodies does (~100 on the benchmark record: ~50–65
 * µs with the two statements that then asked which of them adopt or consider).
 */
function documentBodies(q: QueryContext, org: string, k: string): { adopting: { b: string; span: number | null; early: boolean }[]; considering: string[] } {
  const found = JSON.parse(
    q.get<{ v: string }>(
      `WITH RECURSIVE ${DISTINCT_BODIES('adoptions', 'ab')}, ${DISTINCT_BODIES('considerations', 'cb')},
        up(b, kind, id) AS (SELECT b, 'a', b FROM ab WHERE b IS NOT NULL UNION ALL SELECT b, 'c', b FROM cb WHERE b IS NOT NULL
          UNION SELECT up.b, up.kind, e.parent FROM up CROSS JOIN entities e WHERE e.id = up.id AND up.id <> @org AND e.kind = 'organization' AND e.parent IS NOT NULL AND ${KNOWN('e')})
      SELECT json_group_array(json_array(b, kind, CASE kind WHEN 'a' THEN (SELECT days FROM spans WHERE tbl = 'adoptions' AND grp = b) END,
          CASE kind WHEN 'a' THEN julianday(@k) - julianday(first) < ${EARLY} * (julianday((SELECT max(known_from) FROM adoptions WHERE body = b)) - julianday(first)) END)) AS v
        FROM (SELECT b, kind, CASE kind WHEN 'a' THEN (SELECT min(known_from) FROM adoptions WHERE body = b) END AS first FROM up WHERE id = @org) WHERE kind = 'c' OR first <= @k`,
      { org, k },
    )?.v ?? '[]',
  ) as [string, 'a' | 'c', number | null, number | null][];
  return { adopting: found.filter(([, kind]) => kind === 'a').map(([b, , span, early]) => ({ b, span, early: early === 1 })), considering: found.filter(([, kind]) => kind === 'c').map(([b]) => b) };
}

/**
 * The keyset statements of a page of documents of the organization `org`'s bodies (in force
 * during `validAt` when given), each selecting `select`'s columns and answering its rows by
 * `fetch` (each source in key order): one per body and kind of row, merged in JS (mergePage).
 */
function pageSources<R>(q: QueryContext, org: string, k: string, validAt: string | undefined, page: PageRequest, select: Select, fetch: (sql: string, params: Record<string, unknown>) => R[]): R[][] {
  const n = page.limit + 1;
  const from = afterParams(page.after, 2);
  const base = bind({ k, n }, from);
  const sources: R[][] = [];
  const source = (sql: string, params: Record<string, unknown>): void => void sources.push(fetch(sql, params));
  const { adopting, considering } = documentBodies(q, org, k);
  const joined = (adoption: 'a' | null): string => (select.join ? ` ${select.join(adoption)}` : '');
  // A statement of adoptions `a` (with the entity `e`) filtered, ordered and limited by `rest`;
  // few known: the keys of the page's rows first, from the (body, known_from, …) index alone,
  // so that only those are rendered (their order is the fetch's: byKey).
  const adopted = (few: boolean, shape: string, rest: () => string): string =>
    textOf(select, `${shape}${few ? ' few' : ''}`, () =>
      few
        ? `SELECT ${select('a', true)} FROM (SELECT a.rowid AS r FROM adoptions a INDEXED BY adoptions_i4 ${DOC_ENTITY('a.document')} ${rest()}) p CROSS JOIN adoptions a ON a.rowid = p.r ${select.stored ? '' : `${DOC_ENTITY('a.document')}${joined('a')}`}`
        : select.stored
          ? `SELECT ${select('a', true)} FROM adoptions a ${rest().replace(/^WHERE /, `WHERE ${STORED_KEPT} AND `)}`
          : `SELECT ${select('a', true)} FROM adoptions a ${DOC_ENTITY('a.document')}${joined('a')} ${rest()}`,
    );
  let inForce = '';
  let window: Record<string, string> = {};
  if (validAt) {
    const q0 = lowerBound(validAt);
    window = { q0, q1: upperBound(validAt) };
    inForce = 'AND a.s0 <= @q1 AND a.e1 >= @q0';
    for (const { b, span, early } of adopting) {
      const few = early && fewKnown(q, b, k);
      // Open-ended: every one begun by the end of the days asked about is in force.
      source(adopted(few, 'open', () => `WHERE a.body = @b AND a.e1 = '${OPEN}' AND ${KNOWN('a')} AND a.s0 <= @q1 AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} ORDER BY a.s0, a.document ${LIMIT('n')}`), bind(base, window, { b }));
      // Ended: only those begun within the longest period before the days asked about can reach
      // them; none when the body has no span (no adoption of it ever had an end: db.ts spans).
      if (span === null) continue;
      const lo = daysBefore(q0, span);
      const after = (from['a0'] as string) < lo ? { a0: lo, a1: '' } : {};
      source(adopted(few, 'ended', () => `WHERE a.body = @b AND a.e1 <> '${OPEN}' AND ${KNOWN('a')} ${inForce} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} ORDER BY a.s0, a.document ${LIMIT('n')}`), bind(base, window, after, { b }));
    }
  } else {
    for (const b of considering) {
      source(
        textOf(select, 'considered', () => `SELECT ${select(null)} FROM considerations c ${DOC_ENTITY('c.document')}${joined(null)} WHERE c.body = @b AND ${KNOWN('c')} AND ('', c.document) > (@a0, @a1)
           AND NOT EXISTS (SELECT 1 FROM adoptions a WHERE a.document = c.document AND ${KNOWN('a')}) ORDER BY c.document ${LIMIT('n')}`),
        bind(base, { b }),
      );
    }
    for (const { b, early } of adopting) source(adopted(early && fewKnown(q, b, k), 'all', () => `WHERE a.body = @b AND ${KNOWN('a')} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} ORDER BY a.s0, a.document ${LIMIT('n')}`), bind(base, { b }));
  }
  // Considered here, adopted by a body of another organization: listed here too, as adopted.
  if (considering.length) base['bodies'] = JSON.stringify(withBodies(q, org, k));
  for (const b of considering) {
    source(
      textOf(select, `elsewhere${validAt ? ' in force' : ''}`, () => `SELECT ${select('a', false)} FROM considerations c JOIN adoptions a ON a.document = c.document AND ${KNOWN('a')} ${DOC_ENTITY('a.document')}${joined('a')}
        WHERE c.body = @b AND ${KNOWN('c')} AND a.body NOT IN (SELECT value FROM json_each(@bodies)) ${inForce} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION}
        ORDER BY a.s0, a.document ${LIMIT('n')}`),
      bind(base, window, { b }),
    );
  }
  return sources;
}

/**
 * Documents of the organization `org` and its bodies (adopted or considered), in force during
 * `validAt` when given, a page at a time; each item whose document's entity was corrected with its `correctedBy` (the
 * correction that wrote the entity's version known at k: db.ts `corrected_by`).
 */
export function documentsPage(q: QueryContext, org: string, k: string, validAt: string | undefined, page: PageRequest): Page<DocumentItem & Corrected> {
  const sources = pageSources(q, org, k, validAt, page, PAGE_COLUMNS, (sql, params) => rowsOf<PageTuple>(q, packed(sql), params).sort(byKey));
  const keys = mergePage(sources, (r) => [r[1], r[0]], page.limit);
  const rows: DocumentRows = { docs: [], adoptions: new Map(), considered: new Map() };
  const corrected = new Map<string, string>();
  for (const [id, s0, fact_id, key, name, parent, detail, body, session, adopted_raw, from_raw, to_raw, s1, e0, e1, period, summary, correctedBy] of keys.items) {
    rows.docs.push({ fact_id: fact_id as string, id, key, name, parent, detail });
    if (correctedBy !== null) corrected.set(id, correctedBy);
    if (body !== null) rows.adoptions.set(id, { document: id, body, session, adopted_raw: adopted_raw as string, from_raw: from_raw as string, to_raw, s0, s1: s1 as string, e0: e0 as string, e1: e1 as string, period, summary });
  }
  if (rows.docs.length) rows.considered = consideredAt(q, rows.docs.map((d) => d.id), k);
  const docs = documentItems(rows, q.views(namedBy(rows), k), validAt);
  // After every other field, as markCorrected puts it.
  const by = correctionsById(q, [...corrected.values()]);
  for (const [id, c] of corrected) (docs.get(id) as DocumentItem & Corrected).correctedBy = by.get(c) as CorrectedBy;
  return { items: keys.items.map((r) => docs.get(r[0]) as DocumentItem), next: keys.next };
}

/**
 * The session's view written in place from its entity joined where the row is read (`sv`,
 * JOIN_VIEW: one seek a row the statement keeps), not marked for withViews: its statement (~75
 * µs a page of 50 on the 1,000,000-fact record) and the marks replaced in JS go; the keyset
 * statement costs about what it did (its mark evaluated the session's id twice too).
 */
const SESSION_VIEW = (x: string, of: 'body' | 'session'): string => (of === 'session' ? JOINED(x, 'sv') : VIEW(x));
const CONSIDERED = { adopted: false, considered: 'c.session' } as const;

/**
 * The item of the adoption `a` in its body's own keyset (the body the parameter @b): its stored
 * text when it holds at k (documents/stored.ts), with the body's view (once a statement) and
 * the certainty put in; else written from the document's entity known at k and the session's,
 * each sought for this row alone (the statement keeps the row only when that entity is known
 * at k: STORED_KEPT).
 */
const STORED_ITEM = (certainty: boolean): string =>
  `CASE WHEN a.item_to > @k THEN concat(a.item_head, ',"body":', ${VIEW_NOW('@b')}, a.item_tail, ${certainty ? CERTAINTY : "''"}, '}')
    ELSE (SELECT ${documentFields({ certainty, view: SESSION_VIEW, concat: true, body: '@b' })} FROM entities e ${JOIN_VIEW('sv', documentSession())} WHERE e.id = a.document AND e.kind = 'document' AND ${KNOWN('e')}) END`;
/** A row of a body's own keyset is kept when its stored item holds at k (its document's entity is then known at k) or its document's entity is known at k, as DOC_ENTITY's join keeps it. */
const STORED_KEPT = `(a.item_to > @k OR EXISTS (SELECT 1 FROM entities e WHERE e.id = a.document AND e.kind = 'document' AND ${KNOWN('e')}))`;

/** documentsPageJson's select lists, with and without `validAt` (the certainty): one each, so that textOf makes each statement's text once. */
const jsonSelect = (certainty: boolean): Select =>
  Object.assign(
    (adoption: 'a' | null, bound?: boolean): string =>
      adoption ? `a.document AS d, a.s0 AS s, ${bound ? STORED_ITEM(certainty) : documentFields({ certainty, view: SESSION_VIEW, concat: true })} AS j` : `c.document AS d, '' AS s, ${documentFields({ ...CONSIDERED, view: SESSION_VIEW, concat: true })} AS j`,
    { join: (adoption: 'a' | null): string => JOIN_VIEW('sv', documentSession(adoption ? {} : CONSIDERED)), stored: true },
  );
const JSON_SELECT = { all: jsonSelect(false), inForce: jsonSelect(true) };
/** Each statement's text as documentsPageJson runs it (one text of its rows), by the keyset's text. */
const joined = new Map<string, string>();
/** Each statement's text as a page of one statement runs it (its items' text and its keys), by the keyset's text. */
const whole = new Map<string, string>();

/**
 * A page of one keyset statement (an organization of one body that adopts documents, asked
 * about `validAt`: bench:read's documents@past): its items joined as SQLite writes them,
 * and the keys of its rows, where every statement of several is merged in JS (each row's
 * document, key and item apart, sorted, merged, joined again: ~25–35 µs a page of 50 on the
 * 1,000,000-fact record). Null when its rows did not come in key order (they do: the
 * statement's ORDER BY; the merge is then asked instead). A row missing a part is left out, as
 * the merge's text (`d || … || j`) leaves it out.
 */
function singlePage(q: QueryContext, sql: string, params: Record<string, unknown>, k: string, limit: number): Page<string> | null {
  let text = whole.get(sql);
  if (text === undefined) whole.set(sql, (text = `SELECT group_concat(j, char(30)) AS v, group_concat(s || char(31) || d, char(30)) AS k FROM (${sql}) WHERE d IS NOT NULL AND s IS NOT NULL AND j IS NOT NULL`));
  const row = q.get<{ v: string | null; k: string | null }>(text, params);
  if (!row?.v || !row.k) return { items: [], next: null };
  const keys = row.k.split('\u001e');
  for (let i = 1; i < keys.length; i++) if ((keys[i - 1] as string) >= (keys[i] as string)) return null;
  // limit + 1 rows: the last tells that more follow, and goes.
  const more = keys.length > limit;
  // Items joined by U+001E, which no JSON text holds raw (JSON.stringify and json_quote escape
  // it): the last item's start is exact whatever an item holds; then joined by ',' as a page is.
  const items = (more ? row.v.slice(0, row.v.lastIndexOf('\u001e')) : row.v).replaceAll('\u001e', ',');
  const last = more ? (keys[limit - 1] as string).split('\u001f') : null;
  return { items: withViews(q, [items], k), next: last ? [last[0] as string, last[1] as string] : null };
}

/**
 * `documentsPage` as its items' JSON texts (what JSON.stringify writes of each item), written
 * by its keyset statements (documents/json.ts documentFields): the session's view joined where
 * the row is read (SESSION_VIEW), the body's once a run (VIEW_NOW) in a body's own keyset, and
 * the body's views of the other statements (documents considered, or adopted elsewhere) put in
 * afterwards in one statement (json-sql.ts withViews, which has nothing to do on the others):
 * no objects, no statement for the considerations of its documents. Each statement answers one text, its rows joined by
 * U+001E and their parts (document, s0, item) by U+001F: no JSON text holds either raw. A page
 * of one statement is its text as SQLite joins it (singlePage): its items then come as one run
 * of them joined by ',' (queries.ts itemsJson).
 */
export function documentsPageJson(q: QueryContext, org: string, k: string, validAt: string | undefined, page: PageRequest): Page<string> {
  const asked = pageSources(q, org, k, validAt, page, validAt === undefined ? JSON_SELECT.all : JSON_SELECT.inForce, (sql, params) => [{ sql, params }]);
  if (asked.length === 1 && page.limit >= 1) {
    const { sql, params } = (asked[0] as { sql: string; params: Record<string, unknown> }[])[0] as { sql: string; params: Record<string, unknown> };
    const one = singlePage(q, sql, params, k, page.limit);
    if (one) return one;
  }
  const sources = asked.map((source) =>
    source.flatMap(({ sql, params }) => {
      let text = joined.get(sql);
      if (text === undefined) joined.set(sql, (text = `SELECT group_concat(d || char(31) || s || char(31) || j, char(30)) AS v FROM (${sql})`));
      const v = q.get<{ v: string | null }>(text, params)?.v;
      return v ? v.split('\u001e').map((r) => r.split('\u001f') as [string, string, string]).sort(byKey) : [];
    }),
  );
  const keys = mergePage(sources, (r) => [r[1], r[0]], page.limit);
  return { items: withViews(q, keys.items.map((r) => r[2]), k), next: keys.next };
}
