/**
 * Issue #17, finding 1: anonymous reads could starve everything, and 60,877 wrong tokens in
 * 15 s were all answered. Now: per-client limits (429 with Retry-After) on requests without a
 * credential and with a bad one; load shed (503 with Retry-After) on event-loop pressure and
 * past a cap of reads in flight, while recorders' writes, /healthz and /metrics go through;
 * a cap on connections; the audit export lets the event loop go between pages.
 * (bench/chaos/readers.ts is the scenario at scale, with figures.)
 */
import t, { type Test } from 'tap';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { buildApp } from '../src/http/app.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exchange, listen, open } from './fixtures/raw-http.js';
import { until, when } from './fixtures/when.js';
import { once } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { nodeArgs } from './fixtures/node-child.js';

const problem = (t: Test, res: { statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown> }, status: number): void => {
  t.equal(res.statusCode, status);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.match(res.headers['retry-after'], /^\d+$/, 'Retry-After');
  t.match(res.json(), { status, type: String, detail: String, requestId: String });
};

const write = (a: TestApp, name: string) => a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: f.person(undefined, name) });

t.test('a flood of bad tokens is met with 429; the same client with a valid token is served', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_FAILED_AUTH: '5', ANNALS_RATE_LIMIT_ANONYMOUS: '1000' } });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: `Bearer guess-number-${i}-of-many-tokens` }, payload: f.person(undefined, 'X') });
    statuses.push(res.statusCode);
    if (i === 11) problem(t, res, 429);
  }
  t.same(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429], 'five guesses a minute, then 429');
  t.equal((await a.app.inject({ url: '/v1/audit/events', headers: { authorization: 'Bearer guess-again-0123456789' } })).statusCode, 429, 'on every route');
  t.equal((await write(a, 'Y')).statusCode, 201, 'a valid token from the same client is not limited');
  t.equal((await a.app.inject({ url: '/v1/organizations' })).statusCode, 200, 'nor are its anonymous reads (another limit)');
  const other = await a.app.inject({ method: 'POST', url: '/v1/facts', remoteAddress: '127.0.0.2', headers: { authorization: 'Bearer guess-from-elsewhere-012345' }, payload: f.person(undefined, 'X') });
  t.equal(other.statusCode, 401, 'another client has its own count');
  t.equal((await a.app.inject({ url: '/healthz', headers: { authorization: 'Bearer guess-again-0123456789' } })).statusCode, 200, '/healthz is never limited');
});

t.test('anonymous reads are limited per client; authenticated ones are not', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_ANONYMOUS: '3' } });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await a.app.inject({ url: '/v1/organizations' })).statusCode);
  t.same(statuses, [200, 200, 200, 429, 429]);
  problem(t, await a.app.inject({ url: '/v1/people' }), 429);
  t.equal((await a.app.inject({ url: '/v1/organizations', remoteAddress: '10.1.2.3' })).statusCode, 200, 'another client');
  t.equal((await a.app.inject({ url: '/v1/organizations', headers: a.auth('auditor') })).statusCode, 200, 'a valid credential');
  t.equal((await a.app.inject({ url: '/readyz' })).statusCode, 200, 'readiness is never limited');
});

t.test('behind a trusted proxy, clients are told apart by X-Forwarded-For', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_ANONYMOUS: '1', ANNALS_TRUST_PROXY: '127.0.0.1' } });
  const from = (client: string) => a.app.inject({ url: '/v1/organizations', headers: { 'x-forwarded-for': client } });
  t.equal((await from('203.0.113.1')).statusCode, 200);
  t.equal((await from('203.0.113.1')).statusCode, 429);
  t.equal((await from('203.0.113.2')).statusCode, 200, 'another client behind the same proxy');
});

t.test('under event-loop pressure reads are shed with 503; writes, /healthz and /metrics go through', async (t) => {
  for (const [env, reason] of [
    [{ ANNALS_SHED_EVENT_LOOP_DELAY_MS: '1' }, 'event-loop-delay'],
    [{ ANNALS_SHED_EVENT_LOOP_DELAY_MS: '0', ANNALS_SHED_EVENT_LOOP_UTILIZATION: '0.3' }, 'event-loop-utilization'],
  ] as const) {
    const a = await startTestApp(t, { store: 'memory', env });
    // Something else holds the loop 15 ms of every 20.
    const busy = setInterval(() => {
      const until = performance.now() + 15;
      while (performance.now() < until);
    }, 20);
    t.teardown(() => clearInterval(busy));
    const underPressure = a.app as unknown as { isUnderPressure(): boolean };
    await until('the plugin to see the pressure', () => underPressure.isUnderPressure(), 10_000).catch(() => undefined);
    t.ok(underPressure.isUnderPressure(), `${reason}: the plugin sees the pressure`);
    const read = await a.app.inject({ url: '/v1/organizations' });
    problem(t, read, 503);
    t.match(read.json().detail, /overloaded/);
    t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: 'Bearer not-a-valid-token-1234' }, payload: f.person(undefined, 'X') })).statusCode, 503, 'a write without a valid credential is shed');
    t.equal((await write(a, 'Recorded under pressure')).statusCode, 201, "a recorder's write goes through");
    t.equal((await a.app.inject({ url: '/healthz' })).statusCode, 200, '/healthz goes through');
    const metrics = await a.app.inject({ url: '/metrics', headers: a.auth('admin') });
    t.equal(metrics.statusCode, 200, '/metrics goes through');
    t.match(metrics.body, new RegExp(`annals_http_shed_total\\{reason="${reason}"\\} 2`));
    clearInterval(busy);
  }
});

