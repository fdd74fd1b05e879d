/**
 * Session queries: the sessions of an organization's bodies in keyset pages ordered by their
 * first day (s0, id), one session with the first page of each list recorded about it
 * (attendees, reports, documents, talks; `more` keys where a list goes on), and those lists
 * page by page.
 *
 * A page reads each body's index (body, s0, id) from its cursor and merges them; with
 * `validAt`, from the day asked about minus the body's longest session (spans), so a page
 * costs the sessions near that day, not the body's history before it.
 */
import { lowerBound, upperBound } from '../../events/index.js';
import { bind, KNOWN, afterParams, daysBefore, mergePage, parse, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { documentsAtSessionPage, type DocumentItem } from '../documents/queries.js';

/** Items of a nested list a view shows before pointing at the rest (`more`). */
export const NESTED_LIMIT = 50;

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
  position: string;
}

export interface Attendee {
  person: EntityView | null;
  representing: EntityView | null;
  office: EntityView | null;
  factId: string;
}
export interface Report {
  person: EntityView | null;
  office: EntityView | null;
  subject: string | null;
  factId: string;
}
export interface Talks {
  participants: { person: EntityView | null; organization: EntityView | null }[];
  topics: string[];
  on: string | null;
  summary: string | null;
  factId: string;
}

export type SessionList = 'attendees' | 'reports' | 'documents' | 'talks';
export const SESSION_LISTS: readonly SessionList[] = ['attendees', 'reports', 'documents', 'talks'];

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
  attendees: Attendee[];
  reports: Report[];
  documents: DocumentItem[];
  talks: Talks[];
  factId: string;
  /** Lists that go on past the first page: the key to continue after (turned into links by the HTTP layer). */
  more?: Partial<Record<SessionList, Key>>;
}

const ITEM_KIND = { attendees: 'attendee', reports: 'report', talks: 'talks' } as const;

function itemRows(q: QueryContext, session: string, list: 'attendees' | 'reports' | 'talks', k: string, page: PageRequest): ItemRow[] {
  return q.all<ItemRow>(
    `SELECT fact_id, item, person, office, representing, subject, on_raw, participants, topics, summary, position FROM session_items WHERE session = @session AND item = @item AND ${KNOWN()} AND position > @a0 ORDER BY position LIMIT @n`,
    bind({ session, item: ITEM_KIND[list], k, n: page.limit + 1 }, afterParams(page.after, 1)),
  );
}

type ItemOf<L extends SessionList> = L extends 'attendees' ? Attendee : L extends 'reports' ? Report : L extends 'talks' ? Talks : DocumentItem;

/** One list recorded about a session (attendees, reports, talks: in recording order; documents: by id), a page at a time. */
export function sessionListPage<L extends SessionList>(q: QueryContext, session: { id: string; from_raw: string }, list: L, k: string, page: PageRequest): Page<ItemOf<L>> {
  if (list === 'documents') return documentsAtSessionPage(q, session.id, k, page) as Page<ItemOf<L>>;
  const rows = itemRows(q, session.id, list as 'attendees' | 'reports' | 'talks', k, page);
  const ids: (string | null)[] = [];
  for (const r of rows) {
    ids.push(r.person, r.office, r.representing);
    for (const p of parse<{ person?: string; organization?: string }[]>(r.participants) ?? []) ids.push(p.person ?? null, p.organization ?? null);
  }
  const v = q.views(ids, k);
  const items = rows.map((r): Attendee | Report | Talks => {
    if (list === 'attendees') return { person: v(r.person), representing: v(r.representing), office: v(r.office), factId: r.fact_id };
    if (list === 'reports') return { person: v(r.person), office: v(r.office), subject: r.subject, factId: r.fact_id };
    return {
      participants: (parse<{ person?: string; organization?: string }[]>(r.participants) ?? []).map((p) => ({ person: v(p.person ?? null), organization: v(p.organization ?? null) })),
      topics: parse<string[]>(r.topics) ?? [],
      on: r.on_raw ?? session.from_raw,
      summary: r.summary,
      factId: r.fact_id,
    };
  });
  const keys = new Map(items.map((item, i) => [item, (rows[i] as ItemRow).position]));
  return mergePage([items], (item) => [keys.get(item) as string], page.limit) as Page<ItemOf<L>>;
}

