/**
 * The timeline of an organization: dated facts about it, its bodies, their offices and
 * sessions, in valid-time order (first day, then factId), a keyset page at a time. Facts
 * with dates of their own are read in (lo, fact_id) order from the window's first day minus
 * the longest dated interval; facts dated by their session take the session's days as known
 * at `knownAt`, read per body through its sessions in order (attendances, reports and talks from
 * the sessions' items, considered documents from `considerations`, #19). The two are merged. The organization's offices are tested per row
 * (the row's subject an office of one of its bodies, at `knownAt`), not listed first: up to
 * 10,000 ids read, bound and searched in every page for the ~50 rows it shows. Every entity
 * a fact's data names (by id, as stored) is shown as its view `{ id, key, name }` at `knownAt`
 * (API.md: never a bare id), found for the whole page in one query.
 */
import { isFactType, lowerBound, refSites, upperBound, type RefSite, type Source } from '../../events/index.js';
import { bind, KNOWN, afterParams, daysBefore, mergePage, parse, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { bodiesWith } from '../sessions/queries.js';
import { dataOf, type TimelineItemType } from '../sessions/item-data.js';
import { timeline } from './evolve.js';

/**
 * The events that make a row the timeline shows: its own facts', the session-dated facts'
 * (shown only once their session is known: SessionHeld is among the first), corrections.
 */
const SHOWN = JSON.stringify([...timeline.handles, 'FactCorrected']);

export interface TimelineItem {
  factId: string;
  type: string;
  date: { from: string; to: string | null };
  data: Record<string, unknown>;
  source: Source | null;
}

interface Row {
  fact_id: string;
  type: string;
  date_from: string;
  date_to: string | null;
  lo: string;
  /** NULL: a session item whose columns give its data back (sessions/item-data.ts). */
  data: string | null;
  source: string | null;
  /** Read from `session_items` (attendances, reports, talks dated by their session): the item and its columns; absent or NULL otherwise. */
  item?: 'attendee' | 'report' | 'talks' | null;
  i_session?: string | null;
  i_person?: string | null;
  i_office?: string | null;
  i_representing?: string | null;
  i_subject?: string | null;
  i_participants?: string | null;
  i_topics?: string | null;
  i_summary?: string | null;
}

const ITEM_TYPES = { attendee: 'DelegateAttended', report: 'ReportDelivered', talks: 'SidelineTalksHeld' } as const;

export const timelineKey = (t: TimelineItem): Key => [lowerBound(t.date.from), t.factId];

export function timelinePage(q: QueryContext, bodies: readonly string[], k: string, window: { from?: string | undefined; to?: string | undefined }, page: PageRequest): Page<TimelineItem> {
  const q0 = window.from ? lowerBound(window.from) : '';
  const q1 = window.to ? upperBound(window.to) : '\uffff';
  const after = afterParams(page.after, 2);
  const base = { k, n: page.limit + 1, q0, q1, bodies: JSON.stringify(bodies) };
  // Nothing the timeline shows recorded by k (a knownAt in the recording's first moments, before
  // its first dated fact or session): an empty page without its statements, which would read
  // every entry of the dated index and every session of each body, none known yet (#12: ~200 ms
  // a page at 1,000,000 facts). The events recorded by k read backwards from k: the first one
  // read is almost always of such a type; only before the first does the probe read them all.
  const shown = q.get<{ x: number }>(
    'SELECT 1 AS x FROM facts INDEXED BY facts_recorded WHERE recorded_at <= @k AND type IN (SELECT value FROM json_each(@shown)) ORDER BY recorded_at DESC LIMIT 1',
    { k, shown: SHOWN },
  );
  if (shown === undefined) return { items: [], next: null };
  // Nothing that began before this can reach the window.
  const lo = q0 === '' ? '' : daysBefore(q0, q.get<{ d: number | null }>("SELECT max(days) AS d FROM spans WHERE tbl = 'timeline'", {})?.d ?? 0);
  const own = q.all<Row>(
    `SELECT t.fact_id, t.type, t.date_from, t.date_to, t.lo, t.data, t.source FROM timeline t
      WHERE t.lo IS NOT NULL AND (t.lo, t.fact_id) > (@a0, @a1) AND t.lo <= @q1 AND t.hi >= @q0 AND ${KNOWN('t')}
        AND (t.subject IN (SELECT value FROM json_each(@bodies))
             OR EXISTS (SELECT 1 FROM entities e WHERE e.id = t.subject AND e.kind = 'office' AND e.parent IN (SELECT value FROM json_each(@bodies)) AND ${KNOWN('e')})
             OR (t.session IS NOT NULL AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = t.session AND s.body IN (SELECT value FROM json_each(@bodies)) AND ${KNOWN('s')})))
      ORDER BY t.lo, t.fact_id LIMIT +@n`,
    bind(base, ((after['a0'] as string) < lo ? { a0: lo, a1: '' } : after)),
  );
  const sources: Row[][] = [own];
  for (const b of bodiesWith(q, 'sessions', bodies)) {
    const from = daysBefore(q0 === '' ? '' : q0, q0 === '' ? 0 : q.span('sessions', [b]));
    const start = (after['a0'] as string) < from ? from : (after['a0'] as string);
    // The facts dated by their session, of one body, in (first day, factId) order: none has a
    // timeline row (#19). The session's attendances, reports and talks without a date of their
    // own from its items (`session_items`, sessions/item-data.ts), its considered documents from
    // `considerations` (their data kept there as recorded). One pass over the body's sessions
    // for both (each session twice, `x.src`: its items, then its considerations), so neither
    // kind, however sparse, has the sessions read on until it fills a page of its own.
    sources.push(
      q.all<Row>(
        `SELECT coalesce(i.fact_id, c.fact_id) AS fact_id, 'DocumentConsidered' AS type, s.from_raw AS date_from, s.to_raw AS date_to, s.s0 AS lo, coalesce(c.data, i.data) AS data, coalesce(c.source, i.source) AS source,
             i.item, i.session AS i_session, i.person AS i_person, i.office AS i_office, i.representing AS i_representing, i.subject AS i_subject, i.participants AS i_participants, i.topics AS i_topics, i.summary AS i_summary
           FROM sessions s CROSS JOIN (SELECT 0 AS src UNION ALL SELECT 1) x
             LEFT JOIN session_items i ON x.src = 0 AND i.session = s.id AND i.item IN ('attendee', 'report', 'talks') AND i.on_raw IS NULL AND ${KNOWN('i')}
             LEFT JOIN considerations c ON x.src = 1 AND c.session = s.id AND ${KNOWN('c')}
          WHERE s.body = @b AND ${KNOWN('s')} AND s.s0 >= @start AND s.s0 <= @q1 AND s.e1 >= @q0
            AND coalesce(i.fact_id, c.fact_id) IS NOT NULL AND (s.s0, coalesce(i.fact_id, c.fact_id)) > (@a0, @a1)
          ORDER BY s.s0, coalesce(i.fact_id, c.fact_id) LIMIT +@n`,
        // The key bound at `start` too when the page begins before it: SQLite bounds the index range by one of the two lower bounds, the key's (a first page: '', every session of the body read).
        bind(base, (after['a0'] as string) < start ? { a0: start, a1: '' } : after, { b, start }),
      ),
    );
  }
  const rows = mergePage(sources, (r) => [r.lo, r.fact_id], page.limit);
  const items = rows.items.map((r) => {
    // A fact read from its session item: its data as the columns give it back, unless the row kept it as recorded.
    const type = r.item === undefined || r.item === null ? r.type : ITEM_TYPES[r.item];
    const data =
      r.data !== null
        ? (JSON.parse(r.data) as Record<string, unknown>)
        : dataOf(type as TimelineItemType, { session: r.i_session, person: r.i_person, office: r.i_office, representing: r.i_representing, subject: r.i_subject, participants: r.i_participants, topics: r.i_topics, summary: r.i_summary });
    return { factId: r.fact_id, type, date: { from: r.date_from, to: r.date_to }, data, source: parse<Source>(r.source) };
  });
  return { items: withViews(q, items, k), next: rows.next };
}

/** Each reference in the items' data replaced by the entity's view at `k` (in place: the data was just parsed). */
function withViews(q: QueryContext, items: TimelineItem[], k: string): TimelineItem[] {
  const sites = items.map((i) => (isFactType(i.type) ? refSites(i.type, i.data) : []));
  const v = q.views(sites.flat().map((s) => s.value), k);
  items.forEach((item, n) => {
    for (const site of sites[n] as RefSite[]) put(item.data, site.path, v(site.value, site.kind) as EntityView);
  });
  return items;
}

function put(data: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: unknown = data;
  for (const step of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[step];
  (node as Record<string | number, unknown>)[path.at(-1) as string | number] = value;
}
