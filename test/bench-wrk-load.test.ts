/**
 * bench:read's load through wrk (bench/wrk-load.ts, bench/read-wrk.lua): the paths file's
 * lines, and, against a small server of known answers, each question's answers, refusals,
 * errors, bytes and latencies told apart by the request id the server echoes, and no request
 * left in flight at the end. No figure of speed is asserted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runWrk, useWrk, WRK, writePaths } from '../bench/wrk-load.js';

t.test('the paths file: "<question> <path>" a line, all of one width', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wrk-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = writePaths(join(dir, 'paths'), [['a', '/x'], ['bb', '/longer?q=1']]);
  t.same(f, { path: join(dir, 'paths'), width: 14, lines: 2 });
  t.equal(readFileSync(f.path, 'utf8'), 'a /x          \nbb /longer?q=1\n');
  t.equal(useWrk('node'), false, 'BENCH_CLIENT=node: the Node client');
  t.equal(useWrk(undefined), false, 'the Node client by default');
});

t.test('a run through wrk counts each question apart', { skip: existsSync(WRK) ? false : `no ${WRK}` }, async (t) => {
  const statusOf: Record<string, number> = { '/ok': 200, '/gone': 404, '/busy': 503, '/bad': 500, '/healthz': 200 };
  const server = createServer((req, res) => {
    const status = statusOf[req.url ?? ''] ?? 400;
    res.writeHead(status, { 'content-type': 'text/plain', 'x-request-id': req.headers['x-request-id'] ?? '' });
    res.end(status === 200 ? 'ten bytes!' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'wrk-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = writePaths(join(dir, 'paths'), [['ok', '/ok'], ['gone', '/gone'], ['busy', '/busy'], ['bad', '/bad']]);

  const r = await runWrk({ port, connections: 4, ms: 500, file, offset: 1 });
  t.equal(r.socketErrors, 0);
  t.equal(r.inFlight, 0, 'past its time wrk awaits the answers in flight');
  t.ok(r.seconds > 0);
  const ok = r.byQuestion.get('ok');
  const gone = r.byQuestion.get('gone');
  t.ok(ok && ok.answers > 0 && ok.bytes === ok.answers * 10 && ok.latencies.length === ok.answers, 'answers, their bytes and latencies');
  t.ok(ok && ok.latencies.every((ms) => ms >= 0), 'latencies in ms');
  t.ok(gone && gone.answers > 0 && gone.bytes === 0 && gone.shed === 0 && gone.errors === 0, 'a 404 is an answer');
  t.match(r.byQuestion.get('busy'), { answers: 0, shed: Number, errors: 0, latencies: [] }, '503s counted apart as shed');
  t.ok((r.byQuestion.get('busy')?.shed ?? 0) > 0);
  t.match(r.byQuestion.get('bad'), { answers: 0, shed: 0, latencies: [] }, 'other statuses are errors');
  t.ok((r.byQuestion.get('bad')?.errors ?? 0) > 0);

  const h = await runWrk({ port, connections: 2, ms: 300 });
  t.same([...h.byQuestion.keys()], ['healthz'], 'no file: /healthz');
  t.ok((h.byQuestion.get('healthz')?.answers ?? 0) > 0);
});
