/**
 * The write side's invariants against a brute-force model (test/fixtures/write-model.ts, from
 * DESIGN.md and API.md): random sequences of appointments with partial-date terms (month ends,
 * Feb 29, Dec 31 / Jan 1, open terms, handover days), departures (ending open terms, on the
 * handover day, before a term began), corrections and retractions of them (and of chairmanships,
 * corrections and retractions), chairmanships, single- and multi-holder offices, re-registered
 * keys, documents adopted twice, malformed and unresolvable facts, retries — sent one by one to
 * POST /v1/facts and in batches to /v1/facts/batch of the real app. Every answer's status is the
 * model's; after every refusal the log's head has not moved.
 *
 * WRITE_SEED=<seed> WRITE_RUNS=1: the sequence of a failure again; WRITE_RUNS=<n> (default 12)
 * and WRITE_STEPS=<n> (default: 40–90 a sequence) for longer runs.
 */
import t from 'tap';
import fc from 'fast-check';
import { startTestApp } from './fixtures/app.js';
import { newFactId, SOURCE } from './fixtures/facts.js';
import { prng } from './fixtures/history.js';
import { WriteModel, certainConflict, certainConflictByWalk, days, type ModelFact, type Span } from './fixtures/write-model.js';

type Data = Record<string, any>;
interface Body {
  type: string;
  factId: string;
  data: Data;
  source: typeof SOURCE;
}

t.test("the model's certain overlap equals a walk over every reading of two terms", async (t) => {
  // Small integer days 0..7 (8: the open end's horizon); every span the schema accepts (e1 >= s0).
  const spans: Span[] = [];
  for (let s0 = 0; s0 < 8; s0++)
    for (let s1 = s0; s1 < 8; s1++) {
      spans.push({ s0, s1, e0: Infinity, e1: Infinity });
      for (let e0 = 0; e0 < 8; e0++) for (let e1 = Math.max(e0, s0); e1 < 8; e1++) spans.push({ s0, s1, e0, e1 });
    }
  let n = 0;
  const rnd = prng(7);
  for (let i = 0; i < 40_000; i++) {
    const x = spans[Math.floor(rnd() * spans.length)] as Span;
    const y = spans[Math.floor(rnd() * spans.length)] as Span;
    if (certainConflict(x, y) !== certainConflictByWalk(x, y, 12)) t.fail(`${JSON.stringify(x)} ${JSON.stringify(y)}`);
    n += 1;
  }
  t.pass(`${n} pairs agree`);
});

const two = (n: number) => String(n).padStart(2, '0');
const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const dayText = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);

