/**
 * The rows an office's answers are made of, and the two rules applied to them at `knownAt`:
 *
 * - departures cut appointments (events/departures.ts, the write side's rule). A departure
 *   of a person is matched only among that person's appointments in the office, so the cut
 *   of an appointment needs the facts of one (office, person), never the whole succession:
 *   `cuts` reads those for the persons that have a departure known then;
 * - an attestation (a capacity named at a session: chair, delegate, report) is left out when
 *   an appointment of the same person to the same office certainly covers every day of it.
 *   Such an appointment overlaps every day range the attestation overlaps, so it is among
 *   the appointments of the same answer (holder) or found by `cuts` (lists).
 *
 * Items render to objects (`HolderItem`) and to JSON text equal to JSON.stringify of them
 * (the hot read), with the stored source text spliced in, not parsed and written again.
 */
import { termBounds, type Certainty, type Source, type TermBounds } from '../../events/index.js';
import { KNOWN, parse, type EntityView, type QueryContext } from '../query-context.js';
import { cmp, cutAppointments } from './succession.js';

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

/** An appointment row with the person's view at k and whether a departure of that person in that office is known then. */
export interface AppointmentHit extends TermBounds {
  fact_id: string;
  office: string;
  person: string;
  from_raw: string;
  to_raw: string | null;
  acting: number;
  source: string | null;
  pid: string | null;
  pkey: string | null;
  pname: string | null;
  departed: number;
}

/** An attestation row with its session's days and the views of the person and the session at k. */
export interface AttestationHit extends TermBounds {
  fact_id: string;
  office: string;
  person: string;
  session: string;
  capacity: string;
  source: string | null;
  from_raw: string;
  to_raw: string | null;
  pid: string | null;
  pkey: string | null;
  pname: string | null;
  sid: string | null;
  skey: string | null;
  sname: string | null;
}

/** The columns of an AppointmentHit, for `FROM appointments a`. */
export const APPOINTMENT_COLUMNS = `a.fact_id, a.office, a.person, a.from_raw, a.to_raw, a.s0, a.s1, a.e0, a.e1, a.acting, a.source, p.id AS pid, p.key AS pkey, p.name AS pname,
  EXISTS (SELECT 1 FROM departures d WHERE d.office = a.office AND d.person = a.person AND ${KNOWN('d')}) AS departed`;
export const PERSON_JOIN = `LEFT JOIN entities p ON p.id = a.person AND ${KNOWN('p')}`;

/** The columns of an AttestationHit, for `FROM attestations a JOIN sessions s`. */
export const ATTESTATION_COLUMNS = `a.fact_id, a.office, a.person, a.session, a.capacity, a.source, s.from_raw, s.to_raw, s.s0, s.s1, s.e0, s.e1,
  p.id AS pid, p.key AS pkey, p.name AS pname, v.id AS sid, v.key AS skey, v.name AS sname`;
export const SESSION_JOIN = `JOIN sessions s ON s.id = a.session AND ${KNOWN('s')}`;
export const ATTESTATION_VIEWS = `LEFT JOIN entities p ON p.id = a.person AND ${KNOWN('p')} LEFT JOIN entities v ON v.id = a.session AND ${KNOWN('v')}`;

/** An item before certainty: its bounds (cut), its JSON text without certainty, and how to make its object. */
export interface TermItem {
  readonly b: TermBounds;
  readonly factId: string;
  readonly personId: string;
  readonly basis: 'appointed' | 'attested';
  readonly office: string;
  /** `{"person":…,"source":…` up to before the closing brace (certainty follows). */
  readonly head: string;
  object(): Omit<HolderItem, 'certainty'>;
}

const personView = (id: string, pid: string | null, key: string | null, name: string | null): EntityView => (pid === null ? { id, key: null, name: null } : { id, key, name });
const viewJson = (v: EntityView): string => `{"id":${JSON.stringify(v.id)},"key":${JSON.stringify(v.key)},"name":${JSON.stringify(v.name)}}`;

/** An appointment as an item, its term cut to `to` when a departure ended it. */
export function appointedItem(a: AppointmentHit, cutTo: string | undefined): TermItem {
  const term = { from: a.from_raw, to: cutTo ?? a.to_raw };
  const b: TermBounds = cutTo === undefined ? { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 } : termBounds(term);
  const person = personView(a.person, a.pid, a.pkey, a.pname);
  const head = `{"person":${viewJson(person)},"term":${JSON.stringify(term)},"acting":${a.acting === 1},"factId":${JSON.stringify(a.fact_id)},"basis":"appointed","source":${a.source ?? 'null'}`;
  return {
    b,
    factId: a.fact_id,
    personId: a.person,
    basis: 'appointed',
    office: a.office,
    head,
    object: () => ({ person, term, acting: a.acting === 1, factId: a.fact_id, basis: 'appointed', source: parse<Source>(a.source) }),
  };
}

