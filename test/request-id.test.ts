/**
 * Issue #17, finding 6: request ids were a per-process counter, X-Request-Id neither honoured
 * nor echoed, and worker threads' log lines lacked the process fields. Now a safe
 * X-Request-Id is honoured (another made otherwise), echoed, in every problem and every log
 * line of the request, and stored as the fact's correlationId; the real server's worker
 * threads log with the same name, pid and hostname as its main thread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { startServer } from './fixtures/node-child.js';
import { when } from './fixtures/when.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('X-Request-Id: honoured when safe, made otherwise, echoed, in problems, logs and the stored fact', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }) });
  const a = await startTestApp(t, { store: 'memory', log });

  const mine = 'client-7f3a.9:retry/2';
  const missing = await a.app.inject({ url: '/v1/offices/nobody/holder', headers: { 'x-request-id': mine } });
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers['x-request-id'], mine, 'echoed');
  t.equal(missing.json().requestId, mine, 'in the problem');
  const ofRequest = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['requestId'] === mine);
  t.ok(ofRequest.length >= 2, 'in the request’s log lines (incoming, completed)');
  t.equal(lines.filter((l) => l.includes('"req"') || l.includes('"res"')).length, ofRequest.length, 'every request line carries it');

  for (const bad of ['has spaces in it', 'x'.repeat(129), 'quote"d', 'new\nline', '']) {
    const res = await a.app.inject({ url: '/healthz', headers: { 'x-request-id': bad } });
    t.match(res.headers['x-request-id'], UUID, `not honoured: ${JSON.stringify(bad.slice(0, 20))}`);
  }
  const none = await a.app.inject({ url: '/healthz' });
  t.match(none.headers['x-request-id'], UUID, 'made when absent');
  t.not(none.headers['x-request-id'], (await a.app.inject({ url: '/healthz' })).headers['x-request-id'], 'one each');

  const recorded = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { ...a.auth('recorder'), 'x-request-id': 'import-run-42' }, payload: f.person(undefined, 'X') });
  t.equal(recorded.statusCode, 201);
  const [event] = await a.runtime.store.readAll();
  t.equal((event?.metadata as { correlationId?: string }).correlationId, 'import-run-42', 'stored as the correlationId');
});

t.test("the real server's worker threads log with its process fields", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-logs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const admin = 'admin-token-for-the-log-test-0123';
  const server = await startServer(t, { dataDir: dir, env: { ANNALS_TOKENS: `admin:${admin}`, LOG_LEVEL: 'debug' } });
  const base = server.base;
  const auth = { authorization: `Bearer ${admin}`, 'x-request-id': 'log-test' };
  // Work for each thread that logs: the read models rebuild (its thread, the read models on the writer's by default), the audit follower signs a head.
  t.equal((await fetch(`${base}/v1/admin/rebuild`, { method: 'POST', headers: auth })).status, 200);
  t.equal((await fetch(`${base}/v1/audit/tree-head`, { method: 'POST', headers: auth })).status, 201);
  const logged = (): boolean => ['"thread":"read models rebuild"', '"thread":"audit follower"', '"requestId":"log-test"'].every((s) => server.stdout().includes(s));
  await when(server.child.stdout, 'data', logged, 'a line from each thread, and the request id');
  const out = server.stdout();
  const lines = out.slice(0, out.lastIndexOf('\n')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const main = lines.find((l) => l['msg'] === 'runtime open') as Record<string, unknown>;
  t.match(main, { name: 'annals', pid: server.child.pid, hostname: String });
  for (const thread of ['read models rebuild', 'audit follower']) {
    const line = lines.find((l) => l['thread'] === thread);
    t.ok(line, `a line from the ${thread} thread`);
    t.match(line, { name: main['name'], pid: main['pid'], hostname: main['hostname'] }, `the ${thread} thread: the same process fields`);
  }
  t.ok(lines.some((l) => l['requestId'] === 'log-test'), 'the request ids reach the server’s lines');
});
