/**
 * Session queries: the sessions of an organization's bodies in keyset pages ordered by their
 * first day (s0, id), one session with the first page of each list recorded about it
 * (attendees, reports, documents, talks; `more` keys where a list goes on), and those lists
 * page by page.
 *
 * A page reads each body's index (body, s0, id) from its cursor and merges them; with
 * `validAt`, each body's index (body, length class, s0, id) class by class (sessions/length.ts),
 * each from the day asked about minus the longest session of its class (the longest class: the
 * body's longest session, spans), so a page costs the sessions near that day, not the body's
 * history before it.
 */
import { lowerBound, upperBound } from '../../events/index.js';
import { bind, DISTINCT_BODIES, KNOWN, afterParams, daysBefore, mergePage, parse, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { documentsAtSessionPage, sessionDocuments, type DocumentItem } from '../documents/queries.js';
import { sessionsJson } from './json.js';
import { SESSION_LENGTH, SESSION_LENGTH_CLASSES } from './length.js';

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
  session: string;
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
  /** The position of the item's fact's first recording (TableSpec.firstPosition): its place in its list. */
  first_position: string;
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

type ItemOf<L extends SessionList> = L extends 'attendees' ? Attendee : L extends 'reports' ? Report : L extends 'talks' ? Talks : DocumentItem;

function participantIds(r: ItemRow): (string | null)[] {
  return (parse<{ person?: string; organization?: string }[]>(r.participants) ?? []).flatMap((p) => [p.person ?? null, p.organization ?? null]);
}

function itemOf(r: ItemRow, fromRaw: string, v: (id: string | null, kind?: 'office') => EntityView | null): Attendee | Report | Talks {
  if (r.item === 'attendee') return { person: v(r.person), representing: v(r.representing), office: v(r.office, 'office'), factId: r.fact_id };
  if (r.item === 'report') return { person: v(r.person), office: v(r.office, 'office'), subject: r.subject, factId: r.fact_id };
  return {
    participants: (parse<{ person?: string; organization?: string }[]>(r.participants) ?? []).map((p) => ({ person: v(p.person ?? null), organization: v(p.organization ?? null) })),
    topics: parse<string[]>(r.topics) ?? [],
    on: r.on_raw ?? fromRaw,
    summary: r.summary,
    factId: r.fact_id,
  };
}

const ITEM_COLUMNS = 'session, fact_id, item, person, office, representing, subject, on_raw, participants, topics, summary, first_position';

/**
 * One list recorded about a session (attendees, reports, talks: in the order of their facts'
 * first recordings, a corrected item in its fact's place; documents: by id), a page at a time.
 * A page's key is that first position (no two items of a list known at k share it: one version of a fact is known at k).
 */
export function sessionListPage<L extends SessionList>(q: QueryContext, session: { id: string; from_raw: string }, list: L, k: string, page: PageRequest): Page<ItemOf<L>> {
  if (list === 'documents') return documentsAtSessionPage(q, session.id, k, page) as Page<ItemOf<L>>;
  const rows = q.all<ItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM session_items WHERE session = @session AND item = @item AND ${KNOWN()} AND first_position > @a0 ORDER BY first_position LIMIT +@n`,
    bind({ session: session.id, item: ITEM_KIND[list as 'attendees' | 'reports' | 'talks'], k, n: page.limit + 1 }, afterParams(page.after, 1)),
  );
  const v = q.views(rows.flatMap((r) => [r.person, r.office, r.representing, ...participantIds(r)]), k);
  const keyed = rows.map((r) => ({ r, item: itemOf(r, session.from_raw, v) }));
  const p = mergePage([keyed], (x) => [x.r.first_position], page.limit);
  return { items: p.items.map((x) => x.item) as ItemOf<L>[], next: p.next };
}

/** A row of ITEM_COLUMNS as a JSON array, and as an object (a literal: Object.fromEntries made a pair array of each value, garbage of ~1,600 arrays a page). */
type ItemTuple = [string, string, ItemRow['item'], string | null, string | null, string | null, string | null, string | null, string | null, string | null, string | null, string];
const itemRow = ([session, fact_id, item, person, office, representing, subject, on_raw, participants, topics, summary, first_position]: ItemTuple): ItemRow => ({ session, fact_id, item, person, office, representing, subject, on_raw, participants, topics, summary, first_position });
const byFirst = (a: ItemRow, b: ItemRow): number => (a.first_position < b.first_position ? -1 : a.first_position > b.first_position ? 1 : 0);

/**
 * The items of these sessions as known at k: of each list (attendees, reports, talks) at most
 * `nested + 1`. First every item of them, up to a cap that `nested + 1` of each list of each
 * session fits in: a session's lists are short (at most 30 items a list, ~4 a session, on the
 * 1,000,000-fact record), and reading them whole in the primary key's order, as one JSON text,
 * cost ~120 µs of CPU for 10 sessions against ~450 for numbering them with a window and
 * ordering the aggregate (its temporary B-tree was most of it; bench/page-cpu.ts, warm). The
 * rows read are those the window would have read (it reads every item of the sessions to
 * number them), so a page of 500 reads no more. Only when the cap is reached may a list go on
 * past it: numbered then.
 */
function itemsOf(q: QueryContext, ids: readonly string[], k: string, nested: number): ItemRow[] {
  const p = { ids: JSON.stringify(ids), k, n: nested + 1, cap: ids.length * 3 * (nested + 1) };
  const whole = JSON.parse(q.get<{ v: string }>(`SELECT json_group_array(json_array(${ITEM_COLUMNS})) AS v FROM (SELECT ${ITEM_COLUMNS.replace(/(\w+)/g, 's.$1')} FROM json_each(@ids) j CROSS JOIN session_items s WHERE s.session = j.value AND ${KNOWN('s')} LIMIT +@cap)`, p)?.v ?? '[]') as ItemTuple[];
  if (whole.length < p.cap) return whole.map(itemRow);
  return (
    JSON.parse(
      q.get<{ v: string }>(
        `SELECT json_group_array(json_array(${ITEM_COLUMNS}) ORDER BY session, item, first_position) AS v FROM (SELECT ${ITEM_COLUMNS}, row_number() OVER (PARTITION BY session, item ORDER BY first_position) AS rn FROM session_items WHERE session IN (SELECT value FROM json_each(@ids)) AND ${KNOWN()}) WHERE rn <= @n`,
        p,
      )?.v ?? '[]',
    ) as ItemTuple[]
  ).map(itemRow);
}

/**
 * Sessions rendered together, each with the first `nested` items of its lists: five
 * statements for a page, not a handful per session. The items of every session in one
 * (itemsOf); the documents at them in two; every entity the page shows (sessions', items',
 * documents') in one. The item rows come as one JSON text (better-sqlite3 hands over ~0.5 µs
 * a value: ~300 rows of 12 columns a page).
 */
function renderSessions(q: QueryContext, rows: readonly SessionRow[], k: string, nested: number): SessionView[] {
  if (rows.length === 0) return [];
  const ids = rows.map((s) => s.id);
  const items = itemsOf(q, ids, k, nested);
  const documents = sessionDocuments(q, ids, k, { after: null, limit: nested });
  const v = q.views([...rows.flatMap((s) => [s.body, s.country, s.chair_person, s.chair_office]), ...items.flatMap((r) => [r.person, r.office, r.representing, ...participantIds(r)]), ...documents.named], k);
  const docPages = documents.pages(v);
  const bySession = new Map<string, ItemRow[]>();
  for (const r of items) {
    const list = bySession.get(r.session);
    if (list) list.push(r);
    else bySession.set(r.session, [r]);
  }
  return rows.map((s) => {
    const mine = bySession.get(s.id) ?? [];
    const more: Partial<Record<SessionList, Key>> = {};
    const listOf = (list: 'attendees' | 'reports' | 'talks'): (Attendee | Report | Talks)[] => {
      // In the order of their facts' first positions (a session's rows come in primary-key order, item then first_position).
      const of = mine.filter((r) => r.item === ITEM_KIND[list]).sort(byFirst);
      if (of.length > nested) more[list] = [(of[nested - 1] as ItemRow).first_position];
      return of.slice(0, nested).map((r) => itemOf(r, s.from_raw, v));
    };
    const docs = docPages.get(s.id) as Page<DocumentItem>;
    if (docs.next) more.documents = docs.next;
    const view: SessionView = {
      id: s.id,
      key: s.key,
      title: s.title,
      number: s.number,
      body: v(s.body),
      held: { from: s.from_raw, to: s.to_raw },
      place: s.city ? { city: s.city, country: v(s.country) } : null,
      chairedBy: s.chair_person ? { person: v(s.chair_person), office: v(s.chair_office, 'office') } : null,
      agenda: parse<string[]>(s.agenda) ?? [],
      attendees: listOf('attendees') as Attendee[],
      reports: listOf('reports') as Report[],
      documents: docs.items,
      talks: listOf('talks') as Talks[],
      factId: s.fact_id,
    };
    if (Object.keys(more).length) view.more = more;
    return view;
  });
}

const SESSION_COLUMNS = 'fact_id, id, key, body, title, number, from_raw, to_raw, s0, city, country, chair_person, chair_office, agenda';

export function sessionRow(q: QueryContext, id: string, k: string): SessionRow | null {
  return q.get<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = @id AND ${KNOWN()}`, { id, k }) ?? null;
}

