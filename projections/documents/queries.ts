/**
 * Document queries. A document is adopted once an adoption of it is known, considered
 * otherwise. With `validAt`, only adopted documents whose period of effect overlaps it.
 */
import { overlap, type Certainty } from '../../events/index.js';
import { KNOWN, parse, viewer, type EntityRow, type EntityView, type QueryContext } from '../query-context.js';
import { cmp } from '../offices/succession.js';

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

interface AdoptionRow {
  fact_id: string;
  document: string;
  body: string;
  session: string | null;
  adopted_raw: string;
  from_raw: string;
  to_raw: string | null;
  period: string | null;
  summary: string | null;
}

function render(q: QueryContext, docId: string, k: string): DocumentItem | null {
  const doc = q.get<EntityRow>(`SELECT * FROM entities WHERE id = @id AND kind = 'document' AND ${KNOWN()}`, { id: docId, k });
  if (!doc) return null;
  const detail = parse<{ kind: string; period: { from: string; to: string } | null; summary: string | null }>(doc.detail);
  const a = q.get<AdoptionRow>(`SELECT * FROM adoptions WHERE document = @id AND ${KNOWN()} ORDER BY position LIMIT 1`, { id: docId, k });
  const c = q.get<{ session: string }>(`SELECT session FROM considerations WHERE document = @id AND ${KNOWN()} LIMIT 1`, { id: docId, k });
  const v = viewer(q, k);
  return {
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
}

export function documentById(q: QueryContext, id: string, k: string): DocumentItem | null {
  return render(q, id, k);
}

export function documentsAtSession(q: QueryContext, session: string, k: string): DocumentItem[] {
  const ids = q.all<{ document: string }>(
    `SELECT document FROM adoptions WHERE session = @s AND ${KNOWN()} UNION SELECT document FROM considerations WHERE session = @s AND ${KNOWN()}`,
    { s: session, k },
  );
  return ids.map((r) => render(q, r.document, k)).filter((d): d is DocumentItem => d !== null).sort((a, b) => cmp(a.id, b.id));
}

/** Documents adopted or considered by these bodies; with `validAt`, adopted ones in force then. */
export function documentsOf(q: QueryContext, bodies: readonly string[], k: string, validAt?: string): DocumentItem[] {
  const b = JSON.stringify(bodies);
  const ids = q.all<{ document: string }>(
    `SELECT document FROM adoptions WHERE body IN (SELECT value FROM json_each(@b)) AND ${KNOWN()} UNION SELECT document FROM considerations WHERE body IN (SELECT value FROM json_each(@b)) AND ${KNOWN()}`,
    { b, k },
  );
  const out: DocumentItem[] = [];
  for (const { document } of ids) {
    const d = render(q, document, k);
    if (!d) continue;
    if (validAt) {
      if (!d.effective) continue;
      const c = overlap(d.effective, validAt);
      if (!c) continue;
      d.certainty = c;
    }
    out.push(d);
  }
  return out.sort((a, b) => cmp(a.adoptedOn ?? '', b.adoptedOn ?? '') || cmp(a.id, b.id));
}
