/**
 * Two writers can never both win: 16 concurrent clients appoint overlapping terms to one
 * single-holder office, on the real embedded store. Exactly one 201, the rest 409, one
 * appointment in the log.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

t.test('16 concurrent clients, overlapping terms, one office', async (t) => {
  const a = await startTestApp(t, { store: 'sqlite' });
  const people = Array.from({ length: 16 }, (_, i) => f.person(`c-p${i}`, `Person ${i}`));
  const setup = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: [f.organization('c-org'), f.office('c-sg', 'c-org'), ...people] });
  t.equal(setup.json().recorded, 18);

  const answers = await Promise.all(
    people.map((_, i) =>
      a.app.inject({
        method: 'POST',
        url: '/v1/facts',
        headers: a.auth('recorder'),
        payload: f.appointed('c-sg', `c-p${i}`, { from: `2020-0${1 + (i % 9)}-01`, to: '2024-12-31' }),
      }),
    ),
  );
  const statuses = answers.map((r) => r.statusCode).sort();
  t.same(statuses, [201, ...Array(15).fill(409)]);
  const winner = answers.find((r) => r.statusCode === 201)?.json();
  for (const r of answers.filter((x) => x.statusCode === 409)) {
    t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(r.json().collidesWith, winner.factId, 'each loser names the winner');
  }
  const log = await a.runtime.store.readAll({ types: ['OfficialAppointed'] });
  t.equal(log.length, 1);
});

t.test('concurrent recorders racing on one stream: expected revisions make losers re-decide', async (t) => {
  const a = await startTestApp(t, { store: 'sqlite' });
  await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: [f.organization('r-org'), f.session('r-s', 'r-org', { from: '2025-11-27' }), f.person('r-p', 'P')] });
  // Non-conflicting facts on one stream: every one is recorded, each at its own revision.
  const answers = await Promise.all(Array.from({ length: 24 }, () => a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: f.attended('r-s', 'r-p') })));
  t.same([...new Set(answers.map((r) => r.statusCode))], [201]);
  t.same(answers.map((r) => r.json().revision).sort((x: number, y: number) => x - y), Array.from({ length: 24 }, (_, i) => i + 1));
});

t.test('two processes (two recorders, one store) racing: the expected revision lets one win', async (t) => {
  const { createRecorder, parseFactRequest } = await import('../src/record/index.js');
  const { openSqliteStore } = await import('../src/store/sqlite.js');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'annals-race-'));
  const store = openSqliteStore(join(dir, 'events.db'));
  const recorders = [0, 1].map(() => createRecorder({ store, readModels: { waitFor: async () => true }, newId: f.newFactId }));
  t.teardown(async () => {
    for (const r of recorders) await r.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const ctx = { principal: 'recorder:race0000', correlationId: 'race' };
  const setup = await recorders[0]?.recordBatch([f.organization('x-org'), f.office('x-sg', 'x-org'), ...Array.from({ length: 16 }, (_, i) => f.person(`x-p${i}`, `P${i}`))], ctx);
  t.equal(setup?.recorded, 18);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 16 }, (_, i) => (recorders[i % 2] as (typeof recorders)[0]).record(parseFactRequest(f.appointed('x-sg', `x-p${i}`, { from: '2020-01-01', to: '2024-12-31' })), ctx)),
  );
  t.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  t.ok(outcomes.every((o) => o.status === 'fulfilled' || (o.reason as { kind?: string }).kind === 'conflict'));
  t.equal((await store.readAll({ types: ['OfficialAppointed'] })).length, 1);
});
