/**
 * The rows an office's answers are made of, at `knownAt`:
 *
 * - terms: appointments as departures cut them (events/departures.ts, the write side's rule),
 *   kept bitemporally by the writer (terms-index.ts), so a question reads them already cut;
 * - attestations (a capacity named at a session: chair, delegate, report), left out when an
 *   appointment of the same person to the same office certainly covers every day of one.
 *   Such an appointment overlaps every day range the attestation overlaps, so it is among
 *   the terms of the same answer (holder), or among that person's (`personBounds`, lists).
 *
 * Items render to objects (`HolderItem`). The holder answer a read worker sends is written
 * as JSON text by SQLite instead (holder-json.ts), equal to JSON.stringify of these objects.
 */
import type { Certainty, Source, TermBounds } from '../../events/index.js';
import { KNOWN, parse, type EntityView, type QueryContext } from '../query-context.js';
import { cmp } from './succession.js';
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

/** A term (appointments as departures cut them: terms-index.ts) with its appointment's row and the person's view at k. */
export interface AppointmentHit extends TermBounds {
  fact_id: string;
  office: string;
  person: string;
  from_raw: string;
  /** The last day as cut (or as recorded). */
  to_raw: string | null;
  acting: number;
  source: string | null;
  pid: string | null;
  pkey: string | null;
  pname: string | null;
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

/** The columns of an AppointmentHit, for `FROM terms t` and TERM_JOINS. */
export const APPOINTMENT_COLUMNS = `t.appointment AS fact_id, t.office, t.person, a.from_raw, t.to_raw, t.s0, t.s1, t.e0, t.e1, a.acting, a.source, p.id AS pid, p.key AS pkey, p.name AS pname`;
export const TERM_JOINS = `JOIN appointments a ON a.rowid = t.version LEFT JOIN entities p ON p.id = t.person AND ${KNOWN('p')}`;

/** The columns of an AttestationHit, for `FROM attestations a JOIN sessions s`. */
export const ATTESTATION_COLUMNS = `a.fact_id, a.office, a.person, a.session, a.capacity, a.source, s.from_raw, s.to_raw, s.s0, s.s1, s.e0, s.e1,
  p.id AS pid, p.key AS pkey, p.name AS pname, v.id AS sid, v.key AS skey, v.name AS sname`;
export const SESSION_JOIN = `JOIN sessions s ON s.id = a.session AND ${KNOWN('s')}`;
export const ATTESTATION_VIEWS = `LEFT JOIN entities p ON p.id = a.person AND ${KNOWN('p')} LEFT JOIN entities v ON v.id = a.session AND ${KNOWN('v')}`;

/** An item before certainty: its bounds (cut) and how to make its object. */
export interface TermItem {
  readonly b: TermBounds;
  readonly factId: string;
  readonly personId: string;
  readonly basis: 'appointed' | 'attested';
  readonly office: string;
  object(): Omit<HolderItem, 'certainty'>;
}

const personView = (id: string, pid: string | null, key: string | null, name: string | null): EntityView => (pid === null ? { id, key: null, name: null } : { id, key, name });

/** A term (already cut) as an item. */
export function appointedItem(a: AppointmentHit): TermItem {
  const term = { from: a.from_raw, to: a.to_raw };
  const b: TermBounds = { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 };
  const person = personView(a.person, a.pid, a.pkey, a.pname);
  return {
    b,
    factId: a.fact_id,
    personId: a.person,
    basis: 'appointed',
    office: a.office,
    object: () => ({ person, term, acting: a.acting === 1, factId: a.fact_id, basis: 'appointed', source: parse<Source>(a.source) }),
  };
}

export function attestedItem(a: AttestationHit): TermItem {
  // A one-day session: its days are those of `from`.
  const term = { from: a.from_raw, to: a.to_raw ?? a.from_raw };
  const person = personView(a.person, a.pid, a.pkey, a.pname);
  const session = personView(a.session, a.sid, a.skey, a.sname);
  return {
    b: { s0: a.s0, s1: a.s1, e0: a.e0, e1: a.e1 },
    factId: a.fact_id,
    personId: a.person,
    basis: 'attested',
    office: a.office,
    object: () => ({ person, term, acting: false, factId: a.fact_id, basis: 'attested', source: parse<Source>(a.source), session, capacity: a.capacity }),
  };
}

/** The corrections known at `k` of these items' facts (one statement; none for an empty answer). */
export const correctionsOfItems = (q: QueryContext, items: readonly { item: TermItem }[], k: string): Map<string, CorrectedBy> =>
  correctionsOf(
    q,
    items.map((i) => i.item.factId),
    k,
  );

/** The item's object; `correctedBy` (when its fact was corrected) before `certainty`. */
export function withCertainty(i: TermItem, c: Certainty, corrected?: ReadonlyMap<string, CorrectedBy>): HolderItem {
  const by = corrected?.get(i.factId);
  return Object.assign(i.object(), by ? { correctedBy: by, certainty: c } : { certainty: c });
}

/** events/term.ts `overlap`, on bounds already computed. */
export function certaintyOf(b: TermBounds, q0: string, q1: string): Certainty | null {
  if (b.s1 <= q1 && b.e0 >= q0) return 'certain';
  if (b.s0 <= q1 && b.e1 >= q0) return 'possible';
  return null;
}

export const byTerm = (a: TermItem, b: TermItem): number => cmp(a.b.s0, b.b.s0) || cmp(a.b.s1, b.b.s1) || cmp(a.factId, b.factId);
export const termKey = (i: TermItem): readonly string[] => [i.b.s0, i.b.s1, i.factId];

/** The bounds of a person's terms in an office as known at k (cut), memoised per answer. */
export function personBounds(q: QueryContext, office: string, person: string, k: string, cache: Map<string, TermBounds[]>): TermBounds[] {
  const id = `${office}\u0000${person}`;
  let hit = cache.get(id);
  if (!hit) {
    hit = q.all<TermBounds>(`SELECT s0, s1, e0, e1 FROM terms WHERE office = @office AND person = @person AND ${KNOWN()}`, { office, person, k });
    cache.set(id, hit);
  }
  return hit;
}

/** Does an appointment of the same person to the same office certainly cover every day of `t`? */
export const covers = (b: TermBounds, t: TermBounds): boolean => b.s1 <= t.s0 && b.e0 >= t.e1;
