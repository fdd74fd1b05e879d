/**
 * Wrong answers found by session 45's review (test/projections-edges-property.test.ts on the
 * histories of test/fixtures/edge-history.ts), each as the smallest history that shows it, on
 * the real read-model file through the real app.
 */
import t from 'tap';
import { join } from 'node:path';
import { namedLog, sameAsRebuilt, startReadApp } from './fixtures/history.js';
import { membersWhole } from '../projections/organizations/queries.js';
import type { ReadQueries } from '../projections/queries.js';

type Json = Record<string, any>;

t.test("a correction keeps a membership's place in recording order: one that changes only the reason cuts no other membership", async (t) => {
  // Two starts of one member on days that may be the same (the write side accepts them: only
  // imprecise dates make them overlap) and one end: the end closes the start recorded later
  // (pairEnds: greatest first day, then latest recorded). A correction of the first start's
  // reason alone must not make it the later recorded one.
  const { log, ids, at, put } = namedLog();
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  put('x', 'OrganizationRegistered', { key: 'x', name: 'State X', classification: 'state' });
  put('s1', 'MembershipStarted', { organization: ids['org'], member: ids['x'], on: '2001' });
  put('s2', 'MembershipStarted', { organization: ids['org'], member: ids['x'], on: '2001-01' });
  put('end', 'MembershipEnded', { organization: ids['org'], member: ids['x'], on: '2002' });
  put('fix', 'FactCorrected', { fact: ids['s1'], data: { organization: ids['org'], member: ids['x'], on: '2001', reason: 'founding member' }, reason: 'the reason was missing' });
  const { app, readModels } = await startReadApp(t, log);
  await readModels.caughtUp();
  const members = async (k: string) => ((await app.inject({ url: `/v1/organizations/${ids['org']}/members?knownAt=${k}` })).json() as Json)['members'].map((m: Json) => `${m.factId === ids['s1'] ? 's1' : 's2'}:${m.term.from}..${m.term.to}`);
  const expected = ['s1:2001..null', 's2:2001-01..2002'];
  t.same(await members(at['end'] as string), expected, 'before the correction: the end closes the start recorded later');
  t.same(await members(at['fix'] as string), expected, 'after it: the same');
  const detail = (await app.inject({ url: `/v1/organizations/${ids['org']}?knownAt=${at['fix']}` })).json() as Json;
  t.same(detail['organization']['members'].map((m: Json) => m.term.to), [null, '2002'], "the organization's first page of members: the same");
  const whole = membersWhole((readModels.queries as ReadQueries).q, ids['org'] as string, at['fix'] as string);
  t.same(whole.map((m) => m.term.to), [null, '2002'], "a replay's members (membersWhole): the same");
});

