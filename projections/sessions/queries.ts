/** Session queries: sessions of an organization's bodies, with everything that happened there. */
import { overlap } from '../../events/index.js';
import { KNOWN, parse, viewer, type EntityView, type QueryContext } from '../query-context.js';
import { cmp } from '../offices/succession.js';
import { documentsAtSession, type DocumentItem } from '../documents/queries.js';

interface SessionRow {
  fact_id: string;
  id: string;
  key: string | null;
  body: string;
  title: string | null;
  number: string | null;
  from_raw: string;
  to_raw: string | null;
  s0: string;
  city: string | null;
  country: string | null;
  chair_person: string | null;
  chair_office: string | null;
  agenda: string | null;
}

interface ItemRow {
  fact_id: string;
  item: 'attendee' | 'report' | 'talks';
  person: string | null;
  office: string | null;
  representing: string | null;
  subject: string | null;
  on_raw: string | null;
  participants: string | null;
  topics: string | null;
  summary: string | null;
}

export interface SessionView {
  id: string;
  key: string | null;
  title: string | null;
  number: string | null;
  body: EntityView | null;
  held: { from: string; to: string | null };
  place: { city: string; country: EntityView | null } | null;
  chairedBy: { person: EntityView | null; office: EntityView | null } | null;
  agenda: string[];
  attendees: { person: EntityView | null; representing: EntityView | null; office: EntityView | null; factId: string }[];
  reports: { person: EntityView | null; office: EntityView | null; subject: string | null; factId: string }[];
  documents: DocumentItem[];
  talks: { participants: { person: EntityView | null; organization: EntityView | null }[]; topics: string[]; on: string | null; summary: string | null; factId: string }[];
  factId: string;
}

function renderSession(q: QueryContext, s: SessionRow, k: string): SessionView {
  const v = viewer(q, k);
  const items = q.all<ItemRow>(`SELECT * FROM session_items WHERE session = @id AND ${KNOWN()} ORDER BY position`, { id: s.id, k });
  return {
    id: s.id,
    key: s.key,
    title: s.title,
    number: s.number,
    body: v(s.body),
    held: { from: s.from_raw, to: s.to_raw },
    place: s.city ? { city: s.city, country: v(s.country) } : null,
    chairedBy: s.chair_person ? { person: v(s.chair_person), office: v(s.chair_office) } : null,
    agenda: parse<string[]>(s.agenda) ?? [],
    attendees: items.filter((i) => i.item === 'attendee').map((i) => ({ person: v(i.person), representing: v(i.representing), office: v(i.office), factId: i.fact_id })),
    reports: items.filter((i) => i.item === 'report').map((i) => ({ person: v(i.person), office: v(i.office), subject: i.subject, factId: i.fact_id })),
    documents: documentsAtSession(q, s.id, k),
    talks: items
      .filter((i) => i.item === 'talks')
      .map((i) => ({
        participants: (parse<{ person?: string; organization?: string }[]>(i.participants) ?? []).map((p) => ({ person: v(p.person ?? null), organization: v(p.organization ?? null) })),
        topics: parse<string[]>(i.topics) ?? [],
        on: i.on_raw ?? s.from_raw,
        summary: i.summary,
        factId: i.fact_id,
      })),
    factId: s.fact_id,
  };
}

export function sessionById(q: QueryContext, id: string, k: string): SessionView | null {
  const s = q.get<SessionRow>(`SELECT * FROM sessions WHERE id = @id AND ${KNOWN()}`, { id, k });
  return s ? renderSession(q, s, k) : null;
}

/** Sessions of these bodies, ordered by their first day; with `validAt`, those held (possibly) within it. */
export function sessionsOf(q: QueryContext, bodies: readonly string[], k: string, validAt?: string): SessionView[] {
  const rows = q.all<SessionRow>(`SELECT * FROM sessions WHERE body IN (SELECT value FROM json_each(@bodies)) AND ${KNOWN()}`, { bodies: JSON.stringify(bodies), k });
  return rows
    .filter((s) => !validAt || overlap({ from: s.from_raw, to: s.to_raw ?? s.from_raw }, validAt) !== null)
    .sort((a, b) => cmp(a.s0, b.s0) || cmp(a.id, b.id))
    .map((s) => renderSession(q, s, k));
}
