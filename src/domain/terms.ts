/**
 * The single-holder rule, shared by offices and chairmanships: at most one holder a day,
 * except the handover day (one term ends the day the next begins). A term that certainly
 * overlaps another beyond that day is refused; one that only imprecise dates make possibly
 * overlapping is accepted (events/term.ts, certainlyOverlapBeyondHandover).
 */
import { certainlyOverlapBeyondHandover, type Term } from '../../events/index.js';
import { conflict } from './decide.js';

export interface HeldTerm {
  readonly factId: string;
  /** Who held it: a person id (offices) or a state id (chairmanships). */
  readonly holder: string;
  readonly term: Term;
}

/**
 * Throws a 409 naming the first term (in stream order) that `candidate` certainly overlaps.
 * `was`: the terms as they stood before the change, by factId. A pair that already certainly
 * overlapped there is not the change's doing: a record kept before the rule was read with each
 * start bounded by its end (session 46) may hold one, and it must stay correctable (a departure
 * that shortens one of the two, a source put right) rather than blocked by what it inherited.
 */
export function refuseOverlap(candidate: HeldTerm, others: readonly HeldTerm[], what: string, was?: ReadonlyMap<string, Term>): void {
  const mine = was?.get(candidate.factId);
  for (const other of others) {
    if (other.factId === candidate.factId) continue;
    if (!certainlyOverlapBeyondHandover(candidate.term, other.term)) continue;
    const theirs = was?.get(other.factId);
    if (mine !== undefined && theirs !== undefined && certainlyOverlapBeyondHandover(mine, theirs)) continue;
    const span = (t: Term): string => `${t.from}..${t.to ?? 'open'}`;
    throw conflict(
      `the term ${span(candidate.term)} overlaps beyond the handover day the ${what} term ${span(other.term)} of ${other.holder} (fact ${other.factId})`,
      other.factId,
    );
  }
}
