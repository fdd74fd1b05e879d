/**
 * Issue #17, finding 5: what an attacker probes at the edges. Credentials are checked before
 * the query; every error is problem+json, Node's parser errors and the 503 while closing
 * included; a wrong method is 405 with Allow; a token in a query string never reaches the
 * logs; error lists are capped.
 */
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';
import { accepted, exchange, listen, open, readFromEach, rawRequest } from './fixtures/raw-http.js';
import { until } from './fixtures/when.js';
import * as f from './fixtures/facts.js';

const isProblem = (t: Test, contentType: unknown, body: Record<string, unknown>, status: number): void => {
  t.match(contentType, /^application\/problem\+json/, `${status} is problem+json`);
  t.match(body, { type: String, title: String, status, detail: String, requestId: String });
};

t.test('an anonymous caller learns 401 before anything about its query', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  for (const url of ['/v1/audit/events?knownAt=not-a-time', '/v1/audit/proof/inclusion', '/v1/audit/tree-heads?limit=0', '/v1/admin/projections?x=%ff']) {
    const anonymous = await a.app.inject({ method: 'GET', url });
    t.equal(anonymous.statusCode, 401, `anonymous ${url}`);
    const wrong = await a.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer not-a-token-of-ours-at-all' } });
    t.equal(wrong.statusCode, 401, `bad token ${url}`);
    const recorder = await a.app.inject({ method: 'GET', url, headers: a.auth('recorder') });
    t.equal(recorder.statusCode, 403, `recorder ${url}`);
  }
  const auditor = await a.app.inject({ method: 'GET', url: '/v1/audit/events?knownAt=not-a-time', headers: a.auth('auditor') });
  t.equal(auditor.statusCode, 400, 'with the credential, the query is judged');
  const privateReads = await startTestApp(t, { store: 'memory', env: { ANNALS_PRIVATE_READS: 'true' } });
  for (const url of ['/v1/offices/x/holder?validAt=yesterday', '/v1/popolo?knownAt=then', '/v1/people?limit=100000']) {
    t.equal((await privateReads.app.inject({ method: 'GET', url })).statusCode, 401, `private reads: ${url}`);
  }
});

t.test("Node's parser errors are problem+json: 400, 431, 408", async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_REQUEST_TIMEOUT_MS: '200' } });
  // A server of its own, checking for late requests every 50 ms rather than Node's 30 s.
  const app = await buildApp(a.runtime, { http: { connectionsCheckingInterval: 50 } } as never);
  t.teardown(() => app.close());
  const port = await listen(app);

  const garbage = await rawRequest(port, 'THIS IS NOT HTTP\r\n\r\n');
  t.equal(garbage?.status, 400);
  isProblem(t, garbage?.headers['content-type'], JSON.parse(garbage?.body ?? '{}'), 400);
  t.equal(garbage?.headers['x-request-id'], JSON.parse(garbage?.body ?? '{}').requestId, 'the id is in the header and the problem');

  const huge = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
  t.equal(huge?.status, 431);
  isProblem(t, huge?.headers['content-type'], JSON.parse(huge?.body ?? '{}'), 431);

  const slow = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
  t.equal(slow?.status, 408);
  isProblem(t, slow?.headers['content-type'], JSON.parse(slow?.body ?? '{}'), 408);
});

t.test('while the server closes, a request is a 503 problem with Retry-After', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_READ_WAIT_MS: '1000' } });
  const app = await buildApp(a.runtime);
  const port = await listen(app);
  const server = accepted(app);
  const busy = await open(port);
  const late = await open(port);
  t.teardown(() => {
    busy.destroy();
    late.destroy();
  });
  // A request in flight keeps the server open; another, half-sent, arrives while it closes.
  const inFlight = exchange(busy, 'GET /v1/offices/x/holder?minPosition=99999999 HTTP/1.1\r\nHost: x\r\n\r\n');
  late.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  await until('the server to read from both connections', () => readFromEach(server, 2));
  const closed = app.close();
  const answer = await exchange(late, '\r\n');
  t.equal(answer?.status, 503);
  isProblem(t, answer?.headers['content-type'], JSON.parse(answer?.body ?? '{}'), 503);
  t.equal(answer?.headers['retry-after'], '5');
  t.equal(answer?.headers['connection'], 'close');
  const first = await inFlight;
  t.equal(first?.headers['connection'], 'close', 'the answer in flight closes its connection, so the close does not wait for it');
  await closed;
});

