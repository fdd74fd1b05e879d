/**
 * pairEnds (projections/offices/succession.ts) finds each end's start by a binary search over a
 * member's starts sorted once. Its rule is written in the module's head; here it is checked
 * against that rule applied the plain way, a scan of every start for every end, on random
 * changes: partial dates of every precision, starts tied on their first day, positions tied or
 * not, ends that find no start, ends whose start another end already cut.
 */
import t from 'tap';
import { lowerBound, upperBound } from '../events/index.js';
import { pairEnds, type End, type Start } from '../projections/offices/succession.js';
import { prng } from './fixtures/history.js';

/** The rule, by a scan: the start of the same `who` with the greatest (s0, position) among those with s0 <= the end's last day; the first given among equals. */
function byScan(starts: readonly Start[], ends: readonly End[]): Map<string, string> {
  const cut = new Map<string, string>();
  const sorted = [...ends].sort((a, b) => cmp(lowerBound(a.on), lowerBound(b.on)) || cmp(a.position, b.position));
  for (const end of sorted) {
    const hi = upperBound(end.on);
    let best: Start | null = null;
    for (const s of starts) {
      if (s.who !== end.who || lowerBound(s.from) > hi) continue;
      if (best === null || lowerBound(s.from) > lowerBound(best.from) || (lowerBound(s.from) === lowerBound(best.from) && s.position > best.position)) best = s;
    }
    if (best && !cut.has(best.factId)) cut.set(best.factId, end.on);
  }
  return cut;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function date(rnd: () => number): string {
  const y = String(2000 + Math.floor(rnd() * 4));
  const m = String(1 + Math.floor(rnd() * 12)).padStart(2, '0');
  const d = String(1 + Math.floor(rnd() * 28)).padStart(2, '0');
  const p = rnd();
  return p < 0.2 ? y : p < 0.4 ? `${y}-${m}` : `${y}-${m}-${d}`;
}

t.test('pairEnds cuts what a scan of every start for every end cuts', async (t) => {
  let cuts = 0;
  let none = 0;
  let taken = 0;
  let ties = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const rnd = prng(seed);
    const whos = ['ru', 'kg', 'am', 'by'].slice(0, 1 + Math.floor(rnd() * 4));
    const pick = (): string => whos[Math.floor(rnd() * whos.length)] as string;
    // Positions unpadded and drawn from a small range, so that string order differs from
    // numeric order and two changes may share one (the scan keeps the first given).
    const position = (): string => String(Math.floor(rnd() * 40));
    const starts: Start[] = Array.from({ length: Math.floor(rnd() * 30) }, (_, i) => ({ factId: `s${seed}-${i}`, who: pick(), from: date(rnd), position: position() }));
    const ends: End[] = Array.from({ length: Math.floor(rnd() * 30) }, () => ({ who: pick(), on: date(rnd), position: position() }));
    const want = byScan(starts, ends);
    const got = pairEnds(starts, ends);
    if (!t.same([...got].sort(), [...want].sort(), `seed ${seed}`)) break;
    cuts += want.size;
    const noStart = ends.filter((e) => !starts.some((s) => s.who === e.who && lowerBound(s.from) <= upperBound(e.on))).length;
    none += noStart;
    taken += ends.length - want.size - noStart;
    ties += starts.filter((s, i) => starts.some((o, j) => j < i && o.who === s.who && o.position === s.position && lowerBound(o.from) === lowerBound(s.from))).length;
  }
  // The draws reach every case: ends that cut, ends that find no start, ends whose start another
  // end already cut, and starts tied on both first day and position.
  t.ok(cuts > 1000, `${cuts} starts cut`);
  t.ok(none > 300, `${none} ends found no start`);
  t.ok(taken > 300, `${taken} ends found their start already cut`);
  t.ok(ties > 5, `${ties} starts tied with an earlier one (the next test sets one up)`);
});

t.test('of two starts equal in first day and position, the first given is cut', async (t) => {
  const starts: Start[] = [
    { factId: 'a', who: 'ru', from: '2001', position: '7' },
    { factId: 'b', who: 'ru', from: '2001-01-01', position: '7' },
  ];
  t.same([...pairEnds(starts, [{ who: 'ru', on: '2002', position: '9' }])], [['a', '2002']]);
  t.same([...pairEnds([...starts].reverse(), [{ who: 'ru', on: '2002', position: '9' }])], [['b', '2002']]);
});
