/**
 * `POST /v1/admin/rebuild` in the built service (`npm start` runs `node dist/src/server.js`):
 * the rebuild runs in a thread of its own (the read models applied on the store writer's thread,
 * the default: projections/writer-rebuild-thread.ts), which starts the log's decoding thread
 * (projections/rebuild-decoder.ts) as a worker of its own, from JavaScript and with no
 * TypeScript loader anywhere, which no test running the sources can show. The sources are
 * compiled as `npm run build` compiles them, into this test's fixture directory; a record
 * whose first page (5,000 events) is full is recorded through the API; the rebuild must go
 * through the thread, complete, leave no thread behind, and build the read models `annals
 * rebuild` builds offline (the built command, on a copy of the data dir).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { monotonicFactory } from 'ulid';
import { benchHistory } from '../bench/history.js';
import { dumpTables } from './fixtures/history.js';
import { spawnNode, startServer } from './fixtures/node-child.js';
import { until, when } from './fixtures/when.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const THREAD_LINE = 'the rest of the log is read and decoded on a thread of its own';

t.test('the built service rebuilds through the decoding thread, as annals rebuild does offline', async (t) => {
  // Under .tap/ in the project: the built modules find node_modules and package.json's "type" above them, as dist/ does.
  const out = t.testdir();
  const started = performance.now();
  // npm run build's compilation, file by file (--isolatedModules), without the type check (--noCheck:
  // npm test's first step): the same JavaScript as dist/ for these sources (compared with diff -r when
  // this test was written), for about half the CPU (9 s instead of 16 at load 8).
  const tsc = [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo'), '--noCheck', '--isolatedModules'];
  await run(process.execPath, tsc, { cwd: ROOT });
  t.comment(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  // The build compiles .ts only; the explorer looks for its files beside its module first (src/web/index.ts).
  symlinkSync(join(ROOT, 'src/web/static'), join(out, 'src/web/static'));

  const dataDir = join(out, 'data');
  const admin = 'admin-token-of-the-built-rebuild-test';
  const recorder = 'recorder-token-of-the-built-rebuild-test';
  const server = await startServer(t, { script: join(out, 'src/server.js'), plain: true, dataDir, env: { ANNALS_TOKENS: `recorder:${recorder},admin:${admin}`, ANNALS_SHED_EVENT_LOOP_DELAY_MS: '0' } });
  const { base, child } = server;

  // A record past the first page: 6,000 facts and their key reservations.
  const source = { title: 'Built rebuild test', publisher: 'test' };
  const facts = [...benchHistory({ facts: 6_000, offices: 40, people: 300, chaired: 3, seed: 7, newId: monotonicFactory() })];
  for (let i = 0; i < facts.length; i += 2_000) {
    const chunk = facts.slice(i, i + 2_000).map((f) => ({ type: f.type, factId: f.factId, data: f.data, source }));
    const res = await fetch(`${base}/v1/facts/batch`, { method: 'POST', headers: { authorization: `Bearer ${recorder}`, 'content-type': 'application/json' }, body: JSON.stringify(chunk) });
    t.equal(res.status, 200);
    t.equal(((await res.json()) as { recorded: number }).recorded, chunk.length, `facts ${i}..${i + chunk.length - 1} recorded`);
  }
  const auth = { authorization: `Bearer ${admin}` };
  // Shedding is off above: this test is about the built rebuild, and at load ~16–20 the status read right
  // after the swap was once answered 503 (the event loop's delay), a body without `head` (session 39).
  const status = async () => {
    const res = await fetch(`${base}/v1/admin/projections`, { headers: auth });
    const body = (await res.json()) as { head: string; checkpoint: string; parked: { count: number } };
    t.equal(res.status, 200, `the projections' status answered: ${JSON.stringify(body).slice(0, 300)}`);
    return body;
  };
  const before = await status();
  t.ok(Number(before.head) > 5_000, `the log (${Number(before.head)} events) fills its first page`);

  // The threads of the process (Linux): the decoding thread must be gone once the rebuild answered.
  const tasks = (): number => readdirSync(`/proc/${child.pid}/task`).length;
  const proc = existsSync(`/proc/${child.pid}/task`);
  const threadsBefore = proc ? tasks() : 0;
  const res = await fetch(`${base}/v1/admin/rebuild`, { method: 'POST', headers: auth });
  const body = (await res.json()) as { status: string; events: number; position: string };
  t.equal(res.status, 200, `the rebuild answered: ${JSON.stringify(body).slice(0, 300)}`);
  t.match(body, { status: 'rebuilt', events: Number(before.head), position: before.head }, 'every event of the log rebuilt');
  await when(child.stdout, 'data', () => server.stdout().includes(THREAD_LINE), 'the rebuild thread said it decodes on a thread of its own', 10_000);
  const line = JSON.parse(server.stdout().split('\n').find((l) => l.includes(THREAD_LINE)) as string) as Record<string, unknown>;
  t.match(line, { thread: 'read models rebuild', after: '00000000000000005000' }, 'from the rebuild thread, after the first page');
  if (proc) await until(`the thread count back to ${threadsBefore} (now ${tasks()})`, () => tasks() <= threadsBefore, 10_000);
  else t.comment('no /proc here: the thread count is not checked');
  t.match(await status(), { checkpoint: before.head, parked: { count: 0 } }, 'the swapped-in read models follow the log');
  t.notMatch(server.out(), /"level":(50|60)/, 'nothing logged as an error');

  child.kill('SIGTERM');
  t.equal((await server.exited).code, 0, 'the service closed cleanly');
  const offline = join(out, 'offline');
  cpSync(dataDir, offline, { recursive: true });
  const cli = spawnNode(join(out, 'src/cli/annals.js'), { plain: true, args: ['rebuild', '--data-dir', offline] });
  t.equal((await cli.exited).code, 0, `annals rebuild offline: ${cli.out().slice(-1000)}`);
  t.match(cli.stderr(), `rebuilt the read models from ${body.events} events`);
  t.same(dumpTables(join(dataDir, 'readmodels.db')), dumpTables(join(offline, 'readmodels.db')), 'the same rows as annals rebuild offline');
});
