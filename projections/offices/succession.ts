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

/**
 * factId of each cut start → its new last day. Each `who`'s changes are paired on their own.
 * A `who`'s starts are sorted once by (s0, position), so an end finds the latest start that may
 * have begun by it by a binary search: O((starts + ends) log starts), where a scan of every start
 * for every end made one state's ~980 starts and ~980 ends ~1 million comparisons (an
 * organization's page of members on the 1,000,000-fact record paired ten such states).
 */
export function pairEnds(starts: readonly Start[], ends: readonly End[]): Map<string, string> {
  const cut = new Map<string, string>();
  const byWho = new Map<string, Candidate[]>();
  starts.forEach((s, i) => {
    const list = byWho.get(s.who);
    const entry = { s, s0: lowerBound(s.from), i };
    if (list) list.push(entry);
    else byWho.set(s.who, [entry]);
  });
  // Ascending by (s0, position); of two equal in both the first given sorts last, as the scan kept the first.
  for (const list of byWho.values()) list.sort((a, b) => cmp(a.s0, b.s0) || cmp(a.s.position, b.s.position) || b.i - a.i);
  const sortedEnds = ends.map((e) => ({ e, lo: lowerBound(e.on) })).sort((a, b) => cmp(a.lo, b.lo) || cmp(a.e.position, b.e.position));
  for (const { e: end } of sortedEnds) {
    const best = latestBy(byWho.get(end.who), upperBound(end.on));
    if (best && !cut.has(best.s.factId)) cut.set(best.s.factId, end.on);
  }
  return cut;
}

interface Candidate {
  readonly s: Start;
  readonly s0: string;
  /** The start's place in pairEnds' input. */
  readonly i: number;
}

/** The last of `sorted` whose s0 is at most `hi`: the greatest (s0, position) that may have begun by then. */
function latestBy(sorted: readonly Candidate[] | undefined, hi: string): Candidate | null {
  if (!sorted) return null;
  let lo = 0;
  let n = sorted.length;
  while (lo < n) {
    const mid = (lo + n) >>> 1;
    if ((sorted[mid] as Candidate).s0 <= hi) lo = mid + 1;
    else n = mid;
  }
  return lo === 0 ? null : (sorted[lo - 1] as Candidate);
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
