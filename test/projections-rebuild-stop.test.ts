/**
 * A rebuild in flight when the process is told to stop. The service (src/server.ts, a real
 * process, its read models on the store writer's thread as by default, threaded and inline) gets SIGTERM during `POST
 * /v1/admin/rebuild`; `annals rebuild` gets SIGINT. Each must stop within half the
 * rebuild's own time (measured here, by a complete `annals rebuild` of the same record; the
 * signal comes as the rebuild's fresh file appears), before the rebuild's end, leave
 * no fresh file in the data dir, and leave the read models as a rebuild makes them. The
 * service exits 0 and answers the rebuild 503 (problem+json) before its socket closes.
 *
 * The record: 40,000 facts of the read benchmark's history, recorded through the store port
 * (bench/sealed-store.ts), sealed with the data dir's key as the service's writer seals them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { openBenchStore, recordBenchHistory } from '../bench/sealed-store.js';
import { dumpTables } from './fixtures/history.js';
import { nodeArgs } from './fixtures/node-child.js';
import { until } from './fixtures/when.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli/annals.ts', import.meta.url));
const ADMIN = 'admin-token-of-the-rebuild-stop-test';
const FACTS = 40_000;

/** The test's environment minus anything Annals reads (tap's loader and coverage pass on). */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANNALS_') && !['HOST', 'PORT', 'LOG_LEVEL'].includes(k)));
  return { ...inherited, ...extra };
}

interface Child {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  out: () => string;
}