/** One sequence: a fresh set of keys, then random facts drawn against what the model holds. */
function sequence(seed: number, steps: number, prefix: string) {
  const rnd = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const chance = (p: number) => rnd() < p;
  const k = (s: string) => `${prefix}-${s}`;
  const offices = [k('o1'), k('o2'), k('om')];
  const people = [k('a'), k('b'), k('c')];
  const orgs = [k('org'), k('org2')];
  const states = [k('s1'), k('s2'), k('s3')];
  const body = (type: string, data: Data): Body => ({ type, factId: newFactId(), data, source: { ...SOURCE } });

  const date = (): string => {
    const y = pick([2019, 2020, 2020, 2021]);
    const p = rnd();
    if (p < 0.2) return `${y}`;
    const m = pick([1, 1, 2, 2, 6, 12, 12, int(1, 12)]);
    if (p < 0.45) return `${y}-${two(m)}`;
    const last = lastDay(y, m);
    return `${y}-${two(m)}-${two(pick([1, 1, 2, 15, last - 1, last, last]))}`;
  };
  /** A date a day away from (or on) an edge of an existing date: handovers, the day before, the day after. */
  const near = (d: string, end: 'lo' | 'hi'): string => {
    const b = days(d) as [number, number];
    return dayText((end === 'lo' ? b[0] : b[1]) + pick([-1, 0, 0, 0, 1]));
  };
  const ordered = (from: string, to: string): { from: string; to: string } => {
    const f = days(from) as [number, number];
    const e = days(to) as [number, number];
    return e[1] >= f[0] ? { from, to } : { from: to, to: from };
  };
  const terms = (model: WriteModel, type: string, where: string, field: string) =>
    [...model.facts.values()].filter((f) => f.type === type && f.data[field] === where && !f.retracted).map((f) => f.data['term'] as { from: string; to?: string });
  const term = (others: Array<{ from: string; to?: string }>): { from: string; to?: string } => {
    const o = others.length && chance(0.6) ? pick(others) : null;
    if (o && o.to && chance(0.5)) {
      // The next term, from about the day this one ends: on it (the handover), a day either side.
      const from = near(o.to, pick(['lo', 'hi']));
      return chance(0.3) ? { from } : ordered(from, chance(0.5) ? date() : near(from, 'hi'));
    }
    if (o && chance(0.5)) {
      // The term before, ending about the day this one begins.
      const to = near(o.from, pick(['lo', 'hi']));
      return ordered(chance(0.5) ? date() : pick([`${to.slice(0, 4)}`, `${to.slice(0, 7)}`]), to);
    }
    const from = date();
    if (chance(0.2)) return { from };
    return ordered(from, chance(0.2) ? from : date());
  };

  const standingOf = (model: WriteModel, types: string[]) => [...model.facts.values()].filter((f) => types.includes(f.type));
  let docs = 0;

  /** The next fact, drawn against the model's record. */
  const next = (model: WriteModel): Body => {
    const r = rnd();
    if (r < 0.3) {
      const office = pick(offices);
      const data: Data = { office, person: pick(people), term: term(terms(model, 'OfficialAppointed', office, 'office')) };
      if (chance(0.1)) data['acting'] = true;
      return body('OfficialAppointed', data);
    }
    if (r < 0.45) {
      const apps = standingOf(model, ['OfficialAppointed']);
      const a = apps.length && chance(0.85) ? pick(apps) : null;
      if (!a) return body('OfficialLeftOffice', { office: pick(offices), person: pick(people), on: date() });
      const t = a.data['term'] as { from: string; to?: string };
      const on = pick([t.to ? near(t.to, 'hi') : date(), near(t.from, 'lo'), near(t.from, 'hi'), date(), t.to ?? date(), dayText((days(t.from) as number[])[0] as number - 1)]);
      return body('OfficialLeftOffice', { office: a.data['office'], person: chance(0.9) ? a.data['person'] : pick(people), on });
    }
    if (r < 0.55) {
      const org = pick(orgs);
      return body('ChairmanshipPassed', { organization: org, chair: pick(states), term: term(terms(model, 'ChairmanshipPassed', org, 'organization')) });
    }
    if (r < 0.72) {
      const targets = standingOf(model, ['OfficialAppointed', 'OfficialLeftOffice', 'ChairmanshipPassed', 'FactCorrected', 'FactRetracted', 'DocumentAdopted']);
      if (!targets.length) return body('PersonRegistered', { key: k(`p${int(0, 9)}`), name: 'X' });
      const f = pick(targets) as ModelFact;
      const data = structuredClone(f.data);
      if (f.type === 'OfficialAppointed') {
        const what = rnd();
        if (what < 0.55) data['term'] = term(terms(model, 'OfficialAppointed', data['office'], 'office'));
        else if (what < 0.8) data['person'] = pick(people);
        else if (what < 0.9) data['office'] = pick(offices); // moved to another office: a 400 unless the same
        else data['term'] = { ...data['term'], to: undefined };
        if (data['term'].to === undefined) delete data['term'].to;
      } else if (f.type === 'OfficialLeftOffice') {
        const what = rnd();
        if (what < 0.7) data['on'] = chance(0.5) ? near(data['on'], pick(['lo', 'hi'])) : date();
        else if (what < 0.9) data['person'] = pick(people);
        else data['office'] = pick(offices);
      } else if (f.type === 'ChairmanshipPassed') {
        if (chance(0.7)) data['term'] = term(terms(model, 'ChairmanshipPassed', data['organization'], 'organization'));
        else if (chance(0.7)) data['chair'] = pick(states);
        else data['organization'] = pick(orgs);
      } else if (f.type === 'DocumentAdopted') data['adoptedOn'] = date();
      else data['reason'] = 'again';
      return body('FactCorrected', { fact: f.id, data, reason: 'the source was misread' });
    }
    if (r < 0.82) {
      const targets = standingOf(model, ['OfficialAppointed', 'OfficialLeftOffice', 'ChairmanshipPassed', 'FactCorrected', 'FactRetracted', 'DocumentAdopted']);
      if (!targets.length) return body('PersonRegistered', { key: k(`p${int(0, 9)}`), name: 'X' });
      // Departures most: a retracted departure opens its term again.
      const deps = targets.filter((f) => f.type === 'OfficialLeftOffice');
      const f = deps.length && chance(0.4) ? pick(deps) : pick(targets);
      return body('FactRetracted', { fact: f.id, reason: 'not supported by the source' });
    }
    if (r < 0.87) {
      const what = rnd();
      if (what < 0.3) return body('PersonRegistered', { key: chance(0.5) ? pick(people) : k(`p${int(0, 9)}`), name: 'Again' });
      if (what < 0.45) return body('OrganizationRegistered', { key: pick([...orgs, ...states, k(`n${int(0, 9)}`)]), name: 'Again' });
      if (what < 0.7) {
        docs += 1;
        return body('DocumentConsidered', { key: k(`d${docs}`), title: 'A plan', kind: 'plan', body: k('org'), session: k('sess') });
      }
      const known = [...model.keys].filter(([, kind]) => kind === 'document').map(([key]) => key);
      if (known.length && chance(0.7)) return body('DocumentAdopted', { document: pick(known), body: k('org'), adoptedOn: date() });
      docs += 1;
      return body('DocumentAdopted', { key: k(`d${docs}`), title: 'A plan', kind: 'plan', body: k('org'), adoptedOn: date() });
    }
    if (r < 0.9) {
      const regs = standingOf(model, ['PersonRegistered']).filter((f) => !f.retracted);
      const what = rnd();
      // A registration retracted (its person no longer resolves), or corrected: its key kept, or changed (400).
      if (what < 0.4 && regs.length) return body('FactRetracted', { fact: pick(regs).id, reason: 'no such person' });
      if (what < 0.8 && regs.length) {
        const f = pick(regs);
        return body('FactCorrected', { fact: f.id, data: { key: chance(0.6) ? f.data['key'] : k(`p${int(10, 19)}`), name: 'Renamed' }, reason: 'misspelt' });
      }
      // One factId, other content: 409.
      const recorded = standingOf(model, ['OfficialAppointed', 'ChairmanshipPassed']);
      if (recorded.length) {
        const f = pick(recorded);
        return { ...body(f.type, { ...f.data, term: { from: '2019-01-01', to: '2019-01-02' } }), factId: f.id };
      }
    }
    // Malformed or unresolvable.
    const what = rnd();
    const office = pick(offices);
    if (what < 0.2) return body('OfficialAppointed', { office, person: pick(people), term: { from: '2021-03-01', to: pick(['2021-02-28', '2020', '2021-02']) } });
    if (what < 0.4) return body('OfficialAppointed', { office, person: pick(people), term: { from: pick(['2019-02-29', '2021-02-29', '2020-04-31', '2020-13', '2020-00-10']) } });
    if (what < 0.55) return body('OfficialLeftOffice', { office, person: pick(people), on: pick(['2021-02-29', '2020-06-31']) });
    if (what < 0.7) return body('OfficialAppointed', { office, person: pick(people), term: { from: date() }, [pick(['holder', 'until', 'term_to'])]: 1 });
    if (what < 0.85) return body('OfficialAppointed', { office: pick([k('nowhere'), office]), person: pick([k('nobody'), k('org')]), term: { from: date() } });
    return body('FactCorrected', { fact: newFactId(), data: { office, person: pick(people), on: date() }, reason: 'r' });
  };

  const ground: Body[] = [
    ...orgs.map((key) => body('OrganizationRegistered', { key, name: key })),
    ...states.map((key) => body('OrganizationRegistered', { key, name: key, classification: 'state' })),
    ...people.map((key) => body('PersonRegistered', { key, name: key })),
    ...offices.map((key) => body('OfficeEstablished', { key, organization: k('org'), title: key, multipleHolders: key.endsWith('om') })),
    body('SessionHeld', { key: k('sess'), body: k('org'), held: { from: '2020-05-05' } }),
  ];
  return { ground, next, steps, rnd };
}

