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
 *
 * "Certainly" is over every reading of the imprecise dates: a first day in [s0, s1] and a last
 * day in [e0, e1], the first never after the last. The terms certainly overlap beyond the
 * handover when no reading leaves them free: one ending before the other begins, or one (begun
 * earlier) ending on the day the other begins. A start is read with its end: `{ from: "2021",
 * to: "2021-01-02" }` surely began by 2021-01-02, so it surely shares days with a term held
 * throughout January 2021 (DESIGN.md's certain overlap, s1 <= q1 and e0 >= q0, for one term
 * against the other's certain days); comparing s1 and e0 alone missed that.
 */
export function certainlyOverlapBeyondHandover(
  a: { from: string; to?: string | null },
  b: { from: string; to?: string | null },
): boolean {
  const x = termBounds(a);
  const y = termBounds(b);
  return !(endsBefore(x, y) || endsBefore(y, x) || handsOver(x, y) || handsOver(y, x));
}

const max = (p: string, q: string): string => (p > q ? p : q);
const min = (p: string, q: string): string => (p < q ? p : q);

/** Some reading has x end before y begins: x's earliest last day (not before its first) before y's latest first day (not after its last). */
function endsBefore(x: TermBounds, y: TermBounds): boolean {
  return max(x.e0, x.s0) < min(y.s1, y.e1);
}

/**
 * Some reading has x end on a day d on which y begins, x begun before d: d within both x's
 * possible last days and y's possible first days, not after y's latest last day, and after
 * x's earliest first day.
 */
function handsOver(x: TermBounds, y: TermBounds): boolean {
  const lo = max(x.e0, y.s0);
  const hi = min(min(x.e1, y.s1), y.e1);
  return lo <= hi && hi > x.s0;
}
