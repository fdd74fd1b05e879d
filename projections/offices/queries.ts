/**
 * Office lists: the whole succession of an office and a person's roles, in keyset pages
 * ordered by term (s0, s1, factId: a departure changes a term's end, never its start, so
 * the order is the index's), and the offices of an organization by title. The point
 * question (who held the office on a day) is holder.ts.
 */
import { lowerBound, upperBound, type Certainty } from '../../events/index.js';
import { bind, KNOWN, afterParams, mergePage, readFiltered, type EntityView, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
import type { TermBounds } from '../../events/index.js';
import {
  APPOINTMENT_COLUMNS,
  ATTESTATION_COLUMNS,
  ATTESTATION_VIEWS,
  SESSION_JOIN,
  TERM_JOINS,
  appointedItem,
  attestedItem,
  certaintyOf,
  correctionsOfItems,
  covers,
  personBounds,
  termKey,
  withCertainty,
  type AppointmentHit,
  type AttestationHit,
  type HolderItem,
  type TermItem,
} from './terms.js';

export type { HolderItem } from './terms.js';

const hitKey = (h: { s0: string; s1: string; fact_id: string }): Key => [h.s0, h.s1, h.fact_id];

/** Terms (appointments as cut) and attestations (not covered) chosen by `where`, in term order after `after`, each kept by `keep`. */
function termPage(q: QueryContext, where: { terms: string; attestations: string }, params: Record<string, unknown>, k: string, page: PageRequest, keep: (i: TermItem) => Certainty | null): Page<{ item: TermItem; certainty: Certainty }> {
  const want = page.limit + 1;
  const cache = new Map<string, TermBounds[]>();
  const appointed = readFiltered(
    (after, n) => q.all<AppointmentHit>(`SELECT ${APPOINTMENT_COLUMNS} FROM terms t ${TERM_JOINS} WHERE ${where.terms} AND ${KNOWN('t')} AND (t.s0, t.s1, t.appointment) > (@a0, @a1, @a2) ORDER BY t.s0, t.s1, t.appointment LIMIT +@n`, bind(params, { k, n }, afterParams(after, 3))),
    hitKey,
    (a) => {
      const item = appointedItem(a);
      const c = keep(item);
      return c === null ? null : { item, certainty: c };
    },
    page.after,
    want,
  );
  const attested = readFiltered(
    (after, n) => q.all<AttestationHit>(`SELECT ${ATTESTATION_COLUMNS} FROM attestations a ${SESSION_JOIN} ${ATTESTATION_VIEWS} WHERE ${where.attestations} AND ${KNOWN('a')} AND (s.s0, s.s1, a.fact_id) > (@a0, @a1, @a2) ORDER BY s.s0, s.s1, a.fact_id LIMIT +@n`, bind(params, { k, n }, afterParams(after, 3))),
    hitKey,
    (a) => {
      const item = attestedItem(a);
      if (personBounds(q, a.office, a.person, k, cache).some((b) => covers(b, item.b))) return null;
      const c = keep(item);
      return c === null ? null : { item, certainty: c };
    },
    page.after,
    want,
  );
  return mergePage([appointed, attested], (x) => termKey(x.item), page.limit);
}

/** The whole succession of `office` (an id) as known at `k`, a page at a time; every item `certain` (it is in the record). */
export function holdersPage(q: QueryContext, office: string, k: string, page: PageRequest): Page<HolderItem> {
  const p = termPage(q, { terms: 't.office = @office', attestations: 'a.office = @office' }, { office }, k, page, () => 'certain');
  const corrected = correctionsOfItems(q, p.items, k);
  return { items: p.items.map((x) => withCertainty(x.item, x.certainty, corrected)), next: p.next };
}

export interface RoleItem extends HolderItem {
  office: EntityView | null;
  organization: EntityView | null;
}

/** A person's roles (offices appointed to or attested in), as known at `k`, during `validAt` when given. */
export function rolesPage(q: QueryContext, person: string, k: string, validAt: string | undefined, page: PageRequest): Page<RoleItem> {
  const q0 = validAt ? lowerBound(validAt) : '';
  const q1 = validAt ? upperBound(validAt) : '';
  const p = termPage(q, { terms: 't.person = @person', attestations: 'a.person = @person' }, { person }, k, page, (i) => (validAt ? certaintyOf(i.b, q0, q1) : 'certain'));
  const offices = q.all<{ id: string; key: string | null; name: string | null; parent: string | null }>(`SELECT id, key, name, parent FROM entities WHERE id IN (SELECT value FROM json_each(@ids)) AND kind = 'office' AND ${KNOWN()}`, { ids: JSON.stringify([...new Set(p.items.map((x) => x.item.office))]), k });
  const officeOf = new Map(offices.map((o) => [o.id, o]));
  const v = q.views(offices.map((o) => o.parent), k);
  const corrected = correctionsOfItems(q, p.items, k);
  return {
    items: p.items.map((x) => {
      const o = officeOf.get(x.item.office);
      return Object.assign(withCertainty(x.item, x.certainty, corrected), { office: o ? { id: o.id, key: o.key, title: o.name } : { id: x.item.office, key: null, title: null }, organization: v(o?.parent ?? null) });
    }),
    next: p.next,
  };
}

export interface OfficeView {
  id: string;
  key: string | null;
  title: string | null;
  organization: EntityView | null;
  multipleHolders: boolean;
}

interface OfficeRow {
  id: string;
  key: string | null;
  name: string | null;
  parent: string | null;
  multiple: number;
}

function officeViews(q: QueryContext, rows: readonly OfficeRow[], k: string): OfficeView[] {
  const v = q.views(rows.map((r) => r.parent), k);
  return rows.map((r) => ({ id: r.id, key: r.key, title: r.name, organization: v(r.parent), multipleHolders: r.multiple === 1 }));
}

export const officeKey = (o: OfficeView): Key => [o.title ?? '', o.id];

/** Offices (of `organization`, an id, when given) by title then id, a page at a time. */
export function officesPage(q: QueryContext, organization: string | null, k: string, page: PageRequest): Page<OfficeView> {
  const rows = q.all<OfficeRow>(
    `SELECT id, key, name, parent, multiple FROM entities WHERE kind = 'office' AND ${organization === null ? '' : 'parent = @org AND '}${KNOWN()} AND (name, id) > (@a0, @a1) ORDER BY name, id LIMIT +@n`,
    bind({ org: organization, k, n: page.limit + 1 }, afterParams(page.after, 2)),
  );
  return mergePage([officeViews(q, rows, k)], officeKey, page.limit);
}

export function officeView(q: QueryContext, ref: string, k: string): OfficeView | null {
  const row = q.entity('office', ref, k);
  return row ? (officeViews(q, [row], k)[0] as OfficeView) : null;
}
