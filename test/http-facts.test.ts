/**
 * POST /v1/facts and /v1/facts/batch over HTTP (inject): every status API.md names, the
 * problem+json bodies, and that a refused request records nothing.
 */
import t from 'tap';
import { SCHEMA_VERSION } from '../events/index.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

async function logLength(a: TestApp): Promise<number> {
  return (await a.runtime.store.readAll()).length;
}

async function post(a: TestApp, payload: unknown, headers: Record<string, string> = a.auth('recorder'), url = '/v1/facts') {
  const res = await a.app.inject({ method: 'POST', url, headers, payload: payload as object });
  return { status: res.statusCode, body: res.json() as Record<string, any>, headers: res.headers };
}

async function ground(a: TestApp, prefix = 't'): Promise<void> {
  const res = await post(a, f.officeGround(prefix), a.auth('recorder'), '/v1/facts/batch');
  if (res.body['recorded'] !== 4) throw new Error(JSON.stringify(res.body));
}

t.test('201: recorded, entity references stored as ids, principal and request recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const org = await post(a, f.organization('csto'));
  t.equal(org.status, 201);
  t.match(org.body, { factId: String, id: org.body['factId'], type: 'OrganizationRegistered', stream: `organization-${org.body['factId']}`, revision: 0, position: String, recordedAt: /Z$/ });
  const office = await post(a, f.office('csto-sg', 'csto'));
  t.equal(office.status, 201);
  const [stored] = await a.runtime.store.readStream(office.body['stream']);
  t.equal((stored?.data as any).organization, org.body['factId'], 'the key is replaced by the id');
  t.equal((stored?.data as any).multipleHolders, false, 'defaults applied');
  t.match(stored?.metadata, { factId: office.body['factId'], recordedBy: /^recorder:[0-9a-f]{8}$/, correlationId: String, schemaVersion: SCHEMA_VERSION, source: f.SOURCE });
  t.notMatch(JSON.stringify(stored?.metadata), a.tokens.recorder, 'the token itself is not stored');
});

t.test('200 on a retry: the original result, nothing new; other content under that factId: 409', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const body = f.person('alice', 'Alice', f.newFactId());
  const first = await post(a, body);
  const before = await logLength(a);
  const again = await post(a, body);
  t.equal(first.status, 201);
  t.equal(again.status, 200);
  t.same(again.body, first.body);
  t.equal(await logLength(a), before);
  const other = await post(a, { ...body, data: { key: 'alice', name: 'Alicia' } });
  t.equal(other.status, 409);
  t.equal(other.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(await logLength(a), before);
});

t.test('Idempotency-Key: a retry without factId maps to the same fact', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const headers = { ...a.auth('recorder'), 'idempotency-key': 'import-42' };
  const first = await post(a, f.person(undefined, 'Bob'), headers);
  const again = await post(a, f.person(undefined, 'Bob'), headers);
  t.equal(first.status, 201);
  t.equal(again.status, 200);
  t.equal(again.body['factId'], first.body['factId']);
  const [stored] = await a.runtime.store.readStream(first.body['stream']);
  t.equal(stored?.metadata['idempotencyKey'], 'import-42');
});

t.test('Idempotency-Key of 1 to 200 characters: taken without zod when well formed, refused by zod otherwise', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const withKey = (key: string) => ({ ...a.auth('recorder'), 'idempotency-key': key });
  const longest = await post(a, f.person(undefined, 'Carol'), withKey('k'.repeat(200)));
  t.equal(longest.status, 201, '200 characters');
  const before = await logLength(a);
  for (const [name, key] of [['201 characters', 'k'.repeat(201)], ['empty', '']] as const) {
    const res = await post(a, f.person(undefined, 'Dave'), withKey(key));
    t.equal(res.status, 400, name);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', name);
    t.match(res.body['detail'], /idempotency-key/, name);
  }
  t.equal(await logLength(a), before, 'nothing recorded');
  const batch = await post(a, [f.person(undefined, 'Erin')], withKey('k'.repeat(201)), '/v1/facts/batch');
  t.equal(batch.status, 400, 'the batch route too');
  t.equal(await logLength(a), before);
});