export function sessionById(q: QueryContext, id: string, k: string, nested = NESTED_LIMIT): SessionView | null {
  const s = sessionRow(q, id, k);
  return s ? (renderSessions(q, [s], k, nested)[0] as SessionView) : null;
}

/**
 * Sessions by id rendered together (renderSessions' five statements for them all, not for each):
 * those with a row known at k, in the order given; each as sessionById renders it alone.
 */
export function sessionsById(q: QueryContext, ids: readonly string[], k: string, nested = NESTED_LIMIT): SessionView[] {
  const rows: SessionRow[] = [];
  for (const id of ids) {
    const s = sessionRow(q, id, k);
    if (s) rows.push(s);
  }
  return renderSessions(q, rows, k, nested);
}

/** The bodies among `bodies` with any row in `table` (so a page reads only those). */
export function bodiesWith(q: QueryContext, table: string, bodies: readonly string[]): string[] {
  if (bodies.length === 1) return bodies.slice();
  return q.all<{ b: string }>(`SELECT value AS b FROM json_each(@bodies) WHERE EXISTS (SELECT 1 FROM ${table} WHERE body = value)`, { bodies: JSON.stringify(bodies) }).map((r) => r.b);
}

/** The bodies a page of sessions reads (each with a row in `sessions`), and the longest session of any of them in days (`spans`; 0: none). */
export interface SessionBodies {
  readonly bodies: readonly string[];
  readonly span: () => number;
}