function renderSession(q: QueryContext, s: SessionRow, k: string, nested: number): SessionView {
  const v = q.views([s.body, s.country, s.chair_person, s.chair_office], k);
  const first = { after: null, limit: nested };
  const attendees = sessionListPage(q, s, 'attendees', k, first);
  const reports = sessionListPage(q, s, 'reports', k, first);
  const documents = sessionListPage(q, s, 'documents', k, first);
  const talks = sessionListPage(q, s, 'talks', k, first);
  const view: SessionView = {
    id: s.id,
    key: s.key,
    title: s.title,
    number: s.number,
    body: v(s.body),
    held: { from: s.from_raw, to: s.to_raw },
    place: s.city ? { city: s.city, country: v(s.country) } : null,
    chairedBy: s.chair_person ? { person: v(s.chair_person), office: v(s.chair_office) } : null,
    agenda: parse<string[]>(s.agenda) ?? [],
    attendees: attendees.items,
    reports: reports.items,
    documents: documents.items,
    talks: talks.items,
    factId: s.fact_id,
  };
  const more: Partial<Record<SessionList, Key>> = {};
  for (const [list, page] of [['attendees', attendees], ['reports', reports], ['documents', documents], ['talks', talks]] as const) if (page.next) more[list] = page.next;
  if (Object.keys(more).length) view.more = more;
  return view;
}

const SESSION_COLUMNS = 'fact_id, id, key, body, title, number, from_raw, to_raw, s0, city, country, chair_person, chair_office, agenda';

export function sessionRow(q: QueryContext, id: string, k: string): SessionRow | null {
  return q.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = @id AND ${KNOWN()}`, { id, k }) ?? null;
}

export function sessionById(q: QueryContext, id: string, k: string, nested = NESTED_LIMIT): SessionView | null {
  const s = sessionRow(q, id, k);
  return s ? renderSession(q, s, k, nested) : null;
}

/** The bodies among `bodies` with any row in `table` (so a page reads only those). */
export function bodiesWith(q: QueryContext, table: string, bodies: readonly string[]): string[] {
  if (bodies.length === 1) return bodies.slice();
  return q.all<{ b: string }>(`SELECT value AS b FROM json_each(@bodies) WHERE EXISTS (SELECT 1 FROM ${table} WHERE body = value)`, { bodies: JSON.stringify(bodies) }).map((r) => r.b);
}

/** Sessions of these bodies by first day then id, held (possibly) within `validAt` when given, a page at a time. */
export function sessionsPage(q: QueryContext, bodies: readonly string[], k: string, validAt: string | undefined, page: PageRequest, nested = NESTED_LIMIT): Page<SessionView> {
  const n = page.limit + 1;
  const after = afterParams(page.after, 2);
  const within = bodiesWith(q, 'sessions', bodies);
  let window = '';
  let bounds: Record<string, string> = {};
  if (validAt) {
    const q0 = lowerBound(validAt);
    window = 'AND s0 <= @q1 AND e1 >= @q0';
    bounds = { q0, q1: upperBound(validAt) };
    // No session that began before this can reach the days asked about: read from here.
    const lo = daysBefore(q0, q.span('sessions', within));
    if ((after['a0'] as string) < lo) Object.assign(after, { a0: lo, a1: '' });
  }
  const sources = within.map((b) => q.all<{ id: string; s0: string }>(`SELECT id, s0 FROM sessions WHERE body = @b AND ${KNOWN()} ${window} AND (s0, id) > (@a0, @a1) ORDER BY s0, id LIMIT @n`, bind({ b, k, n }, after, bounds)));
  const keys = mergePage(sources, (r) => [r.s0, r.id], page.limit);
  return { items: keys.items.map((r) => renderSession(q, sessionRow(q, r.id, k) as SessionRow, k, nested)), next: keys.next };
}

export const sessionKey = (s: SessionView): Key => [lowerBound(s.held.from), s.id];
