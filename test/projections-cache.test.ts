/**
 * The cache of the current record (holder reads without knownAt) is dropped per office:
 * an event naming an office drops that office's succession, a correction or retraction drops
 * everything, other facts drop nothing. Every answer below is compared with the same
 * question asked with an explicit knownAt (never cached), so a stale cache shows.
 */
import t from 'tap';
import type { LogEvent } from '../projections/db.js';
import { officesTouched } from '../projections/invalidation.js';
import { startTestApp } from './fixtures/app.js';

const source = { title: 'Test', publisher: 'Annals' };
const A = '01KB19R500CACHE0000000000A';
const B = '01KB19R500CACHE0000000000B';

function ev(type: string, data: Record<string, unknown>): LogEvent {
  return { id: 'x', stream: 's', revision: 0, position: '1', type, data, metadata: {}, recordedAt: '2026-01-01T00:00:00.000Z' };
}

t.test('officesTouched: which successions a batch may change', async (t) => {
  t.same([...(officesTouched([ev('OfficialAppointed', { office: A }), ev('OfficialLeftOffice', { office: B })]) as Set<string>)], [A, B]);
  t.same([...(officesTouched([ev('DelegateAttended', { session: 's', person: 'p', office: A }), ev('ReportDelivered', { office: B })]) as Set<string>)], [A, B]);
  t.same([...(officesTouched([ev('SessionHeld', { chairedBy: { person: 'p', office: A } })]) as Set<string>)], [A]);
  t.same([...(officesTouched([ev('DelegateAttended', { session: 's', person: 'p' }), ev('SessionHeld', {}), ev('PersonRegistered', {}), ev('KeyReserved', {}), ev('DocumentAdopted', {})]) as Set<string>)], [], 'nothing an office succession shows');
  t.equal(officesTouched([ev('OfficialAppointed', { office: A }), ev('FactCorrected', { fact: A })]), 'all', 'a correction could change anything');
  t.equal(officesTouched([ev('FactRetracted', { fact: A })]), 'all');
  t.equal(officesTouched([ev('SomethingNew', {})]), 'all', 'an unknown type');
  t.equal(officesTouched([ev('OfficialAppointed', { office: 'a-key' })]), 'all', 'a reference that is not an id');
});

t.test('holder reads from the cache stay equal to uncached reads across writes', async (t) => {
  const { app, auth, runtime } = await startTestApp(t);
  const cachedRefs = () => [...(runtime.readModels.queries as unknown as { current: Map<string, unknown> }).current.keys()].sort();
  const post = async (type: string, data: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type, data, source } });
    t.equal(res.statusCode, 201, `${type}: ${res.body}`);
    return res.json() as { factId: string; id?: string };
  };
  await post('OrganizationRegistered', { key: 'org', name: 'Org' });
  await post('OfficeEstablished', { key: 'a', organization: 'org', title: 'Office A' });
  await post('OfficeEstablished', { key: 'b', organization: 'org', title: 'Office B' });
  for (const p of ['p1', 'p2', 'p3']) await post('PersonRegistered', { key: p, name: `Person ${p}` });
  await post('OfficialAppointed', { office: 'a', person: 'p1', term: { from: '2020-01-01' } });
  const p2App = await post('OfficialAppointed', { office: 'b', person: 'p2', term: { from: '2020-01-01' } });

  /** The cached answer (no knownAt) and the uncached one (knownAt now) must agree. */
  const holders = async (office: string, validAt: string): Promise<string[]> => {
    const cached = (await app.inject({ url: `/v1/offices/${office}/holder?validAt=${validAt}` })).json() as { knownAt: string; holders: { person: { key: string; name: string }; basis: string }[] };
    const fresh = (await app.inject({ url: `/v1/offices/${office}/holder?validAt=${validAt}&knownAt=${cached.knownAt}` })).json() as typeof cached;
    t.same(cached.holders, fresh.holders, `${office} on ${validAt}: the cached answer equals the uncached one`);
    return cached.holders.map((h) => `${h.person.key}:${h.person.name}:${h.basis}`);
  };

  t.same(await holders('a', '2021-01-01'), ['p1:Person p1:appointed']);
  t.same(await holders('b', '2021-01-01'), ['p2:Person p2:appointed']);

  t.same(cachedRefs(), ['a', 'b']);
  await post('OfficialLeftOffice', { office: 'a', person: 'p1', on: '2020-12-31' });
  t.same(cachedRefs(), ['b'], "only A's succession was dropped");
  t.same(await holders('a', '2021-01-01'), [], 'A changed: its cached succession was dropped');
  t.same(await holders('b', '2021-01-01'), ['p2:Person p2:appointed'], 'B unchanged');

  await post('PersonRegistered', { key: 'p4', name: 'Person p4' });
  t.same(cachedRefs(), ['a', 'b'], 'a new person drops nothing');
  const session = await post('SessionHeld', { key: 's1', body: 'org', held: { from: '2021-03-01' } });
  t.ok(session.id);
  await post('DelegateAttended', { session: 's1', person: 'p3', office: 'a' });
  t.same(await holders('a', '2021-03-01'), ['p3:Person p3:attested'], 'an attestation in A is seen');

  // A correction of a person (not an office fact) changes how B's holder is shown.
  const people = (await app.inject({ url: '/v1/people/p2' })).json() as { person: { factId: string } };
  await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'FactCorrected', data: { fact: people.person.factId, data: { key: 'p2', name: 'Person Two' }, reason: 'spelling' }, source } });
  t.same(await holders('b', '2021-01-01'), ['p2:Person Two:appointed'], 'a correction drops every cached succession');

  await post('FactRetracted', { fact: p2App.factId, reason: 'recorded in error' });
  t.same(await holders('b', '2021-01-01'), [], 'a retraction too');
});
