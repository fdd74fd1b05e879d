/**
 * Which appointment a departure (OfficialLeftOffice) ends: ONE rule, used by the write side
 * (src/domain/office.ts, which refuses a departure that ends none) and by the read side
 * (projections/offices/queries.ts, which cuts nothing for it) and by the oracle of the
 * property test, so that what was accepted is what is read.
 *
 * The facts of an office are taken in recording order (the order in which each fact was
 * first recorded; a correction keeps its fact's place and brings its new data). An
 * appointment is a candidate for the departures recorded after it. A departure
 * `{ person, on }` is matched to that person's latest-begun appointment (greatest first
 * possible day s0, then latest recorded) among those that may have begun by `on`
 * (s0 <= last day of `on`). It ends it when
 * - that appointment has no departure yet (else: `already-left`, naming the earlier one), and
 * - `on` is not surely after the term's scheduled end (lowerBound(on) > upperBound(to):
 *   `after-end`) — a departure ends a term early or on schedule (DESIGN.md), never later.
 * The term then ends on the earlier of `to` and `on` (`endOn`): a departure only shortens.
 */
import { lowerBound, upperBound } from './partial-date.js';

export interface AppointmentRef {
  readonly kind: 'appointment';
  readonly factId: string;
  readonly person: string;
  readonly term: { readonly from: string; readonly to?: string | null };
}

export interface DepartureRef {
  readonly kind: 'departure';
  readonly factId: string;
  readonly person: string;
  readonly on: string;
}

export type OfficeFactRef = AppointmentRef | DepartureRef;

/** Why a departure ends no appointment; `fact` is the fact it collides with, if any. */
export type NoMatch =
  | { readonly reason: 'no-appointment' }
  | { readonly reason: 'before-start'; readonly fact: string; readonly from: string }
  | { readonly reason: 'already-left'; readonly fact: string; readonly appointment: string }
  | { readonly reason: 'after-end'; readonly fact: string; readonly to: string };

export type DepartureMatch =
  | { readonly ends: string; readonly to: string }
  | ({ readonly ends: null } & NoMatch);

export interface Matched {
  /** departure factId → what it ends, or why it ends nothing. */
  readonly departures: Map<string, DepartureMatch>;
  /** appointment factId → its last day after the departure that ended it (absent: not ended). */
  readonly ends: Map<string, { readonly to: string; readonly by: string }>;
}

/**
 * The last day of a term ended by a departure on `on` (already known not to be surely after
 * `to`): the earlier of the two. `on` is taken unless it may reach past `to`
 * (upperBound(on) > upperBound(to)), in which case the scheduled `to` stands.
 */
export function endOn(to: string | null | undefined, on: string): string {
  if (to == null) return on;
  return upperBound(on) <= upperBound(to) ? on : to;
}

/** Matches one departure against the appointments seen so far (in recording order). */
export function matchDeparture(
  seen: readonly AppointmentRef[],
  endedBy: ReadonlyMap<string, string>,
  departure: Pick<DepartureRef, 'person' | 'on'>,
): DepartureMatch {
  const hi = upperBound(departure.on);
  let first: AppointmentRef | undefined;
  let best: AppointmentRef | undefined;
  let bestS0 = '';
  for (const a of seen) {
    if (a.person !== departure.person) continue;
    first ??= a;
    const s0 = lowerBound(a.term.from);
    if (s0 > hi) continue;
    if (best === undefined || s0 >= bestS0) {
      best = a;
      bestS0 = s0;
    }
  }
  if (first === undefined) return { ends: null, reason: 'no-appointment' };
  if (best === undefined) return { ends: null, reason: 'before-start', fact: first.factId, from: first.term.from };
  const earlier = endedBy.get(best.factId);
  if (earlier !== undefined) return { ends: null, reason: 'already-left', fact: earlier, appointment: best.factId };
  const to = best.term.to;
  if (to != null && lowerBound(departure.on) > upperBound(to)) return { ends: null, reason: 'after-end', fact: best.factId, to };
  return { ends: best.factId, to: endOn(to, departure.on) };
}

/** Every departure of an office matched, the facts given in recording order. */
export function matchDepartures(facts: Iterable<OfficeFactRef>): Matched {
  const seen: AppointmentRef[] = [];
  const endedBy = new Map<string, string>();
  const departures = new Map<string, DepartureMatch>();
  const ends = new Map<string, { to: string; by: string }>();
  for (const f of facts) {
    if (f.kind === 'appointment') {
      seen.push(f);
      continue;
    }
    const m = matchDeparture(seen, endedBy, f);
    departures.set(f.factId, m);
    if (m.ends !== null) {
      endedBy.set(m.ends, f.factId);
      ends.set(m.ends, { to: m.to, by: f.factId });
    }
  }
  return { departures, ends };
}
