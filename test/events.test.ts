import t from 'tap';
import { monotonicFactory, ulidToUUID } from 'ulid';
import {
  EntityRef,
  FACT_TYPES,
  FactMetadata,
  OPEN_END,
  PartialDate,
  SCHEMA_VERSION,
  Source,
  Term,
  Timestamp,
  certainlyOverlapBeyondHandover,
  derivedEventId,
  factSchemas,
  isFactType,
  keyStream,
  lowerBound,
  overlap,
  parseStream,
  precisionOf,
  streamOf,
  termBounds,
  ulidToUuid,
  upcast,
  upperBound,
  uuidToUlid,
} from '../events/index.js';

t.test('partial dates: real calendar days only', async (t) => {
  for (const ok of ['2026', '2026-02', '2024-02-29', '1961-09-18', '0001']) t.ok(PartialDate.safeParse(ok).success, ok);
  for (const bad of ['2019-02-30', '2023-02-29', '2026-13', '2026-00', '2026-1', '26', '2026-01-01T00:00', '0000', '', 'soon', '2026-04-31']) {
    t.notOk(PartialDate.safeParse(bad).success, bad);
  }
});

t.test('partial dates: bounds and precision', async (t) => {
  t.equal(lowerBound('2026'), '2026-01-01');
  t.equal(upperBound('2026'), '2026-12-31');
  t.equal(upperBound('2024-02'), '2024-02-29');
  t.equal(upperBound('2023-02'), '2023-02-28');
  t.equal(lowerBound('2025-11-27'), '2025-11-27');
  t.equal(upperBound('2025-11-27'), '2025-11-27');
  t.equal(precisionOf('2026'), 'year');
  t.equal(precisionOf('2026-05'), 'month');
  t.equal(precisionOf('2026-05-01'), 'day');
  t.throws(() => lowerBound('nope'), RangeError);
  t.ok(OPEN_END > '9999-12-31');
});

t.test('timestamps: RFC 3339 UTC with milliseconds', async (t) => {
  t.ok(Timestamp.safeParse('2025-11-27T12:00:00.000Z').success);
  for (const bad of ['2025-11-27T12:00:00Z', '2025-11-27T12:00:00.000+01:00', '2025-02-30T12:00:00.000Z', '2025-11-27']) {
    t.notOk(Timestamp.safeParse(bad).success, bad);
  }
});

t.test('terms: `to` not before `from`', async (t) => {
  t.ok(Term.safeParse({ from: '2026-01-01', to: '2028-12-31' }).success);
  t.ok(Term.safeParse({ from: '2026' }).success);
  t.ok(Term.safeParse({ from: '2026', to: '2026' }).success, 'began and ended in 2026');
  t.ok(Term.safeParse({ from: '2026-05', to: '2026' }).success, 'a month inside the year it ends in');
  const bad = Term.safeParse({ from: '2026-01-02', to: '2026-01-01' });
  t.notOk(bad.success);
  t.same(bad.error?.issues[0]?.path, ['to']);
  t.notOk(Term.safeParse({ from: '2026', extra: 1 }).success, 'unknown fields refused');
});

t.test('certainty of overlap (DESIGN.md, Two time axes)', async (t) => {
  // UN Secretaries-General around 1961: Hammarskjöld died 1961-09-18, U Thant acting from 1961-11-03.
  const hammarskjold = { from: '1953-04-10', to: '1961-09-18' };
  const thant = { from: '1961-11-03', to: '1971-12-31' };
  t.equal(overlap(hammarskjold, '1961'), 'certain');
  t.equal(overlap(thant, '1961'), 'certain');
  t.equal(overlap(hammarskjold, '1961-10-01'), null, 'vacant on 1961-10-01');
  t.equal(overlap(thant, '1961-10-01'), null);
  t.equal(overlap({ from: '2026' }, '2026-06-01'), 'possible', 'began some time in 2026');
  t.equal(overlap({ from: '2026-01-01', to: '2026' }, '2026-06-01'), 'possible', 'ended some time in 2026');
  t.equal(overlap({ from: '2026-01-01' }, '2030'), 'certain', 'open end');
  t.equal(overlap({ from: '2026-01-01', to: '2028-12-31' }, { q0: '2025-11-27', q1: '2025-11-27' }), null);
  t.same(termBounds({ from: '2026', to: '2027-03' }), { s0: '2026-01-01', s1: '2026-12-31', e0: '2027-03-01', e1: '2027-03-31' });
});

