/**
 * Wrong answers found by session 45's review (test/projections-edges-property.test.ts on the
 * histories of test/fixtures/edge-history.ts), each as the smallest history that shows it, on
 * the real read-model file through the real app.
 */
import t from 'tap';
import { namedLog, startReadApp } from './fixtures/history.js';
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
