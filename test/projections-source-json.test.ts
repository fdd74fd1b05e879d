/**
 * `sourceJson` (projections/rows.ts): a fact's source as JSON text, made once for the several
 * projections of one fact and the same text `json` makes of it, for each source in turn.
 */
import t from 'tap';
import { PROJECTIONS } from '../projections/registry.js';
import { json, sourceJson } from '../projections/rows.js';
import type { FactVersion } from '../projections/types.js';

t.test('the text json makes, kept for the same object and made again for another', async (t) => {
  const a = { title: 'Gazette', publisher: 'Office' };
  const b = { title: 'Gazette', publisher: 'Other' };
  const first = sourceJson({ source: a });
  t.equal(first, json(a));
  t.equal(sourceJson({ source: a }), first, 'the same object: the same text');
  t.equal(sourceJson({ source: b }), json(b), 'another object: its own text, not the last one');
  t.equal(sourceJson({ source: { ...a } }), json(a), 'an equal object: an equal text');
  t.equal(sourceJson({ source: null }), null);
  t.equal(sourceJson({ source: b }), json(b), 'after null: the object again');
  t.equal(sourceJson({}), null, 'no source: NULL, as json(undefined)');
  t.equal(sourceJson({ source: 'a line' as unknown as null }), '"a line"', 'a string (a log written by hand): quoted');
  t.equal(sourceJson({ source: 7 as unknown as null }), '7');
  // A source JSON cannot write throws, and again when asked again (not the text kept before it).
  const cyclic: Record<string, unknown> = { title: 'loop' };
  cyclic['self'] = cyclic;
  t.throws(() => sourceJson({ source: cyclic as never }), TypeError);
  t.throws(() => sourceJson({ source: cyclic as never }), TypeError, 'again');
  t.equal(sourceJson({ source: a }), json(a));
});

t.test("every projection of a fact writes its source's text", async (t) => {
  const source = { title: 'Minutes', publisher: 'Secretariat', url: 'https://example.org/m/1' };
  const fact = {
    type: 'OfficialAppointed',
    data: { office: '01JOFFICE00000000000000000', person: '01JPERSON00000000000000000', term: { from: '2020-01', to: '2021' }, acting: false },
    factId: '01JFACT0000000000000000000',
    source,
  } as unknown as FactVersion;
  const rows = PROJECTIONS.filter((p) => (p.handles as readonly string[]).includes(fact.type)).flatMap((p) => p.evolve(fact as never));
  t.same(
    rows.map((r) => [r.table, r.row['source']]),
    [
      ['appointments', json(source)],
      ['timeline', json(source)],
    ],
  );
  // Another fact's source after it: its own.
  const other = { ...fact, factId: '01JFACT0000000000000000001', source: { title: 'Register' } } as unknown as FactVersion;
  const again = PROJECTIONS.filter((p) => (p.handles as readonly string[]).includes(other.type)).flatMap((p) => p.evolve(other as never));
  t.same(again.map((r) => r.row['source']), ['{"title":"Register"}', '{"title":"Register"}']);
});