t.test('every answer of the real app to random write sequences is the model\'s, and a refusal records nothing', async (t) => {
  const a = await startTestApp(t);
  const headers = a.auth('recorder');
  const head = async () => JSON.stringify(await a.runtime.store.head());
  const seedOf = Number(process.env['WRITE_SEED'] ?? 0);
  let sequences = 0;
  let facts = 0;
  const seen: Record<string, number> = {};
  const why: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 40, max: 90 }), async (drawn, drawnSteps) => {
      const seed = seedOf || drawn;
      const steps = Number(process.env['WRITE_STEPS'] ?? drawnSteps);
      sequences += 1;
      const model = new WriteModel();
      const s = sequence(seed, steps, `w${sequences}x${seed}`);
      const trail: string[] = [];
      const fail = (what: string): never => {
        throw new Error(`seed ${seed} steps ${steps}: ${what}\nthe sequence:\n${trail.slice(-25).join('\n')}`);
      };
      const g = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers, payload: s.ground });
      if (g.json().recorded !== s.ground.length) fail(`the ground: ${g.body}`);
      for (const b of s.ground) model.decide(b).apply?.();
      const recorded: Body[] = [];
      for (let i = 0; i < s.steps; i++) {
        if (recorded.length && s.rnd() < 0.04) {
          // A retry of a recorded fact: its original answer, nothing new.
          const b = recorded[Math.floor(s.rnd() * recorded.length)] as Body;
          const before = await head();
          const r = await a.app.inject({ method: 'POST', url: '/v1/facts', headers, payload: b });
          trail.push(`retry ${JSON.stringify(b)} -> ${r.statusCode}`);
          if (r.statusCode !== 200 && r.statusCode !== 201) fail(`a retry answered ${r.statusCode} ${r.body}`);
          if ((await head()) !== before) fail('a retry recorded something');
          continue;
        }
        if (s.rnd() < 0.2) {
          // A batch of 2–4: decided in order, stopping at the first refusal.
          const n = 2 + Math.floor(s.rnd() * 3);
          const items: Body[] = [];
          const expected: Array<{ status: number; why: string }> = [];
          let stop = false;
          const shadow = model; // decided in order against the record the earlier ones leave
          for (let j = 0; j < n && !stop; j++) {
            const b = s.next(shadow);
            const d = shadow.decide(b);
            items.push(b);
            expected.push(d);
            if (d.apply) {
              d.apply();
              recorded.push(b);
            } else stop = true;
          }
          const before = await head();
          const r = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers, payload: items });
          const answer = r.json() as Data;
          items.forEach((b, j) => trail.push(`batch[${j}] ${JSON.stringify(b)} -> model ${expected[j]?.status} (${expected[j]?.why})`));
          trail.push(`  app: ${r.statusCode} ${r.body.slice(0, 600)}`);
          const accepted = expected.filter((e) => e.status === 201).length;
          const refusal = expected.find((e) => e.status !== 201);
          facts += items.length;
          for (const e of expected) seen[e.status] = (seen[e.status] ?? 0) + 1;
          if (r.statusCode !== 200 || answer['recorded'] !== accepted || (answer['error']?.status ?? null) !== (refusal?.status ?? null)) fail('the batch answer is not the model\'s');
          if (refusal) {
            // The batch's facts go out in waves (a registration after its key's), not in batch order: its last position is the greatest.
            const last = answer['results'].map((x: Data) => x['position'] as string).sort().at(-1);
            const now = await head();
            if (accepted === 0 ? now !== before : JSON.parse(now) !== last) fail('the refused part of a batch recorded something');
          }
          continue;
        }
        const b = s.next(model);
        const d = model.decide(b);
        const before = await head();
        const r = await a.app.inject({ method: 'POST', url: '/v1/facts', headers, payload: b });
        trail.push(`${JSON.stringify(b)} -> model ${d.status} (${d.why}), app ${r.statusCode}${r.statusCode === 201 ? '' : ` ${r.body.slice(0, 400)}`}`);
        facts += 1;
        seen[d.status] = (seen[d.status] ?? 0) + 1;
        why[d.why.replace(/ [0-9A-Z]{26}| w\d+x\d+-\w+/g, ' …')] = (why[d.why.replace(/ [0-9A-Z]{26}| w\d+x\d+-\w+/g, ' …')] ?? 0) + 1;
        if (r.statusCode !== d.status) fail(`the app answered ${r.statusCode}, the model ${d.status}`);
        if (d.apply) {
          d.apply();
          recorded.push(b);
        } else if ((await head()) !== before) fail('a refusal recorded something');
      }
    }),
    { numRuns: Number(process.env['WRITE_RUNS'] ?? 12), endOnFailure: true, ...(process.env['WRITE_FC_SEED'] ? { seed: Number(process.env['WRITE_FC_SEED']) } : {}) },
  );
  t.comment(`${sequences} sequences, ${facts} facts compared; by the model's status: ${JSON.stringify(seen)}`);
  t.comment(`single facts by the model's reason: ${JSON.stringify(why)}`);
  t.ok(facts > 0);
});
