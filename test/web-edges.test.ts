/**
 * Issue #17's edges on the explorer's pages (#13): a page refused by the per-client limits,
 * or while the server closes, is an HTML page of that status with Retry-After under the
 * pages' CSP; a wrong method on a page's path is 405 with Allow, as a page for a browser and
 * a problem for anything else; API paths stay problem+json whatever the client accepts.
 */
import t from 'tap';
import { CSP } from '../src/web/index.js';
import { buildApp } from '../src/http/app.js';
import { startTestApp } from './fixtures/app.js';
import { accepted, exchange, listen, open, readFromEach } from './fixtures/raw-http.js';
import { until } from './fixtures/when.js';

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

t.test('a page past the anonymous limit is an HTML 429 with Retry-After and the CSP', async (t) => {
  const a = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_ANONYMOUS: '1' } });
  t.equal((await a.app.inject({ url: '/', headers: BROWSER })).statusCode, 200);
  const limited = await a.app.inject({ url: '/', headers: BROWSER });
  t.equal(limited.statusCode, 429);
  t.match(limited.headers['content-type'], /^text\/html/);
  t.match(limited.headers['retry-after'], /^\d+$/);
  t.equal(limited.headers['content-security-policy'], CSP);
  t.match(limited.headers['x-request-id'], /./);
  t.match(limited.body, /Too many requests/);
  t.match(limited.body, /without a credential/, 'the detail says why');
});

t.test('while the server closes, a page is an HTML 503 with Retry-After', async (t) => {
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
  // A request in flight keeps the server open; a page's request, half-sent, arrives while it closes.
  const inFlight = exchange(busy, 'GET /v1/offices/x/holder?minPosition=99999999 HTTP/1.1\r\nHost: x\r\n\r\n');
  late.write(`GET /people/someone HTTP/1.1\r\nHost: x\r\nAccept: ${BROWSER.accept}\r\n`);
  await until('the server to read from both connections', () => readFromEach(server, 2));
  const closed = app.close();
  const page = await exchange(late, '\r\n');
  t.equal(page?.status, 503);
  t.match(page?.headers['content-type'], /^text\/html/);
  t.equal(page?.headers['retry-after'], '5');
  t.equal(page?.headers['content-security-policy'], CSP);
  t.equal(page?.headers['connection'], 'close');
  t.match(page?.body, /shutting down/);
  await inFlight;
  await closed;
});

t.test("a wrong method on a page's path is 405 with Allow: a page for a browser, a problem otherwise", async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const browser = await a.app.inject({ method: 'POST', url: '/offices/anything?validAt=2020', headers: BROWSER });
  t.equal(browser.statusCode, 405);
  t.equal(browser.headers['allow'], 'GET, HEAD');
  t.match(browser.headers['content-type'], /^text\/html/);
  t.equal(browser.headers['content-security-policy'], CSP);
  t.match(browser.body, /Method not allowed/);
  const client = await a.app.inject({ method: 'POST', url: '/offices/anything' });
  t.equal(client.statusCode, 405);
  t.equal(client.headers['allow'], 'GET, HEAD');
  t.match(client.headers['content-type'], /^application\/problem\+json/);
  const nowhere = await a.app.inject({ url: '/nowhere/at/all', headers: BROWSER });
  t.equal(nowhere.statusCode, 404);
  t.match(nowhere.headers['content-type'], /^text\/html/, 'a browser lost among the pages gets a page');
  for (const url of ['/v1/nothing', '/v1/facts', '/metrics']) {
    const api = await a.app.inject({ method: 'DELETE', url, headers: BROWSER });
    t.match(api.headers['content-type'], /^application\/problem\+json/, `${url} stays problem+json for a browser`);
  }
});
