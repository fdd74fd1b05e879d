/**
 * GET /v1/facts/{factId} (every version of a fact: original, corrections with reason and
 * moment, retraction) and `correctedBy` on read answers, over the real app on the example
 * record: the worked example's chairmanship typed as 2024, then corrected to 2025.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';

const KG_CHAIR = '01KB19R500W0RKEDEXAMP1E001';
const CORRECTION = '01KB19R500W0RKEDEXAMP1E002';
const source = { title: 'Recorder’s note for the worked example' };

t.test('a fact, its correction and its retraction, on both sides of each', async (t) => {
  // The store's clock moves only when the test moves it: "before the correction" is a moment named here.
  const clock = manualClock();
  const { app, auth } = await startTestApp(t, { env: { ANNALS_SEED: 'example' }, clock: clock.now });
  const post = async (body: unknown) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body as object });
    t.equal(r.statusCode, 201, r.body);
    return r.json() as { recordedAt: string };
  };
  const get = async (url: string) => {
    const r = await app.inject({ url });
    return { status: r.statusCode, body: r.json() as Record<string, any> };
  };

  const original = await post({ type: 'ChairmanshipPassed', factId: KG_CHAIR, data: { organization: 'csto', chair: 'kg', term: { from: '2024-01-01', to: '2024-12-31' } }, source });
  const before = clock.advance();
  clock.advance();
  const correction = await post({ type: 'FactCorrected', factId: CORRECTION, data: { fact: KG_CHAIR, reason: 'the year was mistyped', data: { organization: 'csto', chair: 'kg', term: { from: '2025-01-01', to: '2025-12-31' } } }, source });

  const now = await get(`/v1/facts/${KG_CHAIR}`);
  t.equal(now.status, 200);
  t.equal(now.body.status, 'corrected');
  t.same(now.body.current.term, { from: '2025-01-01', to: '2025-12-31' }, 'what reads show now');
  t.same(
    now.body.versions.map((v: any) => [v.kind, v.factId, v.recordedAt, v.reason, v.data.term.from]),
    [
      ['original', KG_CHAIR, original.recordedAt, null, '2024-01-01'],
      ['correction', CORRECTION, correction.recordedAt, 'the year was mistyped', '2025-01-01'],
    ],
  );
  t.match(now.body.versions[0], { recordedBy: /^recorder:[0-9a-f]{8}$/, source, type: 'ChairmanshipPassed', stream: /^organization-/ });

  const then = await get(`/v1/facts/${KG_CHAIR}?knownAt=${before}`);
  t.equal(then.body.status, 'recorded', 'before the correction, the fact stood as first recorded');
  t.same(then.body.versions.map((v: any) => v.kind), ['original']);
  t.same(then.body.current.term, { from: '2024-01-01', to: '2024-12-31' });

  const viaCorrection = await get(`/v1/facts/${CORRECTION}`);
  t.equal(viaCorrection.body.factId, KG_CHAIR, 'a correction’s factId answers with the fact it corrects');
  t.equal(viaCorrection.body.asked, CORRECTION);
  t.equal((await get(`/v1/facts/${CORRECTION}?knownAt=${before}`)).status, 404, 'the correction was not recorded yet');
  t.equal((await get(`/v1/facts/${KG_CHAIR}?knownAt=2025-01-01T00:00:00Z`)).status, 404, 'nor the fact');
  t.equal((await get('/v1/facts/01KB19R500EXAMP1E000000999')).status, 404);
  const bad = await get('/v1/facts/not-a-ulid');
  t.equal(bad.status, 400);
  t.same(bad.body.errors.map((e: any) => e.path), ['factId']);
  t.equal((await get(`/v1/facts/${KG_CHAIR}?knownAt=yesterday`)).status, 400);

  // correctedBy on the answers that show the corrected item, and not before the correction.
  const chair = await get('/v1/organizations/csto/chair?validAt=2025-06-01');
  t.same(chair.body.chairs[0].correctedBy, { factId: CORRECTION, reason: 'the year was mistyped', recordedAt: correction.recordedAt });
  const chairBefore = await get(`/v1/organizations/csto/chair?validAt=2024-06-01&knownAt=${before}`);
  t.equal(chairBefore.body.chairs[0].factId, KG_CHAIR);
  t.notOk('correctedBy' in chairBefore.body.chairs[0], 'as it stood before, the item was not corrected');
  const org = await get('/v1/organizations/csto');
  t.same(org.body.organization.chairs.find((c: any) => c.factId === KG_CHAIR).correctedBy.factId, CORRECTION);
  t.notOk(org.body.organization.chairs.find((c: any) => c.factId !== KG_CHAIR).correctedBy, 'the uncorrected chairmanship is not marked');

  // A corrected appointment, attendance, document and person; then a retraction.
  const appointment = '01KB19R500EXAMP1E000000022';
  const appointmentData = { office: 'csto-secretary-general', person: 'taalatbek-masadykov', term: { from: '2026-01-01', to: '2028-12-31' }, acting: true, session: 'csto-collective-security-council-2025-11-27', appointedBy: 'csto-collective-security-council' };
  await post({ type: 'FactCorrected', data: { fact: appointment, reason: 'acting, says a later release', data: appointmentData }, source });
  const holder = await get('/v1/offices/csto-secretary-general/holder?validAt=2026-06-01');
  t.match(holder.body.holders[0], { acting: true, correctedBy: { reason: 'acting, says a later release' } });
  const succession = await get('/v1/offices/csto-secretary-general/holders');
  t.same(succession.body.holders.map((h: any) => Boolean(h.correctedBy)), [false, true]);
  const person = await get('/v1/people/taalatbek-masadykov');
  t.match(person.body.person.roles[0].correctedBy, { reason: 'acting, says a later release' });

  await post({ type: 'FactCorrected', data: { fact: '01KB19R500EXAMP1E000000008', reason: 'spelling', data: { key: 'taalatbek-masadykov', name: 'Talatbek Masadykov', aliases: [] } }, source });
  t.match((await get('/v1/people/taalatbek-masadykov')).body.person, { name: 'Talatbek Masadykov', correctedBy: { reason: 'spelling' } });

  await post({ type: 'FactCorrected', data: { fact: '01KB19R500EXAMP1E000000017', reason: 'capacity', data: { session: 'csto-collective-security-council-2025-11-27', person: 'igor-petrishenko', representing: 'cis' } }, source });
  const session = await get('/v1/sessions/csto-collective-security-council-2025-11-27');
  t.match(session.body.session.attendees[0], { office: null, correctedBy: { reason: 'capacity' } });
  t.notOk(session.body.session.correctedBy, 'the session itself was not corrected');

  const retraction = await post({ type: 'FactRetracted', data: { fact: KG_CHAIR, reason: 'no source says so' }, source });
  const retracted = await get(`/v1/facts/${KG_CHAIR}`);
  t.equal(retracted.body.status, 'retracted');
  t.equal(retracted.body.current, null);
  t.same(retracted.body.versions.map((v: any) => [v.kind, v.reason, v.data === null]), [
    ['original', null, false],
    ['correction', 'the year was mistyped', false],
    ['retraction', 'no source says so', true],
  ]);
  t.equal(retracted.body.versions[2].recordedAt, retraction.recordedAt);
  t.same((await get('/v1/organizations/csto/chair?validAt=2025-06-01')).body.chairs, [], 'a retracted fact is no longer shown');
});