t.test('single holder: the handover day is allowed, more is not', async (t) => {
  const a = { from: '2020-01-01', to: '2025-12-31' };
  t.notOk(certainlyOverlapBeyondHandover(a, { from: '2025-12-31' }), 'handover day');
  t.notOk(certainlyOverlapBeyondHandover(a, { from: '2026-01-01' }), 'next day');
  t.ok(certainlyOverlapBeyondHandover(a, { from: '2025-12-30' }), 'two days');
  t.ok(certainlyOverlapBeyondHandover(a, { from: '2019', to: '2021' }), 'certainly shared 2020');
  t.notOk(certainlyOverlapBeyondHandover({ from: '2019', to: '2025' }, { from: '2025' }), 'only possibly overlapping');
  t.ok(certainlyOverlapBeyondHandover({ from: '2020-01-01' }, { from: '2024-01-01' }), 'open terms');
  t.ok(certainlyOverlapBeyondHandover(a, { from: '2022-06-01', to: '2022-06-01' }), 'one day inside another term is not a handover');
  t.ok(certainlyOverlapBeyondHandover({ from: '2022-06-01', to: '2022-06-01' }, a), 'either order');
  t.notOk(certainlyOverlapBeyondHandover(a, { from: '2025-12-31', to: '2025-12-31' }), 'a one-day term on the handover day');
  t.ok(certainlyOverlapBeyondHandover({ from: '2020-01-01', to: '2020-01-01' }, { from: '2020-01-01', to: '2020-01-01' }), 'the same single day twice');
  t.notOk(certainlyOverlapBeyondHandover({ from: '2026-01-01' }, a), 'the next term begins after the handover day');
  t.ok(certainlyOverlapBeyondHandover({ from: '2021-01-01' }, { from: '2021', to: '2021-01-02' }), 'a start read with its end: surely begun by 2021-01-02, inside an open term');
  t.ok(certainlyOverlapBeyondHandover(a, { from: '2021', to: '2021' }), 'some days of 2021, all inside a');
  t.notOk(certainlyOverlapBeyondHandover({ from: '2020-01-01', to: '2020-12-31' }, { from: '2020', to: '2021' }), 'may begin on the last day');
});

