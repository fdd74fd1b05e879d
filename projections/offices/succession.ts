/**
 * Appointments and departures: `cutAppointments`, the rule of events/departures.ts (the one
 * the write side decides by), on the rows of the read model.
 *
 * Memberships (`pairEnds`): pairing MembershipStarted with MembershipEnded, pure so that the
 * queries agree on one written rule:
 *
 * An end `{ who, on }` cuts the start of the same `who` that began latest (greatest first
 * possible day s0, then latest recorded) among those that may have begun by `on`
 * (s0 <= last day of `on`); the start's term then ends on `on`. Ends are taken earliest
 * first (by the first possible day of `on`, then recorded order); an end whose start was
 * already cut, or that finds none, cuts nothing.
 */
import { lowerBound, upperBound } from '../../events/index.js';
import { matchDepartures, type OfficeFactRef } from '../../events/departures.js';

export interface AppointmentRow {
  readonly fact_id: string;
  readonly person: string;
  readonly from_raw: string;
  readonly to_raw: string | null;
  /** Position of the fact's first recording (a correction keeps its fact's place). */
  readonly first: string;
}

export interface DepartureRow {
  readonly fact_id: string;
  readonly person: string;
  readonly on_raw: string;
  readonly first: string;
}

/**
 * appointment factId → its new last day, for the appointments and departures known at one
 * knownAt: taken in recording order and matched by events/departures.ts. A departure the
 * write side would refuse (an older log: a second departure, one after the term's end, one
 * whose appointment was retracted) cuts nothing; a departure only ever shortens a term.
 */
export function cutAppointments(apps: readonly AppointmentRow[], deps: readonly DepartureRow[]): Map<string, string> {
  const facts: (OfficeFactRef & { first: string })[] = [];
  for (const a of apps) facts.push({ kind: 'appointment', factId: a.fact_id, person: a.person, term: { from: a.from_raw, to: a.to_raw }, first: a.first });
  for (const d of deps) facts.push({ kind: 'departure', factId: d.fact_id, person: d.person, on: d.on_raw, first: d.first });
  facts.sort((x, y) => cmp(x.first, y.first) || cmp(x.factId, y.factId));
  const cut = new Map<string, string>();
  for (const [id, end] of matchDepartures(facts).ends) cut.set(id, end.to);
  return cut;
}

export interface Start {
  readonly factId: string;
  readonly who: string;
  readonly from: string;
  readonly position: string;
}

export interface End {
  readonly who: string;
  readonly on: string;
  readonly position: string;
}

/** factId of each cut start → its new last day. Each `who`'s changes are paired on their own. */
export function pairEnds(starts: readonly Start[], ends: readonly End[]): Map<string, string> {
  const cut = new Map<string, string>();
  const byWho = new Map<string, { s: Start; s0: string }[]>();
  for (const s of starts) {
    const list = byWho.get(s.who);
    const entry = { s, s0: lowerBound(s.from) };
    if (list) list.push(entry);
    else byWho.set(s.who, [entry]);
  }
  const sortedEnds = ends.map((e) => ({ e, lo: lowerBound(e.on) })).sort((a, b) => cmp(a.lo, b.lo) || cmp(a.e.position, b.e.position));
  for (const { e: end } of sortedEnds) {
    const hi = upperBound(end.on);
    let best: { s: Start; s0: string } | null = null;
    for (const c of byWho.get(end.who) ?? []) {
      if (c.s0 > hi) continue;
      if (best === null || c.s0 > best.s0 || (c.s0 === best.s0 && c.s.position > best.s.position)) best = c;
    }
    if (best && !cut.has(best.s.factId)) cut.set(best.s.factId, end.on);
  }
  return cut;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