export function attestedItem(a: AttestationHit): TermItem {
  // A one-day session: its days are those of `from`.
  const term = { from: a.from_raw, to: a.to_raw ?? a.from_raw };
  const person = personView(a.person, a.pid, a.pkey, a.pname);
  const session = personView(a.session, a.sid, a.skey, a.sname);
  const head = `{"person":${viewJson(person)},"term":${JSON.stringify(term)},"acting":false,"factId":${JSON.stringify(a.fact_id)},"basis":"attested","source":${a.source ?? 'null'},"session":${viewJson(session)},"capacity":${JSON.stringify(a.capacity)}`;
  return {
    b: { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 },
    factId: a.fact_id,
    personId: a.person,
    basis: 'attested',
    office: a.office,
    head,
    object: () => ({ person, term, acting: false, factId: a.fact_id, basis: 'attested', source: parse<Source>(a.source), session, capacity: a.capacity }),
  };
}

export const withCertainty = (i: TermItem, c: Certainty): HolderItem => ({ ...i.object(), certainty: c });
export const jsonWithCertainty = (i: TermItem, c: Certainty): string => `${i.head},"certainty":"${c}"}`;

/** events/term.ts `overlap`, on bounds already computed. */
export function certaintyOf(b: TermBounds, q0: string, q1: string): Certainty | null {
  if (b.s1 <= q1 && b.e0 >= q0) return 'certain';
  if (b.s0 <= q1 && b.e1 >= q0) return 'possible';
  return null;
}

export const byTerm = (a: TermItem, b: TermItem): number => cmp(a.b.s0, b.b.s0) || cmp(a.b.s1, b.b.s1) || cmp(a.factId, b.factId);
export const termKey = (i: TermItem): readonly string[] => [i.b.s0, i.b.s1, i.factId];

/**
 * The facts of one (office, person) as known at k, cut by the shared rule: each of that
 * person's appointments in that office with its bounds after the cut, and the new last day
 * of those a departure ended. Memoised per question (`cache`).
 */
export interface PersonTerms {
  readonly ends: ReadonlyMap<string, string>;
  readonly bounds: readonly TermBounds[];
}

export function personTerms(q: QueryContext, office: string, person: string, k: string, cache: Map<string, PersonTerms>): PersonTerms {
  const id = `${office}\u0000${person}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const p = { office, person, k };
  const apps = q.all<{ fact_id: string; person: string; from_raw: string; to_raw: string | null; s0: string; s1: string; e0: string; e1: string; first: string }>(
    `SELECT a.fact_id, a.person, a.from_raw, a.to_raw, a.s0, a.s1, a.e0, a.e1, f.position AS first FROM appointments a JOIN facts f ON f.fact_id = a.fact_id WHERE a.office = @office AND a.person = @person AND ${KNOWN('a')}`,
    p,
  );
  const deps = q.all<{ fact_id: string; person: string; on_raw: string; first: string }>(
    `SELECT d.fact_id, d.person, d.on_raw, f.position AS first FROM departures d JOIN facts f ON f.fact_id = d.fact_id WHERE d.office = @office AND d.person = @person AND ${KNOWN('d')}`,
    p,
  );
  const ends = deps.length ? cutAppointments(apps, deps) : new Map<string, string>();
  const bounds = apps.map((a) => {
    const to = ends.get(a.fact_id);
    return to === undefined ? { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 } : termBounds({ from: a.from_raw, to });
  });
  const out = { ends, bounds };
  cache.set(id, out);
  return out;
}

/** The appointments as items, each cut where a departure of its person is known at k. */
export function appointedItems(q: QueryContext, hits: readonly AppointmentHit[], k: string, cache: Map<string, PersonTerms>): TermItem[] {
  return hits.map((a) => appointedItem(a, a.departed ? personTerms(q, a.office, a.person, k, cache).ends.get(a.fact_id) : undefined));
}

/** Does an appointment of the same person to the same office certainly cover every day of `t`? */
export const covers = (b: TermBounds, t: TermBounds): boolean => b.s1 <= t.s0 && b.e0 >= t.e1;
