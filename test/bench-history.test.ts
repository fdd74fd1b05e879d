/**
 * The benchmarks' synthetic record (bench/history.ts) is one the write side accepts: a sample
 * of it, recorded through POST /v1/facts/batch, is recorded whole with no refusal, and the
 * offices it names have at most one certain holder a day.
 */
import t from 'tap';
import { monotonicFactory } from 'ulid';
import { benchHistory } from '../bench/history.js';
import { startTestApp } from './fixtures/app.js';

const source = { title: 'Benchmark source', publisher: 'bench' };

t.test('a sample of the benchmark record passes every decider', async (t) => {
  const a = await startTestApp(t);
  const offices: string[] = [];
  const facts = [...benchHistory({ facts: 6_000, offices: 40, people: 300, chaired: 3, seed: 7, newId: monotonicFactory() }, offices)];
  const types = new Map<string, number>();
  for (const f of facts) types.set(f.type, (types.get(f.type) ?? 0) + 1);
  t.ok((types.get('OfficialAppointed') ?? 0) > 2_000, 'appointments: ~45 per office');
  for (const type of ['OfficialLeftOffice', 'FactCorrected', 'FactRetracted', 'ChairmanshipPassed', 'SessionHeld', 'DelegateAttended', 'MembershipStarted', 'SidelineTalksHeld']) {
    t.ok((types.get(type) ?? 0) > 0, `${type} present`);
  }
  for (let i = 0; i < facts.length; i += 1_000) {
    const chunk = facts.slice(i, i + 1_000).map((f) => ({ type: f.type, factId: f.factId, data: f.data, source }));
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: chunk });
    t.equal(res.statusCode, 200);
    const body = res.json() as { recorded: number; error?: unknown; results: { stream: string }[] };
    t.same(body.error, undefined, `facts ${i}..${i + chunk.length - 1}: no refusal`);
    t.equal(body.recorded, chunk.length);
    // The streams are the ones the benchmark appends to directly.
    t.same(body.results.map((r) => r.stream), facts.slice(i, i + chunk.length).map((f) => f.stream));
    if (body.error) break;
  }
  // One certain holder a day at most, across the succession of each office.
  let answers = 0;
  for (const office of offices.slice(0, 10)) {
    for (let y = 1990; y <= 2030; y += 3) {
      const res = await a.app.inject({ url: `/v1/offices/${office}/holder?validAt=${y}-06-15` });
      const holders = (res.json() as { holders: { certainty: string; basis: string }[] }).holders;
      const certain = holders.filter((h) => h.certainty === 'certain' && h.basis === 'appointed');
      if (certain.length > 1) t.fail(`${office} on ${y}-06-15: ${certain.length} certain holders`);
      answers += 1;
    }
  }
  t.equal(answers, 140);
});