function start(script: string, args: string[], extra: Record<string, string>): Child {
  const child = spawn(process.execPath, nodeArgs(script, ...args), { cwd: ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  return { child, exited, out: () => out };
}

async function startServer(t: Test, dataDir: string, mode: 'writer' | 'thread' | 'inline'): Promise<Child & { base: string }> {
  const s = start(SERVER, [], { ANNALS_DATA_DIR: dataDir, ANNALS_READ_MODELS: mode, HOST: '127.0.0.1', PORT: '0', ANNALS_SEED: 'none', ANNALS_TOKENS: `admin:${ADMIN}`, LOG_LEVEL: 'info' });
  t.teardown(() => void s.child.kill('SIGKILL'));
  let base = '';
  await until('the server listens', () => {
    if (s.child.exitCode !== null) throw new Error(`the server exited (${s.child.exitCode}): ${s.out().slice(-2000)}`);
    base = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(s.out())?.[1] ?? '';
    return base !== '';
  }, 60_000, 50);
  await until('the read models ready', async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, 100);
  return { ...s, base };
}

const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes('.rebuild') || f.includes('.swapped-out'));

// One record for every case; `annals rebuild` builds its read models, and how long that takes is the rebuild's own time.
const template = t.testdir();
let fullMs = 0;
let rebuilt: Record<string, unknown[][]> = {};

t.before(async () => {
  const store = openBenchStore(template);
  await recordBenchHistory(store, { facts: FACTS, offices: 300, people: 3_000 });
  await store.close();
  const cli = start(CLI, ['rebuild', '--data-dir', template], { LOG_LEVEL: 'warn' });
  const end = await cli.exited;
  if (end.code !== 0) throw new Error(`annals rebuild failed (${end.code}): ${cli.out()}`);
  // Its own summary: the build's time, without the process's start.
  const said = /rebuilt the read models from (\d+) events in ([\d.]+) s/.exec(cli.out());
  if (said?.[1] !== String(FACTS)) throw new Error(`annals rebuild said: ${cli.out()}`);
  fullMs = Number(said[2]) * 1000;
  rebuilt = dumpTables(join(template, 'readmodels.db'));
});

t.test('annals rebuild, SIGINT mid-build: stops at once, exit 130, no fresh file, the read models as they were', async (t) => {
  t.comment(`a complete annals rebuild of ${FACTS} facts took ${(fullMs / 1000).toFixed(1)} s (its own figure)`);
  const dir = t.testdir();
  cpSync(template, dir, { recursive: true });
  const cli = start(CLI, ['rebuild', '--data-dir', dir], { LOG_LEVEL: 'warn' });
  t.teardown(() => void cli.child.kill('SIGKILL'));
  await until('the fresh file made', () => existsSync(join(dir, 'readmodels.db.rebuild')), 60_000, 5);
  const signalled = performance.now();
  cli.child.kill('SIGINT');
  const end = await cli.exited;
  const stopMs = end.at - signalled;
  t.comment(`stopped ${stopMs.toFixed(0)} ms after SIGINT`);
  t.same({ code: end.code, signal: end.signal }, { code: 130, signal: null }, `exit 130, not killed by the signal: ${cli.out().slice(-1000)}`);
  t.ok(stopMs < fullMs / 2, `stopped in ${stopMs.toFixed(0)} ms, under half the rebuild's ${fullMs.toFixed(0)} ms`);
  t.match(cli.out(), /stopped by SIGINT before it completed: the partial file was removed and the read models in .* are as they were\. Run 'annals rebuild' again/, 'says what happened and what to do');
  t.same(leftovers(dir), [], 'no fresh file left in the data dir');
  t.same(dumpTables(join(dir, 'readmodels.db')), rebuilt, 'the read models as the complete rebuild left them');
});

for (const mode of ['writer', 'thread', 'inline'] as const) {
  t.test(`the service (read models: ${mode}), SIGTERM during POST /v1/admin/rebuild: exits 0 at once, the rebuild answered 503, the read models as before`, async (t) => {
    const dir = t.testdir();
    cpSync(template, dir, { recursive: true });
    const server = await startServer(t, dir, mode);
    const answer = fetch(`${server.base}/v1/admin/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } }).then(
      async (res) => ({ status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> }),
      (err: unknown) => ({ error: String(err) }),
    );
    await until('the fresh file made', () => existsSync(join(dir, 'readmodels.db.rebuild')), 60_000, 5);
    const signalled = performance.now();
    server.child.kill('SIGTERM');
    const end = await server.exited;
    const stopMs = end.at - signalled;
    t.comment(`exited ${stopMs.toFixed(0)} ms after SIGTERM (a complete rebuild: ${fullMs.toFixed(0)} ms)`);
    t.same({ code: end.code, signal: end.signal }, { code: 0, signal: null }, `exit 0: ${server.out().slice(-1500)}`);
    t.ok(stopMs < fullMs / 2, `exited in ${stopMs.toFixed(0)} ms, under half the rebuild's ${fullMs.toFixed(0)} ms`);
    t.match(await answer, {
      status: 503,
      type: /^application\/problem\+json/,
      retryAfter: '60',
      body: { type: '/problems/unavailable', status: 503, detail: /the service is stopping: the rebuild was stopped before it completed and the read models are as they were before it .*run the rebuild again once the service is back/ },
    }, 'the rebuild answered 503 problem+json before the socket closed');
    t.match(server.out(), /rebuild stopped before it completed/, 'the log says the rebuild stopped');
    t.notMatch(server.out(), /read models rebuilt and swapped in/, 'the rebuild did not run to its end');
    t.notMatch(server.out(), /"level":(50|60)/, 'nothing logged as an error');
    t.same(leftovers(dir), [], 'no fresh file left in the data dir');

    const again = await startServer(t, dir, mode);
    // Asked again while shed (a 503 while the event loop is still busy after the start, inline).
    let status = { head: '', checkpoint: '', parked: { count: -1 } };
    await until('the projections status answered', async () => {
      const res = await fetch(`${again.base}/v1/admin/projections`, { headers: { authorization: `Bearer ${ADMIN}` } });
      if (res.status === 200) status = (await res.json()) as typeof status;
      else t.comment(`projections status ${res.status}: ${await res.text()}`);
      return res.status === 200;
    }, 30_000, 200);
    t.match(status, { checkpoint: status.head, parked: { count: 0 } }, `after a restart the read models follow the whole log: ${JSON.stringify(status).slice(0, 500)}`);
    again.child.kill('SIGTERM');
    t.equal((await again.exited).code, 0, 'the restarted service closed cleanly');
    t.same(dumpTables(join(dir, 'readmodels.db')), rebuilt, "the read models equal annals rebuild's");
  });
}
