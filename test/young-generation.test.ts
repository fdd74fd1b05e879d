/**
 * The young generations held (src/young-generation.ts) by `annals replay` and by no other process:
 * each run as a child process of its own from its real entry, with test/fixtures/young-generation-observer.ts
 * preloaded, which, once the command has done its work, makes its young generations grow the way
 * the replay's fold and read-out did (young-generation-probe.ts) and says what they did:
 * - the replay's command thread keeps the size it had (no growth), where a command that does not
 *   hold (`annals export`, on the same record) grows to V8's ceiling under the same work;
 * - a worker started afterwards through src/store/worker-thread.ts, as the replay's are (its module
 *   importing young-generation.ts first), begins larger than that command's (--min-semi-space-size)
 *   and sees the environment's mark;
 * - the server (src/server.ts) never sets the mark, and its young generation grows as export's does.
 * The children load TypeScript through tsx even under tap: tap's loader compiles on the main thread
 * and grows its young generation to the ceiling before the command runs. No times: sizes only
 * (V8's own, in bytes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { exampleFilePath } from '../src/example/facts.js';
import { runCli, runMain } from './fixtures/cli.js';
import { startServer } from './fixtures/node-child.js';
import type { Probe } from './fixtures/young-generation-probe.js';

t.setTimeout(600_000);

/** Absolute: the workers repeat this --import from a data: URL (src/store/worker-thread.ts). */
const OBSERVER = fileURLToPath(new URL('./fixtures/young-generation-observer.ts', import.meta.url));
const observed = { execArgv: ['--import', OBSERVER], tsx: true };

interface Observed {
  main: Probe;
  worker: Probe | null;
}
const observation = (stderr: string): Observed => {
  const line = stderr.split('\n').find((l) => l.startsWith('young-generation-observer '));
  if (line === undefined) throw new Error(`no observer line in: ${stderr.slice(-3000)}`);
  return JSON.parse(line.slice('young-generation-observer '.length)) as Observed;
};

t.test('annals replay holds its young generations; export does not, nor does the server', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-young-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.equal((await runMain(['import', exampleFilePath(), '--data-dir', dir])).code, 0);

  const replay = await runCli(['replay', '--known-at', new Date(Date.now() + 1000).toISOString(), '--data-dir', dir], observed);
  t.equal(replay.code, 0, replay.stderr);
  t.match(replay.stderr, /replay: 18 entities known at/, 'the replay did its work');
  const exported = await runCli(['export', '--data-dir', dir], observed);
  t.equal(exported.code, 0, exported.stderr);
  const held = observation(replay.stderr);
  const free = observation(exported.stderr);
  t.comment(`replay ${JSON.stringify(held)}; export ${JSON.stringify(free)}`);

  t.equal(held.main.held, '1', 'replay: the environment mark set');
  t.equal(free.main.held, null, 'export: not set');
  t.ok(free.main.most > held.main.most, `the same work grows export's young generation (to ${free.main.most} bytes) beyond the replay's (${held.main.most})`);
  t.equal(held.main.most, held.main.before, "the replay's command thread keeps its size after its fold, its read-out and their workers (the growth factor set again after each heap was made)");

  if (held.worker === null || free.worker === null) throw new Error(`a worker did not report: ${JSON.stringify({ held, free })}`);
  t.equal(held.worker.held, '1', "a worker started after the replay sees the mark (a copy of the process's environment)");
  t.equal(free.worker.held, null);
  t.ok(held.worker.before > free.worker.before, `a worker begins larger in the replay (${held.worker.before} bytes) than in export (${free.worker.before}): --min-semi-space-size took`);

  const server = await startServer(t, { dataDir: join(dir, 'served'), ...observed, readyMs: 300_000 });
  server.child.kill('SIGTERM');
  const end = await server.exited;
  t.equal(end.code, 0, server.stderr());
  const served = observation(server.stderr());
  t.comment(`server ${JSON.stringify(served)}`);
  t.equal(served.main.held, null, 'the server never sets the mark');
  t.ok(served.main.most > held.main.most, `nor holds its young generation: the same work grows it (to ${served.main.most} bytes) beyond the replay's`);
});
