/**
 * A rebuild stopped in this process (inline read models, the real app and SQLite files): by
 * the app's close (its preClose hook, before Fastify waits for the rebuild's request), by the
 * read models' own close (the runtime closing without the app), and by a signal while the
 * service goes on. Each leaves no fresh file and the read models as they were, and the last
 * leaves them following the log. The real processes and signals are
 * projections-rebuild-stop.test.ts'.
 */
import { existsSync, readdirSync } from 'node:fs';
import t, { type Test } from 'tap';
import { RebuildStoppedError } from '../projections/index.js';
import { TestLog, dumpTables, recordRichHistory, startReadApp } from './fixtures/history.js';

const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.includes('.rebuild') || f.includes('.swapped-out'));

async function started(t: Test) {
  const log = new TestLog();
  recordRichHistory(log, 6000, 5);
  const app = await startReadApp(t, log);
  await app.readModels.caughtUp();
  return { log, ...app, before: dumpTables(app.path) };
}

t.test("the app's close stops a rebuild in flight: its request answered 503, the read models as they were", async (t) => {
  const { app, dir, path, auth, before } = await started(t);
  const answer = app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: auth('admin') });
  await t.resolves(new Promise<void>((resolve) => {
    const look = (): void => (existsSync(`${path}.rebuild`) ? resolve() : void setImmediate(look));
    look();
  }), 'the rebuild began');
  await app.close();
  const res = await answer;
  t.equal(res.statusCode, 503);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  t.equal(res.headers['retry-after'], '60');
  t.match(res.json(), { type: '/problems/unavailable', detail: /the service is stopping: the rebuild was stopped before it completed and the read models are as they were before it/ });
  t.same(leftovers(dir), [], 'no fresh file left');
  t.same(dumpTables(path), before, 'the read models as they were');
});

t.test("the read models' close stops a rebuild in flight rather than wait for it", async (t) => {
  const { readModels, dir, path, before } = await started(t);
  const rebuilt = readModels.rebuild();
  t.ok(existsSync(`${path}.rebuild`), 'the rebuild began');
  await readModels.close();
  await t.rejects(rebuilt, RebuildStoppedError);
  await t.rejects(readModels.rebuild(), RebuildStoppedError, 'a rebuild asked of closed read models is refused the same way');
  t.same(leftovers(dir), [], 'no fresh file left');
  t.same(dumpTables(path), before, 'the read models as they were');
});

t.test('a rebuild stopped by its signal while the service goes on: the read models follow the log as before', async (t) => {
  const { log, readModels, dir, path, before } = await started(t);
  const stop = new AbortController();
  const rebuilt = readModels.rebuild(undefined, stop.signal);
  stop.abort();
  await t.rejects(rebuilt, RebuildStoppedError);
  t.same(leftovers(dir), [], 'no fresh file left');
  t.same(dumpTables(path), before, 'the read models as they were');
  const recorded = log.record('PersonRegistered', { key: 'after-stop', name: 'After Stop' });
  t.ok(await readModels.waitFor(recorded.position, 10_000), 'a fact recorded after the stop is applied');
  t.equal((await readModels.rebuild()).events, log.events.length, 'and the next rebuild completes');
});