/** These bodies, those with sessions. */
export function sessionBodies(q: QueryContext, bodies: readonly string[]): SessionBodies {
  const within = bodiesWith(q, 'sessions', bodies);
  return { bodies: within, span: () => q.span('sessions', within) };
}

/**
 * The bodies of the organization `org` (itself and its bodies at any depth as known at k, as
 * organizations/queries.ts withBodies finds them) that have sessions, found from the other end
 * in one statement, as documents/queries.ts documentBodies does: the distinct bodies of
 * `sessions` (one search of its (body, …) index each), each kept when its parent chain known at
 * k reaches `org`, with its span. Not every organization's parent read, then which of them have
 * sessions, then their spans: three statements, ~35–50 µs warm on the 1,000,000-fact record
 * (~100 organizations with a parent; one body with sessions), where this one is ~7–15 (a
 * fresh read transaction each time). Each parent is read by a scalar subquery, one seek: as a
 * join, SQLite planned a Bloom filter over `entities` (no dearer, measured warm, but not needed).
 */
export function organizationSessionBodies(q: QueryContext, org: string, k: string): SessionBodies {
  const found = JSON.parse(
    q.get<{ v: string }>(
      `WITH RECURSIVE ${DISTINCT_BODIES('sessions', 'sb')},
        up(b, id) AS (SELECT b, b FROM sb WHERE b IS NOT NULL
          UNION SELECT up.b, (SELECT e.parent FROM entities e WHERE e.id = up.id AND e.kind = 'organization' AND ${KNOWN('e')}) FROM up WHERE up.id <> @org)
      SELECT json_group_array(json_array(b, (SELECT days FROM spans WHERE tbl = 'sessions' AND grp = b))) AS v FROM up WHERE id = @org`,
      { org, k },
    )?.v ?? '[]',
  ) as [string, number | null][];
  const span = found.reduce((m, [, days]) => (days !== null && days > m ? days : m), 0);
  return { bodies: found.map(([b]) => b), span: () => span };
}

