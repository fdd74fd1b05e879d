/**
 * The witness webhook against a local HTTP receiver that refuses the first pushes, then
 * accepts: the head arrives signed, with its public key, after retries with backoff, and
 * GET /v1/audit/witness shows the failures, the next attempt, then the head it took.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { verifyHeadWith } from '../src/audit/signing.js';
import { seedExample } from '../src/example/seed.js';
import { startTestApp } from './fixtures/app.js';
import { until } from './fixtures/when.js';

const body = async (req: IncomingMessage): Promise<string> => {
  let s = '';
  for await (const c of req) s += c;
  return s;
};

t.test('a witness that fails at first, then accepts', async (t) => {
  const received: Array<{ at: number; status: number; body: string; authorization: string | undefined; url: string | undefined }> = [];
  const server = createServer((req, res) => {
    void body(req).then((b) => {
      const status = received.length < 2 ? 503 : 200;
      received.push({ at: Date.now(), status, body: b, authorization: req.headers.authorization, url: req.url });
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://witness:secret-token@127.0.0.1:${(server.address() as AddressInfo).port}/heads?key=also-secret`;

  const { app, runtime, auth } = await startTestApp(t, { env: { ANNALS_AUDIT_WITNESS_URL: url } });
  await seedExample(runtime);
  const signed = (await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') })).json().head;

  // Failing: the status says so, and when it tries again.
  let status: Record<string, unknown> = {};
  await until('the witness to refuse the first push', async () => {
    status = (await app.inject({ url: '/v1/audit/witness', headers: auth('auditor') })).json();
    return (status.failures as number) >= 1;
  });
  const firstRetryAt = status.failures === 1 ? Date.parse(status.nextAttemptAt as string) : NaN;
  t.equal(status.configured, true);
  t.equal(status.url, `http://127.0.0.1:${(server.address() as AddressInfo).port}/heads`, 'no credential in the status');
  t.ok((status.failures as number) >= 1, 'failures counted');
  t.match(status.lastError, /503/);
  t.type(status.nextAttemptAt, 'string', 'the next attempt is shown');
  t.equal(status.lastPushed, null);

  let secondRetryAt = NaN;
  await until('the witness to accept the head', async () => {
    const now = (await app.inject({ url: '/v1/audit/witness', headers: auth('auditor') })).json();
    if (now.failures === 2) secondRetryAt = Date.parse(now.nextAttemptAt as string);
    return now.lastPushed !== null;
  });
  t.equal(received.length, 3, 'two refusals, then accepted');
  const [a, b, c] = received;
  // The wait each refusal set (nextAttemptAt from the refusal): arrival times alone also hold the
  // 1 s poll's rounding, which can make a 1 s wait and a 2 s wait both arrive ~2 s apart.
  const first = firstRetryAt - a!.at;
  const second = secondRetryAt - b!.at;
  t.ok(first >= 1000 && second >= 2000 && second > first * 1.5, `backoff grows: ${first} ms, then ${second} ms`);
  t.ok(c!.at >= secondRetryAt, 'and the next push waited for it');
  t.equal(c!.authorization, `Basic ${Buffer.from('witness:secret-token').toString('base64')}`, 'user:password sent as Basic authorization');
  t.equal(c!.url, '/heads?key=also-secret');
  const doc = JSON.parse(c!.body);
  t.same(doc.head, signed, 'the signed head, as it was signed');
  t.ok(verifyHeadWith(doc.publicKey.pem, doc.head), 'checkable with the key sent beside it');

  status = (await app.inject({ url: '/v1/audit/witness', headers: auth('admin') })).json();
  t.match(status, { failures: 0, totalFailures: 2, lastError: null, nextAttemptAt: null, lastPushed: { treeSize: signed.treeSize, rootHash: signed.rootHash } });
  t.equal((await app.inject({ url: '/v1/audit/witness', headers: auth('recorder') })).statusCode, 403);

  // Nothing new: nothing pushed again. What is tested is that nothing happens over a poll.
  await new Promise((r) => setTimeout(r, 1300)); // deliberate sleep: longer than the witness's 1 s poll, which would push again by then
  t.equal(received.length, 3, 'a head already accepted is not pushed again');
});

t.test('without a witness URL', async (t) => {
  const { app, auth } = await startTestApp(t);
  t.same((await app.inject({ url: '/v1/audit/witness', headers: auth('auditor') })).json(), { configured: false });
});
