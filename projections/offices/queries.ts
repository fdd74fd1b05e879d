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
import { lowerBound, termBounds, upperBound, type Certainty, type Source, type TermBounds } from '../../events/index.js';
import { KNOWN, parse, viewer, type EntityView, type QueryContext } from '../query-context.js';
import { cmp, cutAppointments } from './succession.js';
import { correctionsOf, type CorrectedBy } from '../facts/queries.js';

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
  /** The fact was corrected: the latest correction known at knownAt, with its reason. */
  correctedBy?: CorrectedBy;
}

interface AppointmentRow extends TermBounds {
  fact_id: string;
  office: string;
  person: string;
  from_raw: string;
  to_raw: string | null;
  acting: number;
  source: string | null;
  position: string;
  /** Position of the fact's first recording. */
  first: string;
}
interface DepartureRow {
  fact_id: string;
  person: string;
  on_raw: string;
  /** Position of the fact's first recording: departures are matched in recording order. */
  first: string;
}
interface AttestationRow extends TermBounds {
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
  /** Day bounds of the term, from the stored columns (partial dates are parsed at write time, not per query). */
  b: TermBounds;
  sessionId?: string;
}

function rawSuccession(q: QueryContext, office: string, k: string): RawItem[] {
  // `first`: the version of a fact recorded first (its original) stays in the table, so it gives the fact's place in the record.
  // The first positions come from one pass over the office's rows in key order (office,
  // fact_id, position), not a subquery per row.
  const apps = withFirst(
    q.all<Omit<AppointmentRow, 'first'>>(`SELECT a.fact_id, a.person, a.from_raw, a.to_raw, a.s0, a.s1, a.e0, a.e1, a.acting, a.source, a.position FROM appointments a WHERE a.office = @office AND ${KNOWN('a')}`, { office, k }),
    q.all<FirstRow>('SELECT fact_id, MIN(position) AS first FROM appointments WHERE office = @office GROUP BY fact_id', { office }),
  );
  const deps = withFirst(
    q.all<Omit<DepartureRow, 'first'>>(`SELECT d.fact_id, d.person, d.on_raw FROM departures d WHERE d.office = @office AND ${KNOWN('d')}`, { office, k }),
    q.all<FirstRow>('SELECT fact_id, MIN(position) AS first FROM departures WHERE office = @office GROUP BY fact_id', { office }),
  );
  const cut = deps.length ? cutAppointments(apps, deps) : new Map<string, string>();
  const items: RawItem[] = apps.map((a) => {
    const to = cut.get(a.fact_id);
    const term = { from: a.from_raw, to: to ?? a.to_raw };
    return {
    personId: a.person,
    b: to === undefined ? { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 } : termBounds(term),
    term,
    acting: a.acting === 1,
    factId: a.fact_id,
    basis: 'appointed',
    source: parse<Source>(a.source),
  };
  });
  const atts = q.all<AttestationRow>(
    `SELECT a.fact_id, a.person, a.session, a.capacity, a.source, s.from_raw, s.to_raw, s.s0, s.s1, s.e0, s.e1 FROM attestations a JOIN sessions s ON s.id = a.session AND ${KNOWN('s')} WHERE a.office = @office AND ${KNOWN('a')}`,
    { office, k },
  );
  for (const a of atts) {
    const term = { from: a.from_raw, to: a.to_raw ?? a.from_raw };
    const t: TermBounds = { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 };
    const covered = items.some((i) => i.basis === 'appointed' && i.personId === a.person && i.b.s1 <= t.s0 && i.b.e0 >= t.e1);
    if (covered) continue;
    items.push({ personId: a.person, b: t, term, acting: false, factId: a.fact_id, basis: 'attested', source: parse<Source>(a.source), sessionId: a.session, capacity: a.capacity });
  }
  return items.sort(byTerm);
}

interface FirstRow {
  fact_id: string;
  first: string;
}

/** Each row with the position of its fact's first recording. */
function withFirst<R extends { fact_id: string; position?: string }>(rows: R[], firsts: FirstRow[]): (R & { first: string })[] {
  const first = new Map(firsts.map((f) => [f.fact_id, f.first]));
  return rows.map((r) => ({ ...r, first: first.get(r.fact_id) as string }));
}

function byTerm(a: RawItem, b: RawItem): number {
  return cmp(a.b.s0, b.b.s0) || cmp(a.b.s1, b.b.s1) || cmp(a.factId, b.factId);
}

/** events/term.ts `overlap`, on bounds already computed. */
function certaintyOf(b: TermBounds, q0: string, q1: string): Certainty | null {
  if (b.s1 <= q1 && b.e0 >= q0) return 'certain';
  if (b.s0 <= q1 && b.e1 >= q0) return 'possible';
  return null;
}