t.test('400: problem+json naming each bad field, nothing recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  await ground(a);
  const before = await logLength(a);
  const cases: Array<[string, unknown, string[]]> = [
    ['unknown top-level field', { ...f.person('x', 'X'), colour: 'red' }, ['colour']],
    ['unknown nested field', f.appointed('t-sg', 't-alice', { from: '2020', to: '2021', since: 1 } as any), ['data.term.since']],
    ['impossible date', f.appointed('t-sg', 't-alice', { from: '2023-02-29' }), ['data.term.from']],
    ['term ending before it begins', f.appointed('t-sg', 't-alice', { from: '2020-05-01', to: '2020-04-30' }), ['data.term.to']],
    ['no source', { type: 'PersonRegistered', data: { name: 'X' } }, ['source']],
    ['unknown type', { type: 'PersonBorn', data: {}, source: f.SOURCE }, ['type']],
    ['bad factId', { ...f.person(undefined, 'X'), factId: 'not-a-ulid' }, ['factId']],
    ['several at once', { type: 'OfficialAppointed', data: { office: 'Bad Key', person: 't-alice', term: { from: '20' } }, source: { title: '' } }, ['data.office', 'data.term.from', 'source.title']],
  ];
  for (const [name, body, paths] of cases) {
    const res = await post(a, body);
    t.equal(res.status, 400, name);
    t.match(res.body, { type: String, title: String, status: 400, detail: String }, name);
    t.same((res.body['errors'] as { path: string }[]).map((e) => e.path).sort(), [...paths].sort(), name);
  }
  const empty = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { ...a.auth('recorder'), 'content-type': 'application/json' }, payload: '' });
  t.equal(empty.statusCode, 400);
  const broken = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { ...a.auth('recorder'), 'content-type': 'application/json' }, payload: '{"type":' });
  t.equal(broken.statusCode, 400);
  const poisoned = await a.app.inject({
    method: 'POST',
    url: '/v1/facts',
    headers: { ...a.auth('recorder'), 'content-type': 'application/json' },
    payload: '{"type":"PersonRegistered","data":{"name":"X","__proto__":{"admin":true}},"source":{"title":"t"}}',
  });
  t.equal(poisoned.statusCode, 400, 'prototype poisoning refused');
  t.equal(poisoned.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.equal(await logLength(a), before, 'nothing recorded');
});

t.test('401 and 403', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const none = await post(a, f.person(undefined, 'X'), {});
  t.equal(none.status, 401);
  t.match(none.headers['www-authenticate'], /^Bearer/);
  t.equal((await post(a, f.person(undefined, 'X'), { authorization: 'Bearer not-a-valid-token-at-all' })).status, 401);
  t.equal((await post(a, f.person(undefined, 'X'), { authorization: `Basic ${a.tokens.recorder}` })).status, 401);
  t.equal((await post(a, 'not even json', {})).status, 401, 'credentials are checked before the body');
  const auditor = await post(a, f.person(undefined, 'X'), a.auth('auditor'));
  t.equal(auditor.status, 403);
  t.match(auditor.body, { status: 403, type: String, title: String, detail: String });
  t.equal((await post(a, [f.person(undefined, 'X')], a.auth('admin'), '/v1/facts/batch')).status, 403);
  t.equal(await logLength(a), 0);
});

t.test('404: references that do not resolve, named by path', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  await ground(a);
  const before = await logLength(a);
  const nobody = await post(a, f.appointed('t-sg', 'nobody', { from: '2020' }));
  t.equal(nobody.status, 404);
  t.same(nobody.body['errors'].map((e: any) => e.path), ['data.person']);
  const wrongKind = await post(a, f.appointed('t-alice', 't-bob', { from: '2020' }));
  t.equal(wrongKind.status, 404, 'a key of the wrong kind of entity');
  t.match(wrongKind.body['errors'][0].message, /names a person, not a office/);
  const unknownId = await post(a, f.appointed(f.newFactId(), 't-bob', { from: '2020' }));
  t.equal(unknownId.status, 404);
  const correction = await post(a, f.retracted(f.newFactId()));
  t.equal(correction.status, 404);
  t.same(correction.body['errors'].map((e: any) => e.path), ['data.fact']);
  t.equal(await logLength(a), before);
});

t.test('409: invariants, naming the fact collided with', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  await ground(a);
  const key = await post(a, f.person('t-alice', 'Another Alice'));
  t.equal(key.status, 409, 'a key is registered once');
  t.type(key.body['collidesWith'], 'string');
  const first = await post(a, f.appointed('t-sg', 't-alice', { from: '2016-01-01', to: '2019-12-31' }));
  t.equal(first.status, 201);
  const handover = await post(a, f.appointed('t-sg', 't-bob', { from: '2019-12-31', to: '2022-12-31' }));
  t.equal(handover.status, 201, 'the handover day is allowed');
  const before = await logLength(a);
  const overlap = await post(a, f.appointed('t-sg', 't-alice', { from: '2021-01-01' }));
  t.equal(overlap.status, 409);
  t.equal(overlap.body['collidesWith'], handover.body['factId']);
  t.match(overlap.body['detail'], handover.body['factId']);
  const left = await post(a, f.leftOffice('t-sg', 't-alice', '2015-01-01'));
  t.equal(left.status, 409, 'leaving before the term began');
  t.equal(await logLength(a), before);
});

