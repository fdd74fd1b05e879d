/** The assembled application: health, readiness, routing of unknown paths, audit routes wired in. */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';

t.test('health, readiness and unknown routes', async (t) => {
  const { app } = await startTestApp(t);
  const health = await app.inject({ method: 'GET', url: '/healthz' });
  t.equal(health.statusCode, 200);
  t.same(health.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.equal(ready.json().status, 'ready');
  const missing = await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' });
  t.equal(missing.statusCode, 404);
  t.match(missing.headers['content-type'], /^application\/problem\+json/);
  t.match(missing.json(), { type: 'http://localhost:80/problems/not-found', title: String, status: 404, detail: 'no route GET /v1/nothing-here' });
});

t.test('the tamper-evident tree is served to auditors only', async (t) => {
  const { app, auth } = await startTestApp(t);
  const anonymous = await app.inject({ method: 'GET', url: '/v1/audit/tree-head' });
  t.equal(anonymous.statusCode, 401);
  const recorder = await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: auth('recorder') });
  t.equal(recorder.statusCode, 403);
  const signed = await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('admin') });
  t.equal(signed.statusCode, 201);
  const head = await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: auth('auditor') });
  t.equal(head.statusCode, 200);
  t.match(head.json(), { head: { treeSize: 0 }, publicKey: { algorithm: 'Ed25519', pem: /BEGIN PUBLIC KEY/ } });
});

t.test('errors the router raises before any route are problem+json too', async (t) => {
  const { app } = await startTestApp(t);
  const long = await app.inject({ method: 'GET', url: `/v1/offices/${'x'.repeat(200)}/holder` });
  t.equal(long.statusCode, 404, 'a 200-character reference reaches the route: unknown entity');
  const tooLong = await app.inject({ method: 'GET', url: `/v1/offices/${'x'.repeat(600)}/holder` });
  t.equal(tooLong.statusCode, 414);
  t.match(tooLong.headers['content-type'], /^application\/problem\+json/);
  t.match(tooLong.json(), { type: 'http://localhost:80/problems/uri-too-long', status: 414, title: String, detail: String });
});

t.test('audit tree queries ignore unknown query keys, like every read', async (t) => {
  const { app, auth } = await startTestApp(t);
  const res = await app.inject({ method: 'GET', url: '/v1/audit/tree-heads?_=123', headers: auth('auditor') });
  t.equal(res.statusCode, 200);
});
