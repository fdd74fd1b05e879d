/**
 * Document queries. A document is adopted once an adoption of it is known, considered
 * otherwise. An organization's documents are those adopted or considered by it or one of
 * its bodies, in keyset pages: the ones only considered first (by id), then the adopted ones
 * by the first day of their effect, then id; with `validAt`, only adopted documents whose
 * period of effect overlaps it — open-ended ones through (body, e1 = open, s0, …), the others
 * from the day asked about minus the body's longest period (spans).
 */
import { type Certainty } from '../../events/index.js';
import { lowerBound, upperBound } from '../../events/index.js';
import { OPEN } from '../db.js';
import { bind, KNOWN, afterParams, daysBefore, mergePage, parse, viewer, type EntityRow, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { certaintyOf } from '../offices/terms.js';
import type { TermRow } from '../rows.js';

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
  fact_id: string;
  document: string;
  body: string;
  session: string | null;
  adopted_raw: string;
  period: string | null;
  summary: string | null;
}

/**
 * Documents by id as known at k, rendered together: four statements for a page, not four
 * per document (the document, its first adoption, its consideration, the entities named).
 */
export function renderDocuments(q: QueryContext, ids: readonly string[], k: string, validAt?: string): Map<string, DocumentItem> {
  const out = new Map<string, DocumentItem>();
  if (ids.length === 0) return out;
  const p = { ids: JSON.stringify([...new Set(ids)]), k };
  const docs = q.all<EntityRow>(`SELECT * FROM entities WHERE id IN (SELECT value FROM json_each(@ids)) AND kind = 'document' AND ${KNOWN()}`, p);
  const adoptions = new Map(
    q
      .all<AdoptionRow & { rn: number }>(`SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY document ORDER BY position) AS rn FROM adoptions WHERE document IN (SELECT value FROM json_each(@ids)) AND ${KNOWN()}) WHERE rn = 1`, p)
      .map((a) => [a.document, a]),
  );
  const considered = new Map(q.all<{ document: string; session: string }>(`SELECT document, session FROM considerations WHERE document IN (SELECT value FROM json_each(@ids)) AND ${KNOWN()}`, p).map((c) => [c.document, c]));
  const v = q.views(docs.flatMap((d) => [adoptions.get(d.id)?.body ?? d.parent, adoptions.get(d.id)?.session ?? considered.get(d.id)?.session ?? null]), k);
  const q0 = validAt ? lowerBound(validAt) : '';
  const q1 = validAt ? upperBound(validAt) : '';
  for (const doc of docs) {
    const detail = parse<{ kind: string; period: { from: string; to: string } | null; summary: string | null }>(doc.detail);
    const a = adoptions.get(doc.id);
    const c = considered.get(doc.id);
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
      session: v(a?.session ?? c?.session ?? null),
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

function render(q: QueryContext, docId: string, k: string): DocumentItem | null {
  return renderDocuments(q, [docId], k).get(docId) ?? null;
}

export function documentById(q: QueryContext, id: string, k: string): DocumentItem | null {
  return render(q, id, k);
}

const DOC_KNOWN = (col: string): string => `EXISTS (SELECT 1 FROM entities e WHERE e.id = ${col} AND e.kind = 'document' AND ${KNOWN('e')})`;
/** The first adoption of a document known at k (an older log may hold two). */
const FIRST_ADOPTION = `NOT EXISTS (SELECT 1 FROM adoptions x WHERE x.document = a.document AND ${KNOWN('x')} AND x.position < a.position)`;

/** Documents adopted or considered at each of these sessions, by id, a page each (at most `limit` after `after`). */
export function documentsAtSessions(q: QueryContext, sessions: readonly string[], k: string, page: PageRequest): Map<string, Page<DocumentItem>> {
  const rows = q.all<{ session: string; document: string }>(
    `SELECT session, document FROM (SELECT session, document, row_number() OVER (PARTITION BY session ORDER BY document) AS rn FROM (
        SELECT session, document FROM adoptions WHERE session IN (SELECT value FROM json_each(@s)) AND ${KNOWN()} AND document > @a0
        UNION SELECT session, document FROM considerations WHERE session IN (SELECT value FROM json_each(@s)) AND ${KNOWN()} AND document > @a0))
      WHERE rn <= @n ORDER BY session, document`,
    bind({ s: JSON.stringify(sessions), k, n: page.limit + 1 }, afterParams(page.after, 1)),
  );
  const docs = renderDocuments(q, rows.map((r) => r.document), k);
  const bySession = new Map<string, DocumentItem[]>();
  for (const r of rows) {
    const d = docs.get(r.document);
    if (!d) continue;
    const list = bySession.get(r.session);
    if (list) list.push(d);
    else bySession.set(r.session, [d]);
  }
  return new Map(sessions.map((s) => [s, mergePage([bySession.get(s) ?? []], (d) => [d.id], page.limit)]));
}

/** Documents adopted or considered at a session, by id, a page at a time. */
export function documentsAtSessionPage(q: QueryContext, session: string, k: string, page: PageRequest): Page<DocumentItem> {
  return documentsAtSessions(q, [session], k, page).get(session) as Page<DocumentItem>;
}

export const documentKey = (d: DocumentItem): Key => [d.effective ? lowerBound(d.effective.from) : '', d.id];

/** Documents of these bodies (adopted or considered), in force during `validAt` when given, a page at a time. */
export function documentsPage(q: QueryContext, bodies: readonly string[], k: string, validAt: string | undefined, page: PageRequest): Page<DocumentItem> {
  const n = page.limit + 1;
  const from = afterParams(page.after, 2);
  const base = bind({ k, n, bodies: JSON.stringify(bodies) }, from);
  const sources: { id: string; s0: string }[][] = [];
  const adopting = q.all<{ b: string }>(`SELECT value AS b FROM json_each(@bodies) WHERE EXISTS (SELECT 1 FROM adoptions WHERE body = value)`, base).map((r) => r.b);
  const considering = q.all<{ b: string }>(`SELECT value AS b FROM json_each(@bodies) WHERE EXISTS (SELECT 1 FROM considerations WHERE body = value)`, base).map((r) => r.b);
  let inForce = '';
  let window: Record<string, string> = {};
  if (validAt) {
    const q0 = lowerBound(validAt);
    window = { q0, q1: upperBound(validAt) };
    inForce = 'AND a.s0 <= @q1 AND a.e1 >= @q0';
    for (const b of adopting) {
      // Open-ended: every one begun by the end of the days asked about is in force.
      sources.push(q.all(`SELECT a.document AS id, a.s0 FROM adoptions a WHERE a.body = @b AND a.e1 = '${OPEN}' AND ${KNOWN('a')} AND a.s0 <= @q1 AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} AND ${DOC_KNOWN('a.document')} ORDER BY a.s0, a.document LIMIT @n`, bind(base, window, { b })));
      // Ended: only those begun within the longest period before the days asked about can reach them.
      const lo = daysBefore(q0, q.span('adoptions', [b]));
      const after = (from['a0'] as string) < lo ? { a0: lo, a1: '' } : {};
      sources.push(q.all(`SELECT a.document AS id, a.s0 FROM adoptions a WHERE a.body = @b AND a.e1 <> '${OPEN}' AND ${KNOWN('a')} ${inForce} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} AND ${DOC_KNOWN('a.document')} ORDER BY a.s0, a.document LIMIT @n`, bind(base, window, after, { b })));
    }
  } else {
    for (const b of considering) {
      sources.push(
        q.all(
          `SELECT c.document AS id, '' AS s0 FROM considerations c WHERE c.body = @b AND ${KNOWN('c')} AND ('', c.document) > (@a0, @a1)
             AND NOT EXISTS (SELECT 1 FROM adoptions a WHERE a.document = c.document AND ${KNOWN('a')}) AND ${DOC_KNOWN('c.document')} ORDER BY c.document LIMIT @n`,
          bind(base, { b }),
        ),
      );
    }
    for (const b of adopting) {
      sources.push(q.all(`SELECT a.document AS id, a.s0 FROM adoptions a WHERE a.body = @b AND ${KNOWN('a')} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} AND ${DOC_KNOWN('a.document')} ORDER BY a.s0, a.document LIMIT @n`, bind(base, { b })));
    }
  }
  // Considered here, adopted by a body of another organization: listed here too, as adopted.
  for (const b of considering) {
    sources.push(
      q.all(
        `SELECT a.document AS id, a.s0 FROM considerations c JOIN adoptions a ON a.document = c.document AND ${KNOWN('a')}
          WHERE c.body = @b AND ${KNOWN('c')} AND a.body NOT IN (SELECT value FROM json_each(@bodies)) ${inForce} AND (a.s0, a.document) > (@a0, @a1) AND ${FIRST_ADOPTION} AND ${DOC_KNOWN('a.document')}
          ORDER BY a.s0, a.document LIMIT @n`,
        bind(base, window, { b }),
      ),
    );
  }
  const keys = mergePage(sources, (r) => [r.s0, r.id], page.limit);
  const docs = renderDocuments(q, keys.items.map((r) => r.id), k, validAt);
  return { items: keys.items.map((r) => docs.get(r.id) as DocumentItem), next: keys.next };
}