t.test('corrections and retractions over HTTP', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  await ground(a);
  const appt = await post(a, f.appointed('t-sg', 't-alice', { from: '2016-01-01', to: '2019-12-31' }));
  const bad = await post(a, f.corrected(appt.body['factId'], { office: 't-sg', person: 't-alice', term: { from: '2016-01-01', to: '2015-01-01' } }));
  t.equal(bad.status, 400);
  t.same(bad.body['errors'].map((e: any) => e.path), ['data.data.term.to']);
  const unresolvable = await post(a, f.corrected(appt.body['factId'], { office: 't-sg', person: 'nobody', term: { from: '2016' } }));
  t.equal(unresolvable.status, 404);
  t.same(unresolvable.body['errors'].map((e: any) => e.path), ['data.data.person']);
  const good = await post(a, f.corrected(appt.body['factId'], { office: 't-sg', person: 't-alice', term: { from: '2016-01-01', to: '2020-06-30' } }));
  t.equal(good.status, 201);
  t.equal(good.body['stream'], appt.body['stream'], "the correction goes to the corrected fact's stream");
  const last = (await a.runtime.store.readStream(appt.body['stream'])).at(-1);
  t.equal(last?.type, 'FactCorrected');
  t.equal((last?.data as any).data.term.to, '2020-06-30');
  const retraction = await post(a, f.retracted(appt.body['factId']));
  t.equal(retraction.status, 201);
  const again = await post(a, f.retracted(appt.body['factId']));
  t.equal(again.status, 409);
  t.equal(again.body['collidesWith'], retraction.body['factId']);
  const ofCorrection = await post(a, f.retracted(good.body['factId']));
  t.equal(ofCorrection.status, 400, 'name the original, not the correction');
});

t.test('413: a body over the limit', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const big = f.person(undefined, 'X');
  (big.source as any).quote = 'x'.repeat(1024 * 1024 + 10);
  const res = await post(a, big);
  t.equal(res.status, 413);
  t.match(res.body, { status: 413, type: String, title: String, detail: String });
  t.equal(await logLength(a), 0);
});

t.test('batch: JSON array, decided in order, stops at the first refused fact, retry records nothing twice', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const items = [
    ...f.officeGround('b').map((x) => ({ ...x, factId: f.newFactId() })),
    { ...f.appointed('b-sg', 'b-alice', { from: '2016-01-01', to: '2019-12-31' }), factId: f.newFactId() },
    { ...f.appointed('b-sg', 'b-bob', { from: '2019-12-31' }), factId: f.newFactId() },
    { ...f.appointed('b-sg', 'b-alice', { from: '2020-01-01' }), factId: f.newFactId() },
    { ...f.person('b-carol', 'Carol'), factId: f.newFactId() },
  ];
  const res = await post(a, items, a.auth('recorder'), '/v1/facts/batch');
  t.equal(res.status, 200);
  t.equal(res.body['recorded'], 6);
  t.same(res.body['results'].map((r: any) => r.factId), items.slice(0, 6).map((i) => i.factId));
  t.match(res.body['error'], { index: 6, status: 409, type: String, title: String, detail: String, collidesWith: items[5]?.factId });
  const length = await logLength(a);
  const again = await post(a, items.slice(0, 6), a.auth('recorder'), '/v1/facts/batch');
  t.equal(again.body['recorded'], 6);
  t.notOk(again.body['error']);
  t.same(again.body['results'], res.body['results'], 'the original results');
  t.equal(await logLength(a), length, 'nothing recorded twice');
});

t.test('batch: an invalid fact is refused with its index and paths; earlier ones stay recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const res = await post(a, [f.person(undefined, 'A'), { ...f.person(undefined, 'B'), extra: 1 }, f.person(undefined, 'C')], a.auth('recorder'), '/v1/facts/batch');
  t.equal(res.body['recorded'], 1);
  t.match(res.body['error'], { index: 1, status: 400, errors: [{ path: 'extra' }] });
  t.equal(await logLength(a), 1);
  const notArray = await post(a, { type: 'PersonRegistered' }, a.auth('recorder'), '/v1/facts/batch');
  t.equal(notArray.status, 400);
  const tooMany = await post(a, Array.from({ length: 10_001 }, () => 1), a.auth('recorder'), '/v1/facts/batch');
  t.equal(tooMany.status, 400);
  t.equal(await logLength(a), 1);
});

