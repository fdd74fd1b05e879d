/**
 * Issue #17, finding 6: request ids were a per-process counter, X-Request-Id neither honoured
 * nor echoed, and worker threads' log lines lacked the process fields. Now a safe
 * X-Request-Id is honoured (another made otherwise), echoed, in every problem and every log
 * line of the request, and stored as the fact's correlationId; the real server's worker
 * threads log with the same name, pid and hostname as its main thread.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { nodeArgs } from './fixtures/node-child.js';
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
  const child = spawn(process.execPath, nodeArgs(fileURLToPath(new URL('../src/server.ts', import.meta.url))), {
    env: { ...process.env, ANNALS_DATA_DIR: dir, HOST: '127.0.0.1', PORT: '0', ANNALS_SEED: 'none', ANNALS_TOKENS: `admin:${admin}`, LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out.slice(-2000)}`)));
  });
  const auth = { authorization: `Bearer ${admin}`, 'x-request-id': 'log-test' };
  // Work for each thread that logs: the read models rebuild (its thread, the read models on the writer's by default), the audit follower signs a head.
  t.equal((await fetch(`${base}/v1/admin/rebuild`, { method: 'POST', headers: auth })).status, 200);
  t.equal((await fetch(`${base}/v1/audit/tree-head`, { method: 'POST', headers: auth })).status, 201);
  const logged = (): boolean => ['"thread":"read models rebuild"', '"thread":"audit follower"', '"requestId":"log-test"'].every((s) => out.includes(s));
  await when(child.stdout!, 'data', logged, 'a line from each thread, and the request id');
  const lines = out.slice(0, out.lastIndexOf('\n')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const main = lines.find((l) => l['msg'] === 'runtime open') as Record<string, unknown>;
  t.match(main, { name: 'annals', pid: child.pid, hostname: String });
  for (const thread of ['read models rebuild', 'audit follower']) {
    const line = lines.find((l) => l['thread'] === thread);
    t.ok(line, `a line from the ${thread} thread`);
    t.match(line, { name: main['name'], pid: main['pid'], hostname: main['hostname'] }, `the ${thread} thread: the same process fields`);
  }
  t.ok(lines.some((l) => l['requestId'] === 'log-test'), 'the request ids reach the server’s lines');
});