t.test('a wrong method is 405 with Allow; an unknown path stays 404', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const cases: Array<[string, string, string]> = [
    ['POST', '/healthz', 'GET, HEAD'],
    ['DELETE', '/v1/facts', 'POST'],
    ['PUT', '/v1/offices/csto-secretary-general/holder?validAt=2020', 'GET, HEAD'],
    // GET /v1/facts/batch is GET /v1/facts/{factId} (a 400: not a factId), so DELETE.
    ['DELETE', '/v1/facts/batch', 'GET, HEAD, POST'],
    ['PATCH', '/v1/audit/tree-head', 'GET, HEAD, POST'],
  ];
  for (const [method, url, allow] of cases) {
    const res = await a.app.inject({ method: method as 'GET', url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.equal(res.headers['allow'], allow);
    isProblem(t, res.headers['content-type'], res.json(), 405);
  }
  t.equal((await a.app.inject({ method: 'GET', url: '/v1/nothing' })).statusCode, 404);
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/nothing' })).statusCode, 404);
});

t.test('a token in a query string is redacted in the logs, the rest of the URL kept', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
  const log = createLogger({ level: 'info', destination: sink });
  const a = await startTestApp(t, { store: 'memory', log });
  const secrets = ['s3cret-in-the-query-0001', 's3cret-in-the-query-0002', 's3cret-in-the-query-0003'];
  await a.app.inject({ method: 'GET', url: `/v1/organizations?token=${secrets[0]}&access_token=${secrets[1]}&limit=5&api_key=${secrets[2]}` });
  await a.app.inject({ method: 'GET', url: `/v1/nothing?Access%5FToken=${secrets[0]}` });
  const logged = lines.join('');
  for (const s of secrets) t.notMatch(logged, s, 'never logged');
  t.match(logged, '/v1/organizations?token=[redacted]&access_token=[redacted]&limit=5&api_key=[redacted]');
  t.match(logged, '/v1/nothing?Access%5FToken=[redacted]');
});

t.test('an error list is capped: the first 20, and how many more', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const data: Record<string, unknown> = { name: 'X' };
  for (let i = 0; i < 40_000; i++) data[`unknown${i}`] = 1;
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { ...f.person(undefined, 'X'), data } });
  t.equal(res.statusCode, 400);
  const body = res.json();
  t.equal(body.errors.length, 20);
  t.equal(body.errorsOmitted, 40_000 - 20);
  t.match(body.detail, /and 39997 more/);
  t.ok(res.body.length < 5_000, `small answer (${res.body.length} bytes)`);
});

t.test('the OpenAPI document lists the errors of the edges on each operation, resolvable, as the server answers them', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_ANONYMOUS: '2' } });
  const spec = (await a.app.inject({ url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>;
    components: { responses: Record<string, { headers?: Record<string, unknown>; content: Record<string, { schema: { $ref: string } }> }>; schemas: Record<string, { required: string[] }> };
  };
  const statuses = (path: string, method: string): string[] => Object.keys(spec.paths[path]?.[method]?.responses ?? {}).sort();
  t.same(statuses('/v1/facts', 'post'), ['200', '201', '400', '401', '403', '404', '409', '413', '415', '429', '503'], 'a write: its answers, the credential, an unknown reference, a conflict, the body and the shedding');
  t.same(statuses('/v1/organizations', 'get').filter((s) => s !== '200'), ['304', '400', '404', '429', '503'], 'an open read: no credential asked (304: If-None-Match; 404: an unknown entity)');
  t.notOk(spec.paths['/healthz']?.['get']?.responses['429'], '/healthz is never limited');
  t.notOk(spec.paths['/metrics']?.['get']?.responses['503'], '/metrics is never shed');
  t.ok(spec.paths['/metrics']?.['get']?.responses['401'], '/metrics asks for a credential');
  t.match(spec.components.responses['Problem429']?.headers, { 'Retry-After': Object }, '429 says Retry-After');
  t.match(spec.components.responses['Problem503']?.headers, { 'Retry-After': Object }, '503 says Retry-After');
  t.same(spec.components.schemas['Problem']?.required, ['type', 'title', 'status', 'detail', 'requestId']);
  // Every reference resolves, and the document's problem shape is what the server sends.
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        if (r.$ref) t.ok(spec.components.responses[r.$ref.replace('#/components/responses/', '')], `${method} ${path} ${status} resolves`);
      }
    }
  }
  // text/plain is not parsed as a string and then refused by the schema: no route takes text.
  const unsupported = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { ...a.auth('recorder'), 'content-type': 'text/plain' }, payload: 'x' });
  t.equal(unsupported.statusCode, 415);
  isProblem(t, unsupported.headers['content-type'], unsupported.json(), 415);
  let limited = await a.app.inject({ url: '/v1/organizations' });
  for (let i = 0; i < 3 && limited.statusCode !== 429; i++) limited = await a.app.inject({ url: '/v1/organizations' });
  t.equal(limited.statusCode, 429);
  for (const field of spec.components.schemas['Problem']?.required ?? []) t.ok(field in limited.json(), `the 429 carries ${field}`);
});
