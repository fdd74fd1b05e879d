/**
 * Reads see every write that was answered: the read snapshot (one read transaction per turn
 * of the event loop, projections/query-context.ts) ends when the runner applies events, so a
 * read right after a write's answer reads the new state. Every answer without knownAt is
 * compared with the same question asked with the knownAt it echoed.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';

const source = { title: 'Test', publisher: 'Annals' };

t.test('reads without knownAt see each answered write, and equal reads at the knownAt they echo', async (t) => {
  const { app, auth } = await startTestApp(t);
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

  /** The answer now (no knownAt) and the one at the knownAt it echoed must agree. */
  const holders = async (office: string, validAt: string): Promise<string[]> => {
    const current = (await app.inject({ url: `/v1/offices/${office}/holder?validAt=${validAt}` })).json() as { knownAt: string; holders: { person: { key: string; name: string }; basis: string }[] };
    const pinned = (await app.inject({ url: `/v1/offices/${office}/holder?validAt=${validAt}&knownAt=${current.knownAt}` })).json() as typeof current;
    t.same(current.holders, pinned.holders, `${office} on ${validAt}: the answer now equals the one at its knownAt`);
    return current.holders.map((h) => `${h.person.key}:${h.person.name}:${h.basis}`);
  };

  t.same(await holders('a', '2021-01-01'), ['p1:Person p1:appointed']);
  t.same(await holders('b', '2021-01-01'), ['p2:Person p2:appointed']);

  await post('OfficialLeftOffice', { office: 'a', person: 'p1', on: '2020-12-31' });
  t.same(await holders('a', '2021-01-01'), [], 'the departure is seen at once');
  t.same(await holders('b', '2021-01-01'), ['p2:Person p2:appointed'], 'B unchanged');

  await post('PersonRegistered', { key: 'p4', name: 'Person p4' });
  const session = await post('SessionHeld', { key: 's1', body: 'org', held: { from: '2021-03-01' } });
  t.ok(session.id);
  await post('DelegateAttended', { session: 's1', person: 'p3', office: 'a' });
  t.same(await holders('a', '2021-03-01'), ['p3:Person p3:attested'], 'an attestation in A is seen');

  // A correction of a person (not an office fact) changes how B's holder is shown.
  const people = (await app.inject({ url: '/v1/people/p2' })).json() as { person: { factId: string } };
  await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'FactCorrected', data: { fact: people.person.factId, data: { key: 'p2', name: 'Person Two' }, reason: 'spelling' }, source } });
  t.same(await holders('b', '2021-01-01'), ['p2:Person Two:appointed'], 'a correction of a person shows in the views');

  await post('FactRetracted', { fact: p2App.factId, reason: 'recorded in error' });
  t.same(await holders('b', '2021-01-01'), [], 'a retraction too');
});
