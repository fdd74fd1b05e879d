/**
 * Issue #17, finding 3: an organization could be recorded as a member of itself, and a
 * membership could start twice without ending. Both are now refused with 409 naming the fact
 * collided with; memberships that only imprecise dates make possibly overlapping, and ones
 * recorded in order with their ends, are accepted.
 */
import t, { type Test } from 'tap';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

const fact = (type: string, data: Record<string, unknown>, factId?: string) => ({ type, data, source: { title: 'test' }, ...(factId ? { factId } : {}) });
const started = (member: string, on: string, factId?: string) => fact('MembershipStarted', { organization: 'org', member, on }, factId);
const ended = (member: string, on: string, factId?: string) => fact('MembershipEnded', { organization: 'org', member, on }, factId);

async function record(a: TestApp, body: unknown) {
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: body as object });
  return { status: res.statusCode, body: res.json() };
}

async function setUp(t: Test): Promise<TestApp & { orgFact: string }> {
  const a = await startTestApp(t, { store: 'memory' });
  const org = await record(a, f.organization('org'));
  await record(a, f.state('aa'));
  await record(a, f.state('bb'));
  return { ...a, orgFact: org.body.factId };
}

t.test('an organization is not a member of itself', async (t) => {
  const a = await setUp(t);
  const self = await record(a, started('org', '2020-01-01'));
  t.equal(self.status, 409);
  t.equal(self.body.collidesWith, a.orgFact, 'names the registration of the organization');
  t.match(self.body.detail, /not a member of itself/);
});

t.test('a membership does not start twice without an end between', async (t) => {
  const a = await setUp(t);
  const first = await record(a, started('aa', '2001-05-01'));
  t.equal(first.status, 201);
  const again = await record(a, started('aa', '2010-01-01'));
  t.equal(again.status, 409, 'started again later, never ended');
  t.equal(again.body.collidesWith, first.body.factId);
  const sameDay = await record(a, started('aa', '2001-05-01'));
  t.equal(sameDay.status, 409, 'the same day again (another factId)');
  const earlier = await record(a, started('aa', '1995'));
  t.equal(earlier.status, 409, 'an earlier start with no end before the later one');
  t.match(earlier.body.detail, /record a MembershipEnded for the earlier one first/);
  t.equal((await record(a, started('bb', '2005'))).status, 201, 'another member is another matter');
  t.equal((await record(a, started('aa', '2001'))).status, 201, 'only possibly overlapping (2001 holds 2001-05-01): accepted');

  t.equal((await record(a, ended('aa', '2008-12-31'))).status, 201);
  t.equal((await record(a, started('aa', '2010-01-01'))).status, 201, 'after an end, a new membership');
  t.equal((await record(a, ended('bb', '2006-01-01'))).status, 201);
  t.equal((await record(a, started('bb', '2006-01-01'))).status, 201, 'a new membership the day the last one ended');
});

t.test('a correction may not make memberships overlap, nor a member of itself', async (t) => {
  const a = await setUp(t);
  const s1 = await record(a, started('aa', '2001-01-01'));
  const e1 = await record(a, ended('aa', '2004-01-01'));
  const s2 = await record(a, started('aa', '2005-01-01'));
  t.equal(s2.status, 201);
  const correct = (target: string, data: Record<string, unknown>) => record(a, fact('FactCorrected', { fact: target, reason: 'test', data: { organization: 'org', ...data } }));
  const moved = await correct(e1.body.factId, { member: 'aa', on: '2006-01-01' });
  t.equal(moved.status, 409, 'moving the end past the next start');
  t.equal(moved.body.collidesWith, s1.body.factId);
  t.equal((await correct(s1.body.factId, { member: 'aa', on: '2002-01-01' })).status, 201, 'a correction that keeps them apart');
  t.equal((await correct(s2.body.factId, { member: 'org', on: '2005-01-01' })).status, 409, 'a correction naming the organization itself');
});
