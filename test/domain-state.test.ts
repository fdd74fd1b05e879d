/**
 * The stream state deciders read (src/domain/state.ts): a clone is O(1) and independent of
 * what it came from, and the FactLog behaves as the Map it replaced (versions in stream
 * order, a new version in its fact's place), whatever the order in which copies evolve.
 */
import t from 'tap';
import { storedFact } from '../events/index.js';
import { FactLog, cloneState, evolveStream, initialStreamState, type StreamEvent, type StreamFact, type StreamState } from '../src/domain/state.js';

const SOURCE = { title: 'S', publisher: 'P' };
const ev = (revision: number, factId: string, type: StreamEvent['type'] = 'DelegateAttended', data: Record<string, unknown> = { n: revision }): StreamEvent => ({ ...storedFact(type, data), revision, factId, source: SOURCE });
const ids = (s: StreamState) => [...s.facts.values()].map((v) => `${v.factId}${v.retractedBy ? '-' : ''}${v.correctedBy ? '*' : ''}`);

t.test('a clone evolves without touching its original, and two clones of one state do not see each other', async (t) => {
  const base = initialStreamState();
  for (let i = 0; i < 5; i++) evolveStream(base, ev(i, `f${i}`));
  const a = cloneState(base);
  const b = cloneState(base);
  evolveStream(a, ev(5, 'a5'));
  evolveStream(a, ev(6, 'c1', 'FactCorrected', { fact: 'f1', data: { n: 'corrected' } }));
  t.same(ids(base), ['f0', 'f1', 'f2', 'f3', 'f4'], 'the original is as it was');
  t.equal(base.facts.get('a5'), undefined);
  t.same(base.facts.get('f1')?.data, { n: 1 });
  t.same(ids(a), ['f0', 'f1*', 'f2', 'f3', 'f4', 'a5', 'c1'], 'a correction keeps its fact in place');
  // b appends where a already appended: it continues on entries of its own.
  evolveStream(b, ev(5, 'b5'));
  evolveStream(b, ev(6, 'r2', 'FactRetracted', { fact: 'f2' }));
  t.same(ids(b), ['f0', 'f1', 'f2-', 'f3', 'f4', 'b5', 'r2']);
  t.equal(b.facts.get('a5'), undefined, 'b does not see what a appended');
  t.same(ids(a), ['f0', 'f1*', 'f2', 'f3', 'f4', 'a5', 'c1'], 'a does not see what b did');
  t.equal(a.facts.size, 7);
  t.equal(base.facts.size, 5);
  // A clone of a clone, and the original evolving after its clones (a cache catching up).
  const a2 = cloneState(a);
  evolveStream(a2, ev(7, 'a7'));
  evolveStream(base, ev(5, 'z5'));
  t.same(ids(base), ['f0', 'f1', 'f2', 'f3', 'f4', 'z5']);
  t.same(ids(a2), ['f0', 'f1*', 'f2', 'f3', 'f4', 'a5', 'c1', 'a7']);
  t.same(ids(a), ['f0', 'f1*', 'f2', 'f3', 'f4', 'a5', 'c1']);
});

t.test('FactLog equals a Map under random interleavings of copies', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  type Pair = { log: FactLog; map: Map<string, StreamFact> };
  const version = (factId: string, n: number): StreamFact => ({ ...storedFact('DelegateAttended', { n }), factId, revision: n, original: { data: storedFact('DelegateAttended', {}).data, source: SOURCE } });
  let pairs: Pair[] = [{ log: FactLog.empty(), map: new Map() }];
  let checks = 0;
  for (let step = 0; step < 5000; step++) {
    const p = pairs[Math.floor(rnd() * pairs.length)] as Pair;
    const r = rnd();
    if (r < 0.2 && pairs.length < 12) pairs.push({ log: p.log.clone(), map: new Map(p.map) });
    else if (r < 0.3 && pairs.length > 1) pairs = pairs.filter((x) => x !== p);
    else {
      // A new fact, or a new version of one of its facts.
      const known = [...p.map.keys()];
      const id = r < 0.45 && known.length ? (known[Math.floor(rnd() * known.length)] as string) : `f${step}`;
      const v = version(id, step);
      p.log.set(id, v);
      p.map.set(id, v);
    }
    for (const x of pairs) {
      if ([...x.log.values()].map((v) => `${v.factId}:${v.revision}`).join() !== [...x.map.values()].map((v) => `${v.factId}:${v.revision}`).join()) throw new Error(`diverged at step ${step}`);
      if (x.log.size !== x.map.size) throw new Error(`size diverged at step ${step}`);
      checks += 1;
    }
  }
  const last = pairs[0] as Pair;
  for (const [id, v] of last.map) t.equal(last.log.get(id), v);
  t.equal(last.log.get('nope'), undefined);
  t.ok(checks > 10_000, `${checks} comparisons with a Map`);
});