t.test("a correction keeps an adoption's place: the first adoption of a document adopted twice (an older log) stays its first when corrected", async (t) => {
  // A log recorded before the writer refused a second adoption (documents/queries.ts
  // FIRST_ADOPTION) holds two of one document; the document is adopted as the first recorded
  // says. A correction of that first adoption (its summary) must not hand the document to the second.
  const { log, ids, at, put } = namedLog();
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  put('session', 'SessionHeld', { body: ids['org'], held: { from: '2001-03-01' } });
  put('a1', 'DocumentAdopted', { title: 'Strategy', kind: 'strategy', body: ids['org'], session: ids['session'], adoptedOn: '2001-03-01', effective: { from: '2001-03-01', to: '2003-12-31' } });
  put('a2', 'DocumentAdopted', { document: ids['a1'], body: ids['org'], adoptedOn: '2005', effective: { from: '2005-01-01' } });
  put('fix', 'FactCorrected', { fact: ids['a1'], data: { title: 'Strategy', kind: 'strategy', body: ids['org'], session: ids['session'], adoptedOn: '2001-03-01', effective: { from: '2001-03-01', to: '2003-12-31' }, summary: 'A summary' }, reason: 'the summary was missing' });
  const { app, readModels } = await startReadApp(t, log);
  await readModels.caughtUp();
  const queries = readModels.queries as ReadQueries;
  for (const k of [at['a2'] as string, at['fix'] as string]) {
    const when = k === at['fix'] ? 'after the correction' : 'before it';
    const list = (await app.inject({ url: `/v1/documents?organization=${ids['org']}&knownAt=${k}` })).json() as Json;
    t.same(list['documents'].map((d: Json) => d.effective), [{ from: '2001-03-01', to: '2003-12-31' }], `${when}: the list shows the first adoption's effect`);
    const inForce = (await app.inject({ url: `/v1/documents?organization=${ids['org']}&validAt=2002&knownAt=${k}` })).json() as Json;
    t.same(inForce['documents'].map((d: Json) => d.id), [ids['a1']], `${when}: in force in 2002`);
    const later = (await app.inject({ url: `/v1/documents?organization=${ids['org']}&validAt=2006&knownAt=${k}` })).json() as Json;
    t.same(later['documents'], [], `${when}: not in force in 2006`);
    const one = (await app.inject({ url: `/v1/documents/${ids['a1']}?knownAt=${k}` })).json() as Json;
    t.same((one['document'] ?? one).effective, { from: '2001-03-01', to: '2003-12-31' }, `${when}: the document alone`);
    const sessions = (await app.inject({ url: `/v1/sessions?organization=${ids['org']}&knownAt=${k}` })).json() as Json;
    t.same(sessions['sessions'][0].documents.map((d: Json) => d.effective), [{ from: '2001-03-01', to: '2003-12-31' }], `${when}: the session's documents`);
    // What a read worker writes.
    const page = { after: null, limit: 10 };
    for (const validAt of [undefined, '2002', '2006']) {
      const text = queries.itemsJson('documents', [ids['org'], k, validAt, page]);
      t.same(JSON.parse(`[${text?.items.join(',')}]`).map((d: Json) => d.effective), validAt === '2006' ? [] : [{ from: '2001-03-01', to: '2003-12-31' }], `${when}: a read worker's page of documents${validAt ? ` in force in ${validAt}` : ''}`);
    }
    const text = queries.itemsJson('sessions', [ids['org'], k, undefined, page, 50]);
    t.same(JSON.parse(`[${text?.items.join(',')}]`)[0].documents.map((d: Json) => d.effective), [{ from: '2001-03-01', to: '2003-12-31' }], `${when}: a read worker's page of sessions`);
  }
});

t.test('a log whose recording time goes back (a correction stamped before the fact it corrects) is applied, live as by a rebuild', async (t) => {
  // EventStoreDB stamps recordedAt with the leader's clock (`created`): after a leader change to a
  // node whose clock is behind, a commit may carry an earlier time than the one before it. The
  // appointment's cut term was then closed at a moment before it began: its R*Tree entry's
  // recording interval ended before it began (klo > khi), SQLite refused it, and the runner
  // retried the batch for ever, never ready. Such a version was never the state of the record:
  // it is dropped, as a bulk build never makes it.
  const { log, ids, put } = namedLog();
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }, { at: '2024-01-01T00:00:01.000Z' });
  put('sg', 'OfficeEstablished', { key: 'sg', organization: ids['org'], title: 'SG', multipleHolders: false }, { at: '2024-01-01T00:00:02.000Z' });
  put('p', 'PersonRegistered', { key: 'p', name: 'P' }, { at: '2024-01-01T00:00:03.000Z' });
  put('app', 'OfficialAppointed', { office: ids['sg'], person: ids['p'], term: { from: '2001' } }, { at: '2024-01-01T00:00:10.000Z' });
  put('fix', 'FactCorrected', { fact: ids['app'], data: { office: ids['sg'], person: ids['p'], term: { from: '2002' } }, reason: 'r' }, { at: '2024-01-01T00:00:05.000Z' });
  const { app, readModels, dir, path } = await startReadApp(t, log);
  t.ok(await readModels.waitFor(log.events.at(-1)?.position as string, 10_000), 'every event applied');
  t.match(readModels.readiness(), { ready: true, state: 'live', parked: 0 }, 'ready, nothing parked');
  const holders = async (k: string) => ((await app.inject({ url: `/v1/offices/sg/holders?knownAt=${k}` })).json() as Json)['holders'].map((h: Json) => h.term);
  t.same(await holders('2024-01-01T00:00:04.000Z'), [], 'before both: none');
  t.same(await holders('2024-01-01T00:00:11.000Z'), [{ from: '2002', to: null }], 'after both: the corrected term');
  const holder = (await app.inject({ url: `/v1/offices/sg/holder?validAt=2002&knownAt=2024-01-01T00:00:11.000Z` })).json() as Json;
  t.same(holder['holders'].map((h: Json) => h.term), [{ from: '2002', to: null }], 'the holder (the temporal index): the same');
  await sameAsRebuilt(t, log, path, join(dir, 'fresh.db'), { tables: ['terms', 'terms_rt'] });
});
