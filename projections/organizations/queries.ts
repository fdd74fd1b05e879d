/**
 * Organization queries: the organizations (states and bodies included) by name, one
 * organization, the bodies below it (used by sessions, documents and the timeline), its chair
 * on a day, and its chairmanships and member states in keyset pages.
 */
import { lowerBound, termBounds, upperBound, type Certainty, type Source } from '../../events/index.js';
import { bind, KNOWN, afterParams, mergePage, parse, readFiltered, viewer, type EntityRow, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import { certaintyOf } from '../offices/terms.js';
import { pairEnds } from '../offices/succession.js';
import { markCorrected, type Corrected } from '../facts/queries.js';
import type { TermRow } from '../rows.js';

export interface OrganizationView {
  id: string;
  key: string | null;
  name: string | null;
  classification: string | null;
  parent: EntityView | null;
  aliases: string[];
}

export function organizationView(q: QueryContext, row: EntityRow, k: string): OrganizationView {
  return { id: row.id, key: row.key, name: row.name, classification: row.classification, parent: viewer(q, k)(row.parent), aliases: parse<string[]>(row.aliases) ?? [] };
}

export const organizationKey = (o: OrganizationView): Key => [o.name ?? '', o.id];

/** Organizations by name then id, filtered by classification and parent (an id) when given. */
export function organizationsPage(q: QueryContext, k: string, filter: { classification?: string | undefined; parent?: string | undefined }, page: PageRequest): Page<OrganizationView> {
  const rows = q.all<EntityRow>(
    `SELECT * FROM entities WHERE kind = 'organization' AND ${filter.parent === undefined ? '' : 'parent = @p AND '}${filter.classification === undefined ? '' : 'classification = @c AND '}${KNOWN()} AND (name, id) > (@a0, @a1) ORDER BY name, id LIMIT +@n`,
    bind({ c: filter.classification ?? null, p: filter.parent ?? null, k, n: page.limit + 1 }, afterParams(page.after, 2)),
  );
  const v = q.views(rows.map((r) => r.parent), k);
  const views = rows.map((r) => ({ id: r.id, key: r.key, name: r.name, classification: r.classification, parent: v(r.parent), aliases: parse<string[]>(r.aliases) ?? [] }));
  return mergePage([views], organizationKey, page.limit);
}

/** The organization and every body below it (parent chain), as known at `k`: the organizations with a parent (few), walked in memory. */
export function withBodies(q: QueryContext, org: string, k: string): string[] {
  // As one JSON text: better-sqlite3 hands over ~0.5 µs a value, and every organization with a
  // parent is a row here (~100 on the benchmark record: 105 µs as rows of two values).
  const rows = JSON.parse(q.get<{ v: string }>(`SELECT json_group_array(json_array(id, parent)) AS v FROM entities WHERE kind = 'organization' AND parent IS NOT NULL AND ${KNOWN()}`, { k })?.v ?? '[]') as [string, string][];
  const children = new Map<string, string[]>();
  for (const [id, parent] of rows) {
    const list = children.get(parent);
    if (list) list.push(id);
    else children.set(parent, [id]);
  }
  const out = new Set<string>([org]);
  const todo = [org];
  while (todo.length) for (const c of children.get(todo.pop() as string) ?? []) if (!out.has(c)) (out.add(c), todo.push(c));
  return [...out];
}

export interface ChairItem {
  state: EntityView | null;
  term: { from: string; to: string | null };
  certainty: Certainty;
  factId: string;
  motto: string | null;
  priorities: string[];
  source: Source | null;
}

interface ChairRow extends TermRow {
  fact_id: string;
  chair: string;
  motto: string | null;
  priorities: string | null;
  source: string | null;
}

const chairItem = (r: ChairRow, c: Certainty, v: (id: string | null) => EntityView | null): ChairItem => ({ state: v(r.chair), term: { from: r.from_raw, to: r.to_raw }, certainty: c, factId: r.fact_id, motto: r.motto, priorities: parse<string[]>(r.priorities) ?? [], source: parse<Source>(r.source) });
const CHAIR_COLUMNS = 'fact_id, chair, from_raw, to_raw, s0, s1, e0, e1, motto, priorities, source';

/** Who chaired `org` (an id) during `validAt`, as known at `k`: every possible chair, by term. */
export function chairsAt(q: QueryContext, org: string, k: string, validAt: string): ChairItem[] {
  const q0 = lowerBound(validAt);
  const q1 = upperBound(validAt);
  // The terms begun by the end of the days asked about, in order; the others cannot overlap them.
  const rows = q.all<ChairRow>(`SELECT ${CHAIR_COLUMNS} FROM chairmanships WHERE organization = @org AND s0 <= @q1 AND e1 >= @q0 AND ${KNOWN()} ORDER BY s0, s1, fact_id`, { org, k, q0, q1 });
  const v = q.views(rows.map((r) => r.chair), k);
  return rows.map((r) => chairItem(r, certaintyOf(r, q0, q1) as Certainty, v));
}

export const chairKey = (c: ChairItem): Key => [lowerBound(c.term.from), upperBound(c.term.from), c.factId];

/** Chairmanships of `org` by term, a page at a time (during `validAt` when given). */
export function chairsPage(q: QueryContext, org: string, k: string, validAt: string | undefined, page: PageRequest): Page<ChairItem> {
  const q0 = validAt ? lowerBound(validAt) : '';
  const q1 = validAt ? upperBound(validAt) : '';
  const rows = readFiltered(
    (after, n) => q.all<ChairRow>(`SELECT ${CHAIR_COLUMNS} FROM chairmanships WHERE organization = @org AND ${KNOWN()} AND (s0, s1, fact_id) > (@a0, @a1, @a2) ORDER BY s0, s1, fact_id LIMIT +@n`, bind({ org, k, n }, afterParams(after, 3))),
    (r) => [r.s0, r.s1, r.fact_id],
    (r) => {
      const c = validAt ? certaintyOf(r, q0, q1) : 'certain';
      return c === null ? null : { r, c };
    },
    page.after,
    page.limit + 1,
  );
  const v = q.views(rows.map((x) => x.r.chair), k);
  return mergePage([rows.map((x) => chairItem(x.r, x.c, v))], chairKey, page.limit);
}

export interface MemberItem {
  member: EntityView | null;
  term: { from: string; to: string | null };
  certainty: Certainty;
  factId: string;
}

interface ChangeRow {
  fact_id: string;
  member: string;
  change: string;
  on_raw: string;
  /** The position of the fact's first recording: a correction keeps its fact's place, as an appointment's does (offices/terms-index.ts). */
  position: string;
}

/** Each start's last day (its factId to the end's date as written) from membership changes, as pairEnds pairs them. */
function pairRows(rows: readonly ChangeRow[]): Map<string, string> {
  return pairEnds(
    rows.filter((r) => r.change === 'started').map((s) => ({ factId: s.fact_id, who: s.member, from: s.on_raw, position: s.position })),
    rows.filter((r) => r.change === 'ended').map((e) => ({ who: e.member, on: e.on_raw, position: e.position })),
  );
}

/**
 * A member's changes as pairEnds takes them: each with its fact's first position, not the
 * position of the version (a correction's): "latest recorded" is the fact's place in the log,
 * so a correction of a start's reason alone does not make it the start an end closes (session
 * 45's review: test/projections-review-edges.test.ts). A row no correction wrote (corrected_by
 * NULL: the fact as first recorded) holds it already, read with the row's other columns; only
 * a corrected one seeks its fact's row in `facts`.
 */
const PAIRED = 'm.fact_id, m.member, m.change, m.on_raw, CASE WHEN m.corrected_by IS NULL THEN m.position ELSE (SELECT f.position FROM facts f WHERE f.fact_id = m.fact_id) END AS position FROM membership_changes m';

/**
 * Member states of `org`, by the start (as written) then factId, a page at a time: each
 * MembershipStarted, ended by the matching MembershipEnded (offices/succession.ts pairEnds,
 * which pairs one member's changes at a time, so a page reads only its members' changes).
 */
export function membersPage(q: QueryContext, org: string, k: string, validAt: string | undefined, page: PageRequest): Page<MemberItem> {
  const cuts = new Map<string, Map<string, string>>();
  const cutOf = (member: string): Map<string, string> => {
    let cut = cuts.get(member);
    if (!cut) {
      const rows = q.all<ChangeRow>(`SELECT ${PAIRED} WHERE m.organization = @org AND m.member = @member AND ${KNOWN('m')}`, { org, member, k });
      cut = pairRows(rows);
      cuts.set(member, cut);
    }
    return cut;
  };
  const starts = readFiltered(
    (after, n) => q.all<ChangeRow>(`SELECT fact_id, member, change, on_raw, position FROM membership_changes WHERE organization = @org AND change = 'started' AND ${KNOWN()} AND (on_raw, fact_id) > (@a0, @a1) ORDER BY on_raw, fact_id LIMIT +@n`, bind({ org, k, n }, afterParams(after, 2))),
    (r) => [r.on_raw, r.fact_id],
    (s) => {
      const term = { from: s.on_raw, to: cutOf(s.member).get(s.fact_id) ?? null };
      const c = validAt ? certaintyOf(termBounds(term), lowerBound(validAt), upperBound(validAt)) : 'certain';
      return c === null ? null : { s, term, c };
    },
    page.after,
    page.limit + 1,
  );
  const v = q.views(starts.map((x) => x.s.member), k);
  return mergePage([starts.map((x) => ({ member: v(x.s.member), term: x.term, certainty: x.c, factId: x.s.fact_id }))], (m) => [m.term.from, m.factId], page.limit);
}

/**
 * Every member state of `org` (an id known at `k`) with no `validAt`, each `correctedBy` added as
 * `ReadQueries.members` adds it: what every page of `membersPage` gives, in its order, for `annals
 * replay` (src/cli/state.ts), in four statements whatever the number of members. membersPage
 * pairs a member's changes again on every page that shows it (one statement and one `pairEnds` a
 * member a page); on the 1,000,000-fact record, one organization with ~9,800 memberships of ten
 * states, that read all its changes and paired them ten times over: ~2.3 s of CPU (session 44).
 * Here they are read and paired once, by the same `pairEnds`, which pairs each member's changes on
 * their own (so one call for every member equals one a member: a start's fact is one member's,
 * one version of a fact known at any k), fed each member's rows with their facts' first positions
 * (PAIRED), which no two facts share: the order the rows come in decides no tie.
 */
export function membersWhole(q: QueryContext, org: string, k: string): (MemberItem & Corrected)[] {
  const rows = q.all<ChangeRow>(`SELECT ${PAIRED} WHERE m.organization = @org AND ${KNOWN('m')} ORDER BY m.member, m.fact_id`, { org, k });
  const cut = pairRows(rows);
  const starts = q.all<Pick<ChangeRow, 'fact_id' | 'member' | 'on_raw'>>(`SELECT fact_id, member, on_raw FROM membership_changes WHERE organization = @org AND change = 'started' AND ${KNOWN()} ORDER BY on_raw, fact_id`, { org, k });
  const v = q.views(starts.map((s) => s.member), k);
  return markCorrected(
    q,
    starts.map((s): MemberItem => ({ member: v(s.member), term: { from: s.on_raw, to: cut.get(s.fact_id) ?? null }, certainty: 'certain', factId: s.fact_id })),
    k,
  );
}
