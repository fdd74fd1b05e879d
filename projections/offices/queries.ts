/**
 * Office queries: the holder on a day, the whole succession, the offices of an organization
 * and a person's roles. Appointments are cut by departures and joined with attestations at
 * query time, all as known at `knownAt`.
 *
 * Attestations: a capacity named at a session (chair, delegate, report) attests the person
 * in the office on the session's days (`basis: attested`). One is left out when an
 * appointment of the same person to the same office, in the same answer, certainly covers
 * every day of it (it adds nothing); otherwise it is kept, as evidence where the record of
 * appointments is vague or missing.
 */
import { overlap, termBounds, type Certainty, type Source } from '../../events/index.js';
import { KNOWN, parse, viewer, type EntityView, type QueryContext } from '../query-context.js';
import { cmp, pairEnds } from './succession.js';

export interface HolderItem {
  person: EntityView | null;
  term: { from: string; to: string | null };
  acting: boolean;
  certainty: Certainty;
  factId: string;
  basis: 'appointed' | 'attested';
  source: Source | null;
  /** Attestations: the session and the capacity named there. */
  session?: EntityView | null;
  capacity?: string;
}

interface AppointmentRow {
  fact_id: string;
  office: string;
  person: string;
  from_raw: string;
  to_raw: string | null;
  acting: number;
  source: string | null;
  position: string;
}
interface DepartureRow {
  person: string;
  on_raw: string;
  position: string;
}
interface AttestationRow {
  fact_id: string;
  person: string;
  session: string;
  capacity: string;
  source: string | null;
  from_raw: string;
  to_raw: string | null;
}

interface RawItem extends Omit<HolderItem, 'certainty' | 'person' | 'session'> {
  personId: string;
  sessionId?: string;
}

function rawSuccession(q: QueryContext, office: string, k: string): RawItem[] {
  const apps = q.all<AppointmentRow>(`SELECT fact_id, office, person, from_raw, to_raw, acting, source, position FROM appointments WHERE office = @office AND ${KNOWN()}`, { office, k });
  const deps = q.all<DepartureRow>(`SELECT person, on_raw, position FROM departures WHERE office = @office AND ${KNOWN()}`, { office, k });
  const cut = deps.length ? pairEnds(apps.map((a) => ({ factId: a.fact_id, who: a.person, from: a.from_raw, position: a.position })), deps.map((d) => ({ who: d.person, on: d.on_raw, position: d.position }))) : new Map<string, string>();
  const items: RawItem[] = apps.map((a) => ({
    personId: a.person,
    term: { from: a.from_raw, to: cut.get(a.fact_id) ?? a.to_raw },
    acting: a.acting === 1,
    factId: a.fact_id,
    basis: 'appointed',
    source: parse<Source>(a.source),
  }));
  const atts = q.all<AttestationRow>(
    `SELECT a.fact_id, a.person, a.session, a.capacity, a.source, s.from_raw, s.to_raw FROM attestations a JOIN sessions s ON s.id = a.session AND ${KNOWN('s')} WHERE a.office = @office AND ${KNOWN('a')}`,
    { office, k },
  );
  for (const a of atts) {
    const term = { from: a.from_raw, to: a.to_raw ?? a.from_raw };
    const t = termBounds(term);
    const covered = items.some((i) => {
      if (i.basis !== 'appointed' || i.personId !== a.person) return false;
      const b = termBounds(i.term);
      return b.s1 <= t.s0 && b.e0 >= t.e1;
    });
    if (covered) continue;
    items.push({ personId: a.person, term, acting: false, factId: a.fact_id, basis: 'attested', source: parse<Source>(a.source), sessionId: a.session, capacity: a.capacity });
  }
  return items.sort(byTerm);
}

function byTerm(a: RawItem, b: RawItem): number {
  const x = termBounds(a.term);
  const y = termBounds(b.term);
  return cmp(x.s0, y.s0) || cmp(x.s1, y.s1) || cmp(a.factId, b.factId);
}

function render(q: QueryContext, k: string, items: RawItem[], certainty: (i: RawItem) => Certainty | null): HolderItem[] {
  const v = viewer(q, k);
  const out: HolderItem[] = [];
  for (const i of items) {
    const c = certainty(i);
    if (c === null) continue;
    const item: HolderItem = { person: v(i.personId), term: i.term, acting: i.acting, certainty: c, factId: i.factId, basis: i.basis, source: i.source };
    if (i.sessionId !== undefined) {
      item.session = v(i.sessionId);
      item.capacity = i.capacity as string;
    }
    out.push(item);
  }
  return out;
}

/** Who held the office during `validAt` (a partial date), as known at `k`: every possible holder. */
export function holderAt(q: QueryContext, office: string, validAt: string, k: string): HolderItem[] {
  return render(q, k, rawSuccession(q, office, k), (i) => overlap(i.term, validAt));
}

/** The whole succession as known at `k`, ordered by term.from; every item `certain` (it is in the record). */
export function holders(q: QueryContext, office: string, k: string): HolderItem[] {
  return render(q, k, rawSuccession(q, office, k), () => 'certain');
}

export interface RoleItem extends HolderItem {
  office: EntityView | null;
  organization: EntityView | null;
}

/** A person's roles over time: every office they were appointed to or attested in, as known at `k`. */
export function rolesOf(q: QueryContext, person: string, k: string, validAt?: string): RoleItem[] {
  const officeIds = q.all<{ office: string }>(
    `SELECT office FROM appointments WHERE person = @person AND ${KNOWN()} UNION SELECT office FROM attestations WHERE person = @person AND ${KNOWN()}`,
    { person, k },
  );
  const v = viewer(q, k);
  const out: RoleItem[] = [];
  for (const { office } of officeIds) {
    const mine = rawSuccession(q, office, k).filter((i) => i.personId === person);
    const org = q.byId(office, k)?.parent ?? null;
    for (const item of render(q, k, mine, (i) => (validAt ? overlap(i.term, validAt) : 'certain'))) {
      out.push({ ...item, office: v(office), organization: v(org) });
    }
  }
  return out.sort((a, b) => cmp(termBounds(a.term).s0, termBounds(b.term).s0) || cmp(a.factId, b.factId));
}

export interface OfficeView {
  id: string;
  key: string | null;
  title: string | null;
  organization: EntityView | null;
  multipleHolders: boolean;
}

export function officesOf(q: QueryContext, organization: string | null, k: string): OfficeView[] {
  const rows = q.all<{ id: string; key: string | null; name: string | null; parent: string | null; multiple: number }>(
    `SELECT id, key, name, parent, multiple FROM entities WHERE kind = 'office' AND (@org IS NULL OR parent = @org) AND ${KNOWN()}`,
    { org: organization, k },
  );
  const v = viewer(q, k);
  return rows.map((r) => ({ id: r.id, key: r.key, title: r.name, organization: v(r.parent), multipleHolders: r.multiple === 1 }));
}