/** A succession item with its person (and session) rendered; certainty is added per question. */
export interface SuccessionItem {
  readonly b: TermBounds;
  readonly personId: string;
  readonly item: Omit<HolderItem, 'certainty'>;
  /**
   * `item` as JSON text without the closing brace, once asked for (holderAtJson). Present
   * from the start (undefined), so every item has one shape and reading it stays cheap.
   */
  jsonHead: string | undefined;
}

/** The succession as known at `k`, rendered, with entity views fetched in one query. */
export function succession(q: QueryContext, office: string, k: string): SuccessionItem[] {
  const raw = rawSuccession(q, office, k);
  const views = q.views([...raw.map((i) => i.personId), ...raw.flatMap((i) => (i.sessionId ? [i.sessionId] : []))], k);
  const corrected = correctionsOf(
    q,
    raw.map((i) => i.factId),
    k,
  );
  return raw.map((i) => {
    const item: Omit<HolderItem, 'certainty'> = { person: views(i.personId), term: i.term, acting: i.acting, factId: i.factId, basis: i.basis, source: i.source };
    if (i.sessionId !== undefined) {
      item.session = views(i.sessionId);
      item.capacity = i.capacity as string;
    }
    const c = corrected.get(i.factId);
    if (c) item.correctedBy = c;
    return { b: i.b, personId: i.personId, item, jsonHead: undefined };
  });
}

function withCertainty(items: readonly SuccessionItem[], certainty: (b: TermBounds) => Certainty | null): HolderItem[] {
  const out: HolderItem[] = [];
  for (const i of items) {
    const c = certainty(i.b);
    if (c !== null) out.push({ ...i.item, certainty: c });
  }
  return out;
}

/**
 * For each item of a succession (ordered by earliest start), the latest possible end among it
 * and the items before it: non-decreasing, so a binary search finds the first item that can
 * still overlap a day; every item before it surely ended earlier. Made once per cached
 * succession (a succession's terms mostly follow one another, so a question about a day
 * looks at a handful of items instead of all of them).
 */
const reachOf = new WeakMap<readonly SuccessionItem[], string[]>();
function reach(items: readonly SuccessionItem[]): string[] {
  let r = reachOf.get(items);
  if (r === undefined) {
    r = [];
    let max = '';
    for (const i of items) {
      if (i.b.e1 > max) max = i.b.e1;
      r.push(max);
    }
    reachOf.set(items, r);
  }
  return r;
}

/** The index of the first item whose reach is at least `q0` (items.length if none). */
function firstReaching(r: readonly string[], q0: string): number {
  let lo = 0;
  let hi = r.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((r[mid] as string) < q0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * holderAt as JSON text: the same array JSON.stringify would make of holderAt's answer (each
 * item's fields, then `certainty`), built from per-item text instead of new objects. Looks
 * only at the items from the first that may still be in office on `validAt` (reach) to the
 * last that may have begun by then.
 */
export function holderAtJson(items: readonly SuccessionItem[], validAt: string): string {
  const q0 = lowerBound(validAt);
  const q1 = upperBound(validAt);
  let out = '';
  for (let n = firstReaching(reach(items), q0); n < items.length; n++) {
    const i = items[n] as SuccessionItem;
    // Items come ordered by earliest start (byTerm): none after this one can overlap.
    if (i.b.s0 > q1) break;
    const c = certaintyOf(i.b, q0, q1);
    if (c === null) continue;
    const head = (i.jsonHead ??= JSON.stringify(i.item).slice(0, -1));
    out += `${out === '' ? '' : ','}${head}${head === '{' ? '' : ','}"certainty":"${c}"}`;
  }
  return `[${out}]`;
}

/**
 * Who held the office during `validAt` (a partial date), as known at `k`: every possible
 * holder. `items`: the succession at `k` when the caller has it already (a cache).
 */
export function holderAt(q: QueryContext, office: string, validAt: string, k: string, items?: readonly SuccessionItem[]): HolderItem[] {
  const q0 = lowerBound(validAt);
  const q1 = upperBound(validAt);
  return withCertainty(items ?? succession(q, office, k), (b) => certaintyOf(b, q0, q1));
}

/** The whole succession as known at `k`, ordered by term.from; every item `certain` (it is in the record). */
export function holders(q: QueryContext, office: string, k: string, items?: readonly SuccessionItem[]): HolderItem[] {
  return withCertainty(items ?? succession(q, office, k), () => 'certain');
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
    const mine = succession(q, office, k).filter((i) => i.personId === person);
    const org = q.byId(office, k)?.parent ?? null;
    const q0 = validAt ? lowerBound(validAt) : '';
    const q1 = validAt ? upperBound(validAt) : '';
    for (const item of withCertainty(mine, (b) => (validAt ? certaintyOf(b, q0, q1) : 'certain'))) {
      out.push({ ...item, office: v(office), organization: v(org) });
    }
  }
  return out.sort((a, b) => cmp(lowerBound(a.term.from), lowerBound(b.term.from)) || cmp(a.factId, b.factId));
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
