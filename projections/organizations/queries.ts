/**
 * Organization queries: the organizations (states and bodies included), one organization with
 * its bodies, offices and member states, its chair on a day, and the bodies below it (used by
 * sessions, documents and the timeline).
 */
import { overlap, type Certainty, type Source } from '../../events/index.js';
import { KNOWN, parse, viewer, type EntityRow, type EntityView, type QueryContext } from '../query-context.js';
import { cmp, pairEnds } from '../offices/succession.js';

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

export function listOrganizations(q: QueryContext, k: string, filter: { classification?: string | undefined; parent?: string | undefined }): OrganizationView[] {
  const rows = q.all<EntityRow>(
    `SELECT * FROM entities WHERE kind = 'organization' AND (@c IS NULL OR classification = @c) AND (@p IS NULL OR parent = @p) AND ${KNOWN()}`,
    { c: filter.classification ?? null, p: filter.parent ?? null, k },
  );
  return rows.map((r) => organizationView(q, r, k));
}

/** The organization and every body below it (parent chain), as known at `k`. */
export function withBodies(q: QueryContext, org: string, k: string): string[] {
  const rows = q.all<{ id: string; parent: string | null }>(`SELECT id, parent FROM entities WHERE kind = 'organization' AND parent IS NOT NULL AND ${KNOWN()}`, { k });
  const children = new Map<string, string[]>();
  for (const r of rows) children.set(r.parent as string, [...(children.get(r.parent as string) ?? []), r.id]);
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

export function chairsAt(q: QueryContext, org: string, k: string, validAt?: string): ChairItem[] {
  const rows = q.all<{ fact_id: string; chair: string; from_raw: string; to_raw: string | null; s0: string; motto: string | null; priorities: string | null; source: string | null }>(
    `SELECT fact_id, chair, from_raw, to_raw, s0, motto, priorities, source FROM chairmanships WHERE organization = @org AND ${KNOWN()} ORDER BY s0, s1, fact_id`,
    { org, k },
  );
  const v = viewer(q, k);
  const out: ChairItem[] = [];
  for (const r of rows) {
    const term = { from: r.from_raw, to: r.to_raw };
    const c = validAt ? overlap(term, validAt) : 'certain';
    if (c) out.push({ state: v(r.chair), term, certainty: c, factId: r.fact_id, motto: r.motto, priorities: parse<string[]>(r.priorities) ?? [], source: parse<Source>(r.source) });
  }
  return out;
}

export interface MemberItem {
  member: EntityView | null;
  term: { from: string; to: string | null };
  certainty: Certainty;
  factId: string;
}

/** Member states: each MembershipStarted, ended by the matching MembershipEnded (offices/succession.ts). */
export function membersOf(q: QueryContext, org: string, k: string, validAt?: string): MemberItem[] {
  const rows = q.all<{ fact_id: string; member: string; change: string; on_raw: string; position: string }>(
    `SELECT fact_id, member, change, on_raw, position FROM membership_changes WHERE organization = @org AND ${KNOWN()}`,
    { org, k },
  );
  const starts = rows.filter((r) => r.change === 'started');
  const cut = pairEnds(
    starts.map((s) => ({ factId: s.fact_id, who: s.member, from: s.on_raw, position: s.position })),
    rows.filter((r) => r.change === 'ended').map((e) => ({ who: e.member, on: e.on_raw, position: e.position })),
  );
  const v = viewer(q, k);
  const out: MemberItem[] = [];
  for (const s of starts) {
    const term = { from: s.on_raw, to: cut.get(s.fact_id) ?? null };
    const c = validAt ? overlap(term, validAt) : 'certain';
    if (c) out.push({ member: v(s.member), term, certainty: c, factId: s.fact_id });
  }
  return out.sort((a, b) => cmp(a.term.from, b.term.from) || cmp(a.factId, b.factId));
}
