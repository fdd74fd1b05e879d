/**
 * The read API over the real app (recorder, runtime, read models on a real SQLite file): the
 * bundled press-release facts, recorded through POST /v1/facts/batch, then read back on both
 * time axes; corrections over HTTP; 400s, 404s, read-your-writes and its 503.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';

const EXAMPLE = readFileSync(new URL('../src/example/csto-2025-11-27.ndjson', import.meta.url), 'utf8');
const APPOINTMENT = (EXAMPLE.trim().split('\n').map((l) => JSON.parse(l) as { type: string; factId: string }).find((f) => f.type === 'OfficialAppointed') as { factId: string }).factId;

t.test('the example, read back', async (t) => {
  const { app, auth } = await startTestApp(t, { store: 'memory' });
  const rec = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: EXAMPLE });
  t.equal(rec.statusCode < 300, true, rec.body.slice(0, 300));
  const get = async (url: string) => {
    const r = await app.inject({ url });
    return { status: r.statusCode, body: r.json() as Record<string, any>, headers: r.headers };
  };

  const holder = await get('/v1/offices/csto-secretary-general/holder?validAt=2026-06');
  t.equal(holder.status, 200);
  t.equal(holder.body.validAt, '2026-06');
  t.match(holder.body.knownAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  t.same(holder.body.office.key, 'csto-secretary-general');
  t.same(holder.body.holders.map((h: any) => [h.person.key, h.certainty, h.basis, h.term]), [['taalatbek-masadykov', 'certain', 'appointed', { from: '2026-01-01', to: '2028-12-31' }]]);

  const attested = await get('/v1/offices/csto-secretary-general/holder?validAt=2025-11-27');
  t.same(attested.body.holders.map((h: any) => [h.person.key, h.basis, h.capacity]), [['imangali-tasmagambetov', 'attested', 'report']], 'the report attests the Secretary-General on the session day');
  const chairAttest = await get('/v1/offices/kg-president/holder?validAt=2025-11-27');
  t.same(chairAttest.body.holders.map((h: any) => [h.person.key, h.basis, h.capacity]), [['sadyr-japarov', 'attested', 'chair']]);
  const succession = await get('/v1/offices/csto-secretary-general/holders');
  t.same(succession.body.holders.map((h: any) => h.person.key), ['imangali-tasmagambetov', 'taalatbek-masadykov'], 'ordered by term.from');

  const chair = await get('/v1/organizations/csto/chair?validAt=2026');
  t.same(chair.body.chairs.map((c: any) => [c.state.key, c.certainty]), [['ru', 'certain']]);
  t.same((await get('/v1/organizations/csto/chair?validAt=2025')).body.chairs, []);
  const chairPossible = await get('/v1/organizations/csto/chair?validAt=2025-12-31');
  t.same(chairPossible.body.chairs, []);

  const docs = await get('/v1/documents?organization=csto');
  t.equal(docs.status, 200);
  t.same(docs.body.documents.map((d: any) => [d.key, d.status]).sort(), [
    ['csto-anti-drug-strategy-2026-2030', 'considered'],
    ['csto-collective-security-council-declaration-2025-11-27', 'adopted'],
    ['csto-military-cooperation-plan-2026-2030', 'considered'],
  ]);
  const considered = docs.body.documents.find((d: any) => d.status === 'considered');
  t.equal(considered.adoptedOn, null);
  t.equal(considered.effective, null);
  const declaration = docs.body.documents.find((d: any) => d.status === 'adopted');
  t.same(declaration.effective, { from: '2025-11-27', to: null });
  const inForce = await get('/v1/documents?organization=csto&validAt=2027');
  t.same(inForce.body.documents.map((d: any) => d.key), ['csto-collective-security-council-declaration-2025-11-27']);

  const sessions = await get('/v1/sessions?organization=csto');
  t.equal(sessions.body.sessions.length, 1);
  const s = sessions.body.sessions[0];
  t.equal(s.body.key, 'csto-collective-security-council');
  t.same(s.held, { from: '2025-11-27', to: null });
  t.same(s.place.city, 'Bishkek');
  t.equal(s.place.country.key, 'kg');
  t.equal(s.chairedBy.person.key, 'sadyr-japarov');
  t.same(s.attendees.map((a: any) => [a.person.key, a.representing.key, a.office.key]), [['igor-petrishenko', 'cis', 'cis-first-deputy-secretary-general']]);
  t.equal(s.reports.length, 1);
  t.equal(s.documents.length, 3);
  t.equal(s.talks.length, 1);
  t.same(s.talks[0].participants.map((p: any) => p.person?.key ?? p.organization?.key), ['igor-petrishenko', 'csto', 'sco']);
  t.same((await get('/v1/sessions?organization=csto&validAt=2024')).body.sessions, []);
  t.equal((await get(`/v1/sessions/${s.id}`)).body.session.key, s.key);

  const org = await get('/v1/organizations/csto');
  t.same(org.body.organization.bodies.map((b: any) => b.key), ['csto-collective-security-council']);
  t.same(org.body.organization.offices.map((o: any) => o.key), ['csto-secretary-general']);
  const orgs = await get('/v1/organizations?classification=state');
  t.same(orgs.body.organizations.map((o: any) => o.key).sort(), ['kg', 'ru']);
  const page1 = await get('/v1/organizations?limit=3');
  t.equal(page1.body.organizations.length, 3);
  t.ok(page1.body.nextCursor);
  const page2 = await get(`/v1/organizations?limit=3&cursor=${page1.body.nextCursor}`);
  t.notSame(page2.body.organizations[0].id, page1.body.organizations[0].id);

  const people = await get(`/v1/people?q=${encodeURIComponent('жапаров')}`);
  t.same(people.body.people.map((p: any) => p.key), ['sadyr-japarov'], 'search across aliases and scripts');
  t.same((await get('/v1/people?q=ZHAPAROV')).body.people.map((p: any) => p.key), ['sadyr-japarov']);
  const person = await get('/v1/people/taalatbek-masadykov');
  t.same(person.body.person.roles.map((r: any) => [r.office.key, r.organization.key]), [['csto-secretary-general', 'csto']]);

  const tl = await get('/v1/timeline?organization=csto&from=2025&to=2026');
  t.equal(tl.status, 200);
  t.ok(tl.body.facts.length >= 5);
  const lows = tl.body.facts.map((f: any) => f.date.from);
  t.same(lows, [...lows].sort(), 'valid-time order');
  t.same((await get('/v1/timeline?organization=csto&from=2030')).body.facts, []);
  const offices = await get('/v1/offices?organization=cis');
  t.same(offices.body.offices.map((o: any) => o.key), ['cis-first-deputy-secretary-general']);
});

t.test('corrections, retractions, knownAt, minPosition, 400 and 404', async (t) => {
  const clock = manualClock();
  const { app, auth, runtime } = await startTestApp(t, { store: 'memory', clock: clock.now });
  await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: EXAMPLE });
  const post = async (payload: object) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload });
    t.equal(r.statusCode, 201, r.body.slice(0, 400));
    return r.json() as { factId: string; position: string; recordedAt: string };
  };
  const source = { title: 'test' };
  const before = clock.iso();
  clock.advance();
  const fix = await post({ type: 'FactCorrected', data: { fact: APPOINTMENT, data: { office: 'csto-secretary-general', person: 'taalatbek-masadykov', term: { from: '2026-01-01', to: '2027-12-31' } }, reason: 'typo' }, source });
  const now = await app.inject({ url: `/v1/offices/csto-secretary-general/holders?minPosition=${fix.position}` });
  t.equal(now.statusCode, 200);
  const items = (now.json() as any).holders.filter((h: any) => h.basis === 'appointed');
  t.same(items[0].term, { from: '2026-01-01', to: '2027-12-31' }, 'the corrected version is known now');
  const old = await app.inject({ url: `/v1/offices/csto-secretary-general/holders?knownAt=${before}` });
  t.same((old.json() as any).holders.filter((h: any) => h.basis === 'appointed')[0].term, { from: '2026-01-01', to: '2028-12-31' }, 'the old version is what was known before');
  t.equal((await app.inject({ url: `/v1/offices/csto-secretary-general/holder?validAt=2028&knownAt=${fix.recordedAt}` })).json().holders.length, 0);

  const gone = await post({ type: 'FactRetracted', data: { fact: APPOINTMENT, reason: 'wrong' }, source });
  t.same((await app.inject({ url: `/v1/offices/csto-secretary-general/holder?validAt=2026&minPosition=${gone.position}` })).json().holders, []);
  t.equal((await app.inject({ url: `/v1/offices/csto-secretary-general/holder?validAt=2026&knownAt=${before}` })).json().holders.length, 1, 'still visible to auditors');

  const bad = await app.inject({ url: '/v1/offices/csto-secretary-general/holder?validAt=2026-13' });
  t.equal(bad.statusCode, 400);
  t.match(bad.headers['content-type'], /application\/problem\+json/);
  t.match(bad.json(), { status: 400, errors: [{ path: /validAt/ }] });
  const badK = await app.inject({ url: '/v1/offices/csto-secretary-general/holder?knownAt=yesterday' });
  t.equal(badK.statusCode, 400);
  t.match(JSON.stringify(badK.json().errors), /knownAt/);
  t.equal((await app.inject({ url: '/v1/offices/no-such-office/holder' })).statusCode, 404);
  t.equal((await app.inject({ url: '/v1/documents?organization=nope' })).statusCode, 404);
  t.equal((await app.inject({ url: '/v1/offices/csto-secretary-general/holder?knownAt=2000-01-01T00:00:00.000Z' })).statusCode, 404, 'an office not yet known at knownAt is unknown');

  const ahead = await app.inject({ url: '/v1/offices/csto-secretary-general/holder?minPosition=99999999999999999999' });
  t.equal(ahead.statusCode, 503);
  t.equal(ahead.headers['retry-after'], '1');

  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.equal(runtime.readModels.readiness().ready, true);
});

t.test('audit and admin need an auditor or admin; audit streams NDJSON', async (t) => {
  const { app, auth } = await startTestApp(t, { store: 'memory' });
  await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: EXAMPLE });
  t.equal((await app.inject({ url: '/v1/audit/events' })).statusCode, 401);
  t.equal((await app.inject({ url: '/v1/audit/events', headers: auth('recorder') })).statusCode, 403);
  const res = await app.inject({ url: '/v1/audit/events', headers: auth('auditor') });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/x-ndjson/);
  const lines = res.body.trim().split('\n').map((l) => JSON.parse(l));
  t.ok(lines.length >= 23);
  t.ok(lines.some((l) => l.type === 'KeyReserved'), 'bookkeeping events appear too');
  t.same(Object.keys(lines[0]), ['position', 'id', 'stream', 'revision', 'type', 'factId', 'recordedAt', 'data', 'metadata']);
  const positions = lines.map((l) => l.position);
  t.same(positions, [...positions].sort(), 'global order');
  const early = await app.inject({ url: '/v1/audit/events?knownAt=2000-01-01T00:00:00.000Z', headers: auth('admin') });
  t.equal(early.body, '');
  t.equal((await app.inject({ url: '/v1/audit/events?knownAt=nope', headers: auth('admin') })).statusCode, 400);

  const status = await app.inject({ url: '/v1/admin/projections', headers: auth('admin') });
  t.equal(status.statusCode, 200);
  t.match(status.json(), { lag: { events: 0, seconds: 0 }, parked: { count: 0 }, caughtUpOnce: true });
  const rebuilt = await app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: auth('admin') });
  t.equal(rebuilt.statusCode, 200);
  t.equal(rebuilt.json().events, lines.length);
  t.equal((await app.inject({ url: '/v1/offices/csto-secretary-general/holder?validAt=2026' })).json().holders.length, 1, 'answers after the swap');
});