/** Sends raw requests together from another process (test/fixtures/burst-client.ts), once `app` accepted every connection: their statuses. */
async function burst(app: FastifyInstance, port: number, requests: string[]): Promise<number[]> {
  const child = spawn(process.execPath, nodeArgs(fileURLToPath(new URL('./fixtures/burst-client.ts', import.meta.url)), String(port)), { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify(requests)}\n`);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await when(child.stdout, 'data', () => out.startsWith('open\n'), 'the burst client to open its connections');
  await until('the server to accept every connection', async () => (await connections(app)) >= requests.length);
  child.stdin.end('go\n');
  await once(child.stdout, 'end');
  return JSON.parse(out.slice('open\n'.length)) as number[];
}

t.test('once a turn of the event loop has spent its budget, the reads still in it are shed; writes are not', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_READ_TURN_BUDGET_MS: '2' } });
  const people = Array.from({ length: 2_000 }, (_, i) => f.person(undefined, `Person ${i}`));
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: people })).json().recorded, 2_000);
  const app = await buildApp(a.runtime);
  t.teardown(() => app.close());
  const port = await listen(app);
  // Ten heavy reads (500 people each, a few ms apiece), a write and /healthz, sent together by
  // twelve clients: the server finds them ready in one turn of its event loop.
  const body = JSON.stringify(f.person(undefined, 'Written in the same turn'));
  const read = 'GET /v1/people?limit=500 HTTP/1.1\r\nHost: x\r\n\r\n';
  const statuses = await burst(app, port, [
    ...Array.from({ length: 10 }, () => read),
    `POST /v1/facts HTTP/1.1\r\nHost: x\r\nAuthorization: ${a.auth('recorder').authorization}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  ]);
  const reads = statuses.slice(0, 10);
  t.ok(reads.includes(200), `a read of the turn is served (${reads.join(' ')})`);
  t.ok(reads.filter((s) => s === 503).length >= 5, 'most of the others are shed');
  t.equal(statuses[10], 201, "the recorder's write is served");
  t.equal(statuses[11], 200, '/healthz is served');
  const shed = await a.app.inject({ url: '/metrics', headers: a.auth('admin') });
  t.match(shed.body, /annals_http_shed_total\{reason="read-budget"\} [5-9]/);
  const again = await open(port);
  t.teardown(() => again.destroy());
  const answer = await exchange(again, read);
  t.equal(answer?.status, 200, 'a later turn starts afresh');
});

t.test('connections past the cap are closed as they arrive', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_MAX_CONNECTIONS: '2' } });
  const app = await buildApp(a.runtime);
  t.teardown(() => app.close());
  const port = await listen(app);
  const [one, two] = [await open(port), await open(port)];
  t.equal((await exchange(one, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'))?.status, 200);
  const third = await open(port);
  t.equal(await exchange(third, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), null, 'the third connection is closed without an answer');
  t.equal((await exchange(two, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'))?.status, 200, 'the first two are served');
  one.destroy();
  await until('the server to see the first connection closed', async () => (await connections(app)) === 1);
  const again = await open(port);
  t.equal((await exchange(again, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'))?.status, 200, 'a place freed is taken');
  for (const s of [two, third, again]) s.destroy();
});

t.test('the audit export lets the event loop go between pages', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const batch = Array.from({ length: 4_500 }, (_, i) => f.person(undefined, `P${i}`));
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: batch })).json().recorded, 4_500);
  let turns = 0;
  let counting = true;
  const count = (): void => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const res = await a.app.inject({ url: '/v1/audit/events', headers: a.auth('auditor') });
  counting = false;
  t.equal(res.body.trim().split('\n').length, 4_500);
  t.ok(turns >= 4, `the loop turned ${turns} times during the export of 5 pages`);
});

/** How many connections the server holds open. */
function connections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