t.test('batch: application/x-ndjson; a malformed body (a line that is not JSON) is a 400 naming the line, nothing recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const ndjson = (payload: string) => a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...a.auth('recorder'), 'content-type': 'application/x-ndjson' }, payload });
  const lines = f.officeGround('n').map((x) => JSON.stringify(x));
  const ok = await ndjson(`${lines.join('\n')}\n\n`);
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().recorded, 4);
  const crlf = await ndjson([f.person(undefined, 'R'), f.person(undefined, 'S')].map((x) => JSON.stringify(x)).join('\r\n'));
  t.equal(crlf.json().recorded, 2, 'CRLF line ends are fine');

  const bad = await ndjson([JSON.stringify(f.person(undefined, 'P')), '{"type": oops', JSON.stringify(f.person(undefined, 'Q'))].join('\n'));
  t.equal(bad.statusCode, 400);
  t.match(bad.headers['content-type'], /application\/problem\+json/);
  t.match(bad.json(), { status: 400, type: String, title: String, detail: /line 2/, errors: [{ path: 'line 2', message: String }] });
  t.equal(bad.json().errors.length, 1);

  // A body cut off mid-line: the lines before the cut are not recorded either.
  const whole = [f.person(undefined, 'T'), f.person(undefined, 'U'), f.person(undefined, 'V')].map((x) => JSON.stringify(x)).join('\n');
  const cut = await ndjson(whole.slice(0, whole.length - 10));
  t.equal(cut.statusCode, 400);
  t.match(cut.json(), { errors: [{ path: 'line 3' }] });

  const poisoned = await ndjson(`${JSON.stringify(f.person(undefined, 'W'))}\n{"type":"PersonRegistered","data":{"name":"X","__proto__":{"polluted":1}},"source":{"title":"t"}}`);
  t.equal(poisoned.statusCode, 400);
  t.match(poisoned.json(), { detail: /^line 2 \(fact \[1\]\) holds a prototype-poisoning key/, errors: [{ path: '[1].data.__proto__', message: 'line 2: a prototype-poisoning key is not allowed' }] });
  t.equal(({} as any).polluted, undefined);
  // Spelt with an escape, or as constructor.prototype: the same refusal, naming the field.
  for (const [line, path] of [
    ['{"type":"PersonRegistered","data":{"name":"X","\\u005f_proto__":{"polluted":1}},"source":{"title":"t"}}', '[1].data.__proto__'],
    ['{"type":"PersonRegistered","data":{"name":"X","constructor":{"prototype":{"polluted":1}}},"source":{"title":"t"}}', '[1].data.constructor'],
  ] as const) {
    const r = await ndjson(`${JSON.stringify(f.person(undefined, 'W'))}\n${line}`);
    t.equal(r.statusCode, 400, path);
    t.match(r.json(), { errors: [{ path, message: 'line 2: a prototype-poisoning key is not allowed' }] }, path);
  }
  t.equal(await logLength(a), 4 + 4 + 2, 'nothing of a malformed body recorded');

  // Well-formed facts refused by validation keep the batch behaviour: recorded up to the refused one.
  const refused = await ndjson([JSON.stringify(f.person(undefined, 'Y')), JSON.stringify({ type: 'PersonRegistered' }), JSON.stringify(f.person(undefined, 'Z'))].join('\n'));
  t.equal(refused.statusCode, 200);
  t.equal(refused.json().recorded, 1);
  t.match(refused.json().error, { index: 1, status: 400 });
  t.equal(await logLength(a), 4 + 4 + 2 + 1);
});

t.test('batch: a JSON array cut off or not JSON is a 400, nothing recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const json = (payload: string) => a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...a.auth('recorder'), 'content-type': 'application/json' }, payload });
  const whole = JSON.stringify([f.person(undefined, 'A'), f.person(undefined, 'B'), f.person(undefined, 'C')]);
  const cut = await json(whole.slice(0, whole.length - 10));
  t.equal(cut.statusCode, 400);
  t.match(cut.headers['content-type'], /application\/problem\+json/);
  t.match(cut.json(), { status: 400, type: String, title: String, detail: String, errors: [{ path: String, message: String }] });
  const poisoned = await json(`[${JSON.stringify(f.person(undefined, 'D'))},{"type":"PersonRegistered","data":{"name":"X","__proto__":{"polluted":1}},"source":{"title":"t"}}]`);
  t.equal(poisoned.statusCode, 400);
  t.equal(({} as any).polluted, undefined);
  t.equal(await logLength(a), 0);
});

t.test('OpenAPI 3.1 at /openapi.json, reference at /docs', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const doc = await a.app.inject({ url: '/openapi.json' });
  t.equal(doc.statusCode, 200);
  const spec = doc.json();
  t.match(spec.openapi, /^3\.1/);
  t.ok(spec.paths['/v1/facts']?.post?.requestBody, 'the fact schema is documented');
  t.ok(spec.paths['/v1/facts/batch']?.post);
  const docs = await a.app.inject({ url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger/i);
});
