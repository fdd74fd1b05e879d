/**
 * Terms `{ from, to? }` (both ends inclusive; no `to`: open as known) and the overlap rules
 * of DESIGN.md, "Two time axes": with partial dates read as intervals of days, a term's start
 * is [s0, s1] and its end [e0, e1] (an open end is +infinity).
 */
import { z } from 'zod';
import { OPEN_END, PartialDate, isPartialDate, lowerBound, upperBound } from './partial-date.js';

export const Term = z
  .strictObject({
    from: PartialDate,
    to: PartialDate.nullish().describe('Last day (inclusive); absent or null: open as known'),
  })
  .superRefine((term, ctx) => {
    if (term.to == null) return;
    // zod runs this refinement even when `from` or `to` already failed: a bad date is
    // reported by its own field, not thrown from lowerBound/upperBound here (a 500).
    if (!isPartialDate(term.from) || !isPartialDate(term.to)) return;
    // Only a `to` that surely lies before `from` is self-contradictory.
    if (upperBound(term.to) < lowerBound(term.from)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `the term ends (${term.to}) before it begins (${term.from})` });
    }
  });
export type Term = z.infer<typeof Term>;

export interface TermBounds {
  s0: string;
  s1: string;
  e0: string;
  e1: string;
}

export function termBounds(term: { from: string; to?: string | null }): TermBounds {
  const open = term.to == null;
  return {
    s0: lowerBound(term.from),
    s1: upperBound(term.from),
    e0: open ? OPEN_END : lowerBound(term.to as string),
    e1: open ? OPEN_END : upperBound(term.to as string),
  };
}

export type Certainty = 'certain' | 'possible';

/** How surely a term overlaps the days of a partial date (or a [q0, q1] day interval). */
export function overlap(
  term: { from: string; to?: string | null },
  query: string | { q0: string; q1: string },
): Certainty | null {
  const { s0, s1, e0, e1 } = termBounds(term);
  const q0 = typeof query === 'string' ? lowerBound(query) : query.q0;
  const q1 = typeof query === 'string' ? upperBound(query) : query.q1;
  if (s1 <= q1 && e0 >= q0) return 'certain';
  if (s0 <= q1 && e1 >= q0) return 'possible';
  return null;
}

/**
 * True when two terms certainly share a day that is not a handover. The one day two terms may
 * surely share is the handover: one term ends the day the other begins (real successions are
 * recorded that way). Any other certainly shared day — more than one, or a single day inside
 * the other term — is refused; an overlap that only imprecise dates make possible is allowed.
 */
export function certainlyOverlapBeyondHandover(
  a: { from: string; to?: string | null },
  b: { from: string; to?: string | null },
): boolean {
  const x = termBounds(a);
  const y = termBounds(b);
  const latestStart = x.s1 > y.s1 ? x.s1 : y.s1;
  const earliestEnd = x.e0 < y.e0 ? x.e0 : y.e0;
  if (latestStart < earliestEnd) return true;
  if (latestStart > earliestEnd) return false;
  // Exactly one day d is surely shared: allowed only when one term, begun before d, ends on d
  // and the other begins on d.
  const d = latestStart;
  const handover = (x.e0 === d && x.s0 < d && y.s1 === d) || (y.e0 === d && y.s0 < d && x.s1 === d);
  return !handover;
}
