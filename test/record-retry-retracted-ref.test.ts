/**
 * A retry of a recorded fact answers with the original result (API.md, "Recording a fact"),
 * even when an entity the fact names was retracted in between: the retry's references are
 * those of a fact already in the log. Found by test/write-invariants-property.test.ts (the
 * retry answered 404: its person no longer resolved). A fact that is not a retry still gets
 * the 404, and so does the same factId with other content, in its stream or another's (the
 * session-46 review: in another office's stream it had become a 409).
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

t.test('a retry after a named entity was retracted answers the original result and records nothing', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const headers = a.auth('recorder');
  const post = (body: unknown) => a.app.inject({ method: 'POST', url: '/v1/facts', headers, payload: body as object });
  const bob = f.person('r-bob', 'Bob', f.newFactId());
  const ground = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers, payload: [...f.officeGround('r').slice(0, 2), bob] });
  t.equal(ground.json().recorded, 3);
  const appointed = f.appointed('r-sg', 'r-bob', { from: '2020-01-01' }, f.newFactId());
  const first = await post(appointed);
  t.equal(first.statusCode, 201);
  t.equal((await post(f.retracted(bob.factId as string))).statusCode, 201, "Bob's registration retracted");
  let head = await a.runtime.store.head();

  const retry = await post(appointed);
  t.ok(retry.statusCode === 200 || retry.statusCode === 201, `the retry answers ${retry.statusCode} ${retry.body}`);
  t.same(retry.json(), first.json(), 'with the original result');
  const batch = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers, payload: [appointed] });
  t.same(batch.json().results.map((r: { factId: string; position: string }) => [r.factId, r.position]), [[first.json().factId, first.json().position]], 'in a batch too');
  t.equal(batch.json().error, undefined, 'no error in the batch');
  t.equal(await a.runtime.store.head(), head, 'nothing recorded');

  t.equal((await post(f.appointed('r-sg', 'r-bob', { from: '2020-01-01' }))).statusCode, 404, 'a new fact naming Bob: 404');
  t.equal((await post({ ...appointed, data: { ...appointed.data, term: { from: '2021-01-01' } } })).statusCode, 404, 'the same factId with other content naming Bob: the 404 a new fact gets');
  t.equal((await post({ ...appointed, data: { ...appointed.data, person: 'r-nobody' } })).statusCode, 404, 'the same factId naming a key never registered: 404');
  t.equal((await post(f.office('r-dg', 'r-org'))).statusCode, 201, 'another office');
  head = await a.runtime.store.head();
  t.equal((await post({ ...appointed, data: { ...appointed.data, office: 'r-dg' } })).statusCode, 404, "the same factId naming Bob in another office's stream: the 404 a new fact gets (was a 409)");
  t.equal(await a.runtime.store.head(), head, 'nothing recorded');
});
