/**
 * Pairing starts with ends (appointments with departures, memberships started with ended),
 * pure so that the oracle of the property test and the queries agree on one written rule:
 *
 * An end `{ who, on }` cuts the start of the same `who` that began latest (greatest first
 * possible day s0, then latest recorded) among those that may have begun by `on`
 * (s0 <= last day of `on`); the start's term then ends on `on`. Ends are taken earliest
 * first (by the first possible day of `on`, then recorded order); an end whose start was
 * already cut, or that finds none, cuts nothing.
 */
import { lowerBound, upperBound } from '../../events/index.js';

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

/** factId of each cut start → its new last day. */
export function pairEnds(starts: readonly Start[], ends: readonly End[]): Map<string, string> {
  const cut = new Map<string, string>();
  const s0Of = new Map<Start, string>();
  for (const s of starts) s0Of.set(s, lowerBound(s.from));
  const sortedEnds = [...ends].sort((a, b) => cmp(lowerBound(a.on), lowerBound(b.on)) || cmp(a.position, b.position));
  for (const end of sortedEnds) {
    const hi = upperBound(end.on);
    let best: Start | null = null;
    let bestS0 = '';
    for (const s of starts) {
      if (s.who !== end.who) continue;
      const s0 = s0Of.get(s) as string;
      if (s0 > hi) continue;
      if (best === null || s0 > bestS0 || (s0 === bestS0 && s.position > best.position)) {
        best = s;
        bestS0 = s0;
      }
    }
    if (best && !cut.has(best.factId)) cut.set(best.factId, end.on);
  }
  return cut;
}

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