t.test('ids: ULID <-> UUID, keys, references', async (t) => {
  const id = '01JD6Z3W5RJ5S6Q7TPW2Y8H4KM';
  const uuid = ulidToUuid(id);
  t.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(uuidToUlid(uuid), id);
  t.ok(EntityRef.safeParse('csto-secretary-general').success);
  t.ok(EntityRef.safeParse(id).success);
  for (const bad of ['CSTO', 'csto--x', '-csto', 'csto_x', '', 'a'.repeat(101)]) t.notOk(EntityRef.safeParse(bad).success, bad);
  const derived = derivedEventId(id, 'key');
  t.equal(derived, derivedEventId(id, 'key'), 'deterministic');
  t.not(derived, derivedEventId(id, 'other'));
  t.match(derived, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

t.test('ids: our ULID -> UUID agrees with the ulid package bit for bit', async (t) => {
  const next = monotonicFactory();
  const samples = ['00000000000000000000000000', '7ZZZZZZZZZZZZZZZZZZZZZZZZZ', '01JD6Z3W5RJ5S6Q7TPW2Y8H4KM', ...Array.from({ length: 2000 }, () => next())];
  const wrong = samples.filter((u) => ulidToUuid(u) !== ulidToUUID(u).toLowerCase() || uuidToUlid(ulidToUuid(u)) !== u);
  t.same(wrong, []);
  t.throws(() => ulidToUuid('not-a-ulid'), RangeError);
});

t.test('streams', async (t) => {
  const id = '01JD6Z3W5RJ5S6Q7TPW2Y8H4KM';
  t.equal(streamOf('office', id), `office-${id}`);
  t.same(parseStream(`office-${id}`), { kind: 'office', id });
  t.equal(parseStream(keyStream('csto')), null);
});

t.test('the catalogue: every fact type DESIGN.md names', async (t) => {
  t.same(FACT_TYPES.sort(), [
    'ChairmanshipPassed', 'DelegateAttended', 'DocumentAdopted', 'DocumentConsidered', 'FactCorrected', 'FactRetracted',
    'MembershipEnded', 'MembershipStarted', 'OfficeEstablished', 'OfficialAppointed', 'OfficialLeftOffice',
    'OrganizationRegistered', 'PersonRegistered', 'ReportDelivered', 'SessionHeld', 'SidelineTalksHeld',
  ]);
  t.ok(isFactType('SessionHeld'));
  t.notOk(isFactType('toString'));
  const appointed = factSchemas.OfficialAppointed.parse({ office: 'csto-secretary-general', person: 'masadykov', term: { from: '2026-01-01', to: '2028-12-31' } });
  t.equal(appointed.acting, false, 'acting defaults to false');
  t.notOk(factSchemas.OfficialAppointed.safeParse({ office: 'x', person: 'y', term: { from: '2026' }, extra: true }).success, 'strict');
});

t.test('documents: adopt a new one, or one already considered', async (t) => {
  t.ok(factSchemas.DocumentAdopted.safeParse({ title: 'Declaration', kind: 'declaration', body: 'csto-collective-security-council', adoptedOn: '2025-11-27' }).success);
  t.ok(factSchemas.DocumentAdopted.safeParse({ document: 'csto-anti-drug-strategy-2026-2030', body: 'csto-collective-security-council', adoptedOn: '2026' }).success);
  const both = factSchemas.DocumentAdopted.safeParse({ document: 'x', title: 'T', body: 'b', adoptedOn: '2026' });
  t.same(both.error?.issues.map((i) => i.path.join('.')), ['title']);
  const neither = factSchemas.DocumentAdopted.safeParse({ body: 'b', adoptedOn: '2026' });
  t.same(neither.error?.issues.map((i) => i.path.join('.')).sort(), ['kind', 'title']);
});

t.test('talks need a session or a date, and named participants', async (t) => {
  t.ok(factSchemas.SidelineTalksHeld.safeParse({ session: 's', participants: [{ organization: 'sco' }] }).success);
  t.notOk(factSchemas.SidelineTalksHeld.safeParse({ participants: [{ person: 'p' }] }).success);
  t.notOk(factSchemas.SidelineTalksHeld.safeParse({ session: 's', participants: [] }).success);
  t.notOk(factSchemas.SidelineTalksHeld.safeParse({ session: 's', participants: [{}] }).success);
});

t.test('provenance and metadata', async (t) => {
  t.ok(Source.safeParse({ title: 'Press release', publisher: 'CSTO Secretariat', publishedOn: '2025-11-27', url: 'https://example.org/x' }).success);
  t.notOk(Source.safeParse({}).success, 'title required');
  t.notOk(Source.safeParse({ title: 'x', url: 'javascript:alert(1)' }).success, 'http(s) urls only');
  t.ok(FactMetadata.safeParse({ factId: '01JD6Z3W5RJ5S6Q7TPW2Y8H4KM', recordedBy: 'recorder:1', source: { title: 't' }, correlationId: 'c', schemaVersion: 1 }).success);
});

t.test('upcasting a current event is the identity (test/upcast.test.ts: older ones)', async (t) => {
  const data = { key: 'csto', classification: 'organization' };
  t.equal(upcast('OrganizationRegistered', data, SCHEMA_VERSION), data);
  const person = { name: 'x' };
  t.equal(upcast('PersonRegistered', person, undefined), person, 'a type with no upcaster');
  const plain = { key: 'csto' };
  t.equal(upcast('OrganizationRegistered', plain, undefined), plain, 'no version: version 1, nothing of it to change');
});
