/**
 * Departures as read (events/departures.ts, the rule the write side decides by): the repro
 * histories over the real app (refused now, and the reads of what was accepted), and logs
 * recorded before the fix (a second departure of one term, a departure after the scheduled
 * end), which the read side reads by the same rule: such a departure cuts nothing, and a
 * departure only ever shortens a term.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { TestLog, startReadApp } from './fixtures/history.js';

async function post(a: TestApp, payload: unknown, url = '/v1/facts') {
  const res = await a.app.inject({ method: 'POST', url, headers: a.auth('recorder'), payload: payload as object });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

async function get(app: FastifyInstance, url: string) {
  const r = await app.inject({ url });
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
  return r.json() as Record<string, any>;
}

const terms = (body: Record<string, any>): string[] => body['holders'].map((h: any) => `${h.term.from}..${h.term.to ?? 'open'}`);

t.test('over HTTP: a second departure of one term is refused; the term as read is the term the write side checks against', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const ground = await post(a, f.officeGround('t2'), '/v1/facts/batch');
  t.equal(ground.body['recorded'], 4);
  t.equal((await post(a, f.appointed('t2-sg', 't2-alice', { from: '2000-01-01', to: '2004-12-31' }))).status, 201);
  const second = await post(a, f.appointed('t2-sg', 't2-alice', { from: '2005-01-01', to: '2009-12-31' }));
  t.equal(second.status, 201);
  const d1 = await post(a, f.leftOffice('t2-sg', 't2-alice', '2008-06-01'));
  t.equal(d1.status, 201);
  const d2 = await post(a, f.leftOffice('t2-sg', 't2-alice', '2009-01-01'));
  t.equal(d2.status, 409, 'the latest-begun term is already ended');
  t.equal(d2.body['collidesWith'], d1.body['factId'], 'names the earlier departure');
  t.match(d2.body['detail'], d1.body['factId']);
  t.same(terms(await get(a.app, '/v1/offices/t2-sg/holders')), ['2000-01-01..2004-12-31', '2005-01-01..2008-06-01']);
  const bob = await post(a, f.appointed('t2-sg', 't2-bob', { from: '2008-07-01', to: '2008-08-01' }));
  t.equal(bob.status, 201, 'a term after the departure, in the vacancy the read shows, is accepted');
  const h = await get(a.app, '/v1/offices/t2-sg/holder?validAt=2008-07-15');
  t.same(h['holders'].map((x: any) => x.person.key), ['t2-bob']);
});

t.test('over HTTP: a departure after the scheduled end is refused; the term is not lengthened', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  await post(a, f.officeGround('u'), '/v1/facts/batch');
  const appt = await post(a, f.appointed('u-sg', 'u-alice', { from: '2010-01-01', to: '2015-12-31' }));
  const late = await post(a, f.leftOffice('u-sg', 'u-alice', '2019-12-31'));
  t.equal(late.status, 409);
  t.equal(late.body['collidesWith'], appt.body['factId'], 'names the appointment');
  t.same((await get(a.app, '/v1/offices/u-sg/holder?validAt=2018'))['holders'], []);
  const onSchedule = await post(a, f.leftOffice('u-sg', 'u-alice', '2015-12-31'));
  t.equal(onSchedule.status, 201, 'on schedule is accepted');
  t.same(terms(await get(a.app, '/v1/offices/u-sg/holders')), ['2010-01-01..2015-12-31']);
});

function ground(log: TestLog): { office: string; alice: string } {
  const org = log.record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }).metadata['factId'] as string;
  const office = log.record('OfficeEstablished', { key: 'sg', organization: org, title: 'Secretary-General', multipleHolders: false }).metadata['factId'] as string;
  const alice = log.record('PersonRegistered', { key: 'alice', name: 'Alice' }).metadata['factId'] as string;
  return { office, alice };
}

t.test('a log recorded before the fix: the second departure of one term cuts nothing', async (t) => {
  const log = new TestLog();
  const { office, alice } = ground(log);
  log.record('OfficialAppointed', { office, person: alice, term: { from: '2000-01-01', to: '2004-12-31' }, acting: false });
  log.record('OfficialAppointed', { office, person: alice, term: { from: '2005-01-01', to: '2009-12-31' }, acting: false });
  log.record('OfficialLeftOffice', { office, person: alice, on: '2008-06-01' });
  log.record('OfficialLeftOffice', { office, person: alice, on: '2009-01-01' });
  const { app, readModels } = await startReadApp(t, log);
  await readModels.caughtUp();
  t.same(terms(await get(app, `/v1/offices/${office}/holders`)), ['2000-01-01..2004-12-31', '2005-01-01..2008-06-01']);
  t.same((await get(app, `/v1/offices/${office}/holder?validAt=2008-07`))['holders'], []);
});

t.test('a log recorded before the fix: a departure after the scheduled end cuts nothing; one possibly after it keeps `to`', async (t) => {
  const log = new TestLog();
  const { office, alice } = ground(log);
  log.record('OfficialAppointed', { office, person: alice, term: { from: '2010-01-01', to: '2015-12-31' }, acting: false });
  const late = log.record('OfficialLeftOffice', { office, person: alice, on: '2019-12-31' });
  log.record('OfficialAppointed', { office, person: alice, term: { from: '2020-01-01', to: '2020-06-30' }, acting: false });
  log.record('OfficialLeftOffice', { office, person: alice, on: '2020' });
  const { app, readModels } = await startReadApp(t, log);
  await readModels.caughtUp();
  t.same((await get(app, `/v1/offices/${office}/holder?validAt=2018`))['holders'], []);
  t.same(terms(await get(app, `/v1/offices/${office}/holders`)), ['2010-01-01..2015-12-31', '2020-01-01..2020-06-30'], 'only ever shortened');
  const beforeFix = new Date(Date.parse(log.events.at(-1)?.recordedAt as string) + 500).toISOString();
  // A correction re-matches as of its knownAt: the departure moved inside the term now cuts it.
  const c = log.record('FactCorrected', { fact: late.metadata['factId'], data: { office, person: alice, on: '2014-03-31' }, reason: 'misread' });
  t.ok(await readModels.waitFor(c.position, 5000), 'the correction is applied');
  t.same(terms(await get(app, `/v1/offices/${office}/holders`)), ['2010-01-01..2014-03-31', '2020-01-01..2020-06-30']);
  t.same(terms(await get(app, `/v1/offices/${office}/holders?knownAt=${beforeFix}`)), ['2010-01-01..2015-12-31', '2020-01-01..2020-06-30'], 'as known before the correction');
});
