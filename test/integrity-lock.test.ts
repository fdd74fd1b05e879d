/**
 * Issue #16, finding 4: one writer per data dir. Beside a running service, `annals import`
 * and `annals rebuild` are refused (exit 5, saying who holds the data dir and what to do
 * instead) and record nothing; a second service on the same data dir is refused; the
 * commands that only read (export) still work. (A parked event making /readyz 503:
 * projections-runner.test.ts.)
 * Before: the import recorded a fact the service then parked (UNIQUE constraint failed) and
 * /readyz stayed ready across restarts.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { runCli } from './fixtures/cli.js';
import { organization, person } from './fixtures/facts.js';
import { open, tempDir } from './fixtures/integrity.js';

t.test('beside a running service: writers refused, readers served', async (t) => {
  const { app, runtime, auth, dataDir } = await startTestApp(t);
  const recorded = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'), payload: [organization('lock-org'), person('lock-p', 'P')] });
  t.equal(recorded.statusCode, 200);
  const head = await runtime.store.head();
  const file = join(await tempDir(t), 'facts.ndjson');
  await writeFile(file, `${JSON.stringify(person('lock-intruder', 'Intruder'))}\n`);

  const env = { ANNALS_DATA_DIR: dataDir };
  const [imported, rebuilt, exported] = await Promise.all([runCli(['import', file], { env }), runCli(['rebuild'], { env }), runCli(['export'], { env })]);
  t.equal(imported.code, 5, 'import: exit 5');
  t.match(imported.stderr, /annals import: the data dir .* is in use by the service \(pid \d+ on .*, since .*\): one writer at a time\. Stop the service first, or record through its POST \/v1\/facts\/batch/);
  t.equal(rebuilt.code, 5, 'rebuild: exit 5');
  t.match(rebuilt.stderr, /in use by the service .*rebuild through its POST \/v1\/admin\/rebuild/);
  t.equal(exported.code, 0, `export works beside it: ${exported.stderr}`);
  t.equal(exported.stdout.trim().split('\n').length, Number(head), 'and reads the whole log');
  t.equal(await runtime.store.head(), head, 'nothing was recorded by the refused import');

  await t.rejects(open(dataDir), { name: 'DataDirBusyError', message: /in use by the service/ }, 'a second service is refused');
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'the running service is unaffected');
});

t.test('the lock goes with the process: a service closed, the next one starts', async (t) => {
  const dir = await tempDir(t);
  const first = await open(dir);
  await first.close();
  const second = await open(dir);
  await second.close();
  t.pass('reopened after a close');
});

t.test('an event the read models parked makes /readyz 503, naming it', async (t) => {
  const { app, runtime, auth } = await startTestApp(t);
  t.equal((await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: organization('parked-org') })).statusCode, 201);
  // Appended beside the recorder (what the second writer of the finding did): a correction of a fact nobody recorded.
  const bad = await runtime.store.append('organization-parked', [{ id: crypto.randomUUID(), type: 'FactCorrected', data: { fact: '01ZZZZZZZZZZZZZZZZZZZZZZZZ', data: {}, reason: 'names no known fact' }, metadata: { factId: '01KB19R500PARKED000000001' } }], 'any');
  t.ok(await runtime.readModels.waitFor(bad.events[0]!.position, 5000));
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), { detail: /read models: 1 parked event\(s\) a projection could not apply; see GET \/v1\/admin\/projections/, readiness: { readModels: { parked: 1, ready: false }, audit: { ready: true } } });
});
