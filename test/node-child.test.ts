/**
 * test/fixtures/node-child.ts: a child that cannot be started (here a node executable that is
 * not there: ENOENT) rejects `exited` with the reason, and a server that cannot be started fails
 * at once, instead of an 'error' event no one hears crashing the test's process or a wait for
 * a listening line that never comes.
 */
import { join } from 'node:path';
import t from 'tap';
import { SERVER, spawnNode, startServer } from './fixtures/node-child.js';

t.test('spawnNode: a child that cannot be started rejects exited, naming the script and why', async (t) => {
  const missing = join(t.testdir(), 'no-such-node');
  const script = join(t.testdir(), 'any.js');
  // Given t: its teardown (kill and reap) must not throw the error again.
  const child = spawnNode(script, { execPath: missing }, t);
  await t.rejects(child.exited, { message: `node child ${script} (${missing}): not started: spawn ${missing} ENOENT`, cause: { code: 'ENOENT' } });
  t.equal(child.child.pid, undefined, 'no process');
});

t.test('startServer: a service that cannot be started rejects at once, not at listenMs', async (t) => {
  const missing = join(t.testdir(), 'no-such-node');
  const started = performance.now();
  await t.rejects(startServer(t, { dataDir: t.testdir(), execPath: missing, listenMs: 60_000 }), { message: new RegExp(`^node child ${SERVER} \\(${missing}\\): not started: spawn .* ENOENT$`) });
  t.ok(performance.now() - started < 30_000, 'well before its listenMs');
});
