/**
 * ANNALS_SEED=example: the example goes into an empty store once. A restart, a second seed,
 * an `annals import` of the same file, all leave one copy; a seed interrupted half-way is
 * completed; a store holding other facts is left alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { exampleFacts, exampleFilePath } from '../src/example/facts.js';
import { SEED_PRINCIPAL, seedExample } from '../src/example/seed.js';
import type { Runtime } from '../src/runtime.js';
import { startTestApp } from './fixtures/app.js';
import { runCli } from './fixtures/cli.js';

const factsIn = async (runtime: Runtime): Promise<string[]> =>
  (await runtime.store.readAll()).filter((e) => e.type !== 'KeyReserved').map((e) => e.metadata.factId as string);

t.test('loaded once into an empty store; a restart and a second seed leave one copy', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-seed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const expected = exampleFacts().map((f) => f.factId);
  let events = 0;
  await t.test('first start', async (t) => {
    const { runtime, app } = await startTestApp(t, { dataDir: dir, env: { ANNALS_SEED: 'example' } });
    const first = await seedExample(runtime);
    // The runtime may have seeded at start already (ANNALS_SEED=example): then this one finds it there.
    t.ok(first.outcome === 'empty' ? first.recorded === 23 : first.already === 23, JSON.stringify(first));
    const second = await seedExample(runtime);
    t.same(second, { outcome: 'resumed', recorded: 0, already: 23 });
    t.same((await factsIn(runtime)).sort(), [...expected].sort(), 'every fact once');
    events = (await runtime.store.readAll()).length;
    const res = await app.inject({ url: '/v1/offices/csto-secretary-general/holders' });
    t.equal((res.json() as { holders: unknown[] }).holders.length, 2);
  });
  await t.test('restart', async (t) => {
    const { runtime } = await startTestApp(t, { dataDir: dir, env: { ANNALS_SEED: 'example' } });
    t.same(await seedExample(runtime), { outcome: 'resumed', recorded: 0, already: 23 });
    t.equal((await runtime.store.readAll()).length, events, 'no new event');
  });
  const imported = await runCli(['import', exampleFilePath(), '--data-dir', dir]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stderr, /0 facts recorded, 23 already recorded/, 'annals import of the same file records nothing');
  await t.test('after the import', async (t) => {
    const { runtime } = await startTestApp(t, { dataDir: dir });
    t.equal((await runtime.store.readAll()).length, events);
  });
});

t.test('a seed interrupted half-way is completed at the next start', async (t) => {
  const { runtime } = await startTestApp(t, { store: 'memory' });
  const facts = exampleFacts();
  const part = await runtime.recorder.recordBatch(facts.slice(0, 10), { principal: SEED_PRINCIPAL, correlationId: 'seed:example' });
  t.equal(part.recorded, 10);
  t.same(await seedExample(runtime), { outcome: 'resumed', recorded: 13, already: 10 });
  t.same((await factsIn(runtime)).sort(), facts.map((f) => f.factId).sort());
});

t.test('a store seeded from an older example file keeps what it recorded, and the seed goes on', async (t) => {
  const { runtime } = await startTestApp(t, { store: 'memory' });
  const facts = exampleFacts();
  // As the file was before the SessionHeld quote marked its cut, seeded half-way.
  const held = facts.findIndex((f) => f.type === 'SessionHeld');
  const older = facts.slice(0, held + 2).map((f, i) => (i === held ? { ...f, source: { ...f.source, quote: (f.source.quote ?? '').replace(' … ', ' ') } } : f));
  t.not(older[held]?.source.quote, facts[held]?.source.quote, 'the older file quoted otherwise');
  t.equal((await runtime.recorder.recordBatch(older, { principal: SEED_PRINCIPAL, correlationId: 'seed:example' })).recorded, held + 2);
  const seeded = await seedExample(runtime);
  t.same(seeded, { outcome: 'resumed', recorded: facts.length - held - 2, already: held + 1, kept: [facts[held]?.factId] });
  t.same((await factsIn(runtime)).sort(), facts.map((f) => f.factId).sort(), 'every fact of the example, once');
});

t.test('a store holding other facts, not the example, is left alone', async (t) => {
  const { app, runtime, auth } = await startTestApp(t, { store: 'memory' });
  const res = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { name: 'Someone' }, source: { title: 'test' } } });
  t.equal(res.statusCode, 201);
  t.same(await seedExample(runtime), { outcome: 'skipped', recorded: 0, already: 0 });
  t.equal((await factsIn(runtime)).length, 1);
});