/** Sessions of these bodies by first day then id, held (possibly) within `validAt` when given, a page at a time. */
export function sessionsPage(q: QueryContext, bodies: SessionBodies, k: string, validAt: string | undefined, page: PageRequest, nested = NESTED_LIMIT): Page<SessionView> {
  const keys = sessionKeys(q, bodies, k, validAt, page);
  const rows = new Map(q.all<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id IN (SELECT value FROM json_each(@ids)) AND ${KNOWN()}`, { ids: JSON.stringify(keys.items.map((r) => r.id)), k }).map((r) => [r.id, r]));
  return { items: renderSessions(q, keys.items.map((r) => rows.get(r.id) as SessionRow), k, nested), next: keys.next };
}

/**
 * sessionsPage as the JSON text of each session (sessions/json.ts: what JSON.stringify writes
 * of its items, `correctedBy` marked), for a read worker to hand over; null when a session of
 * the page has a list longer than `nested` (its `more` is made by sessionsPage).
 */
export function sessionsPageJson(q: QueryContext, bodies: SessionBodies, k: string, validAt: string | undefined, page: PageRequest, nested = NESTED_LIMIT): { items: string[]; next: Key | null } | null {
  const keys = sessionKeys(q, bodies, k, validAt, page);
  const items = sessionsJson(q, keys.items.map((r) => r.id), k, nested, bodies.bodies.length === 1 ? (bodies.bodies[0] as string) : null);
  return items ? { items, next: keys.next } : null;
}

/** A body's sessions of one length class (its index: sessions/evolve.ts) held (possibly) within [@q0, @q1], in (s0, id) order after (@a0…, @a1…) (`i`: the arm's parameters' suffix). */
const BY_LENGTH = (i: number): string =>
  `SELECT id, s0 FROM sessions WHERE body = @b${i} AND ${SESSION_LENGTH} = @c${i} AND ${KNOWN()} AND s0 <= @q1 AND e1 >= @q0 AND (s0, id) > (@a0${i}, @a1${i}) ORDER BY s0, id LIMIT +@n`;

/**
 * The statement reading `arms` (body, length class) ranges at once: each arm a range of the
 * index in (s0, id) order cut to @n, their rows (at most @n an arm) sorted once and cut to @n.
 * One statement, not one a class and body: a page of one body's three ranges 94 -> 49 µs of
 * CPU warm (400 days, the 1,000,000-fact record, load 9-14; as a compound ORDER BY, SQLite
 * sorted each arm apart to merge them: 51).
 */
const byLengthSql = new Map<number, string>();
/** The most arms a statement reads (byLength). */
const ARMS = 48;
function byLength(arms: number): string {
  let sql = byLengthSql.get(arms);
  if (sql === undefined) {
    sql = `SELECT id, s0 FROM (${Array.from({ length: arms }, (_, i) => `SELECT id, s0 FROM (${BY_LENGTH(i)})`).join(' UNION ALL ')}) ORDER BY s0, id LIMIT +@n`;
    byLengthSql.set(arms, sql);
  }
  return sql;
}

/** The keys (s0, id) of a page of sessions of these bodies, held (possibly) within `validAt` when given. */
function sessionKeys(q: QueryContext, within: SessionBodies, k: string, validAt: string | undefined, page: PageRequest): Page<{ id: string; s0: string }> {
  const n = page.limit + 1;
  const after = afterParams(page.after, 2);
  if (!validAt) {
    const sources = within.bodies.map((b) => q.all<{ id: string; s0: string }>(`SELECT id, s0 FROM sessions WHERE body = @b AND ${KNOWN()} AND (s0, id) > (@a0, @a1) ORDER BY s0, id LIMIT +@n`, bind({ b, k, n }, after)));
    return mergePage(sources, (r) => [r.s0, r.id], page.limit);
  }
  if (within.bodies.length === 0) return { items: [], next: null };
  const q0 = lowerBound(validAt);
  const bounds = { k, n, q0, q1: upperBound(validAt) };
  const span = within.span();
  // Each length class of each body (length.ts), read from the day asked about minus the longest
  // session it can hold: no session of it that began before can reach the days asked about.
  const arms: [string, number, string, string][] = [];
  for (const [c, longest] of SESSION_LENGTH_CLASSES) {
    const lo = daysBefore(q0, longest === null ? span : Math.min(longest, span));
    const from = (after['a0'] as string) < lo ? { a0: lo, a1: '' } : after;
    for (const b of within.bodies) arms.push([b, c, from['a0'] as string, from['a1'] as string]);
  }
  // At most ARMS a statement (SQLite's compound SELECT has at most 500 terms): an organization
  // with many bodies reads several, merged here.
  const sources: { id: string; s0: string }[][] = [];
  for (let from = 0; from < arms.length; from += ARMS) {
    const chunk = arms.slice(from, from + ARMS);
    const params: Record<string, unknown> = { ...bounds };
    chunk.forEach(([b, c, a0, a1], i) => {
      params[`b${i}`] = b;
      params[`c${i}`] = c;
      params[`a0${i}`] = a0;
      params[`a1${i}`] = a1;
    });
    sources.push(q.all<{ id: string; s0: string }>(byLength(chunk.length), params));
  }
  return mergePage(sources, (r) => [r.s0, r.id], page.limit);
}

export const sessionKey = (s: SessionView): Key => [lowerBound(s.held.from), s.id];
