/**
 * Issue #17, finding 2: only well-formed UTF-8 and Unicode is recorded. Bytes that are not
 * UTF-8 and lone surrogates (raw or escaped) were stored and read back as U+FFFD; a body
 * declared latin1 was read as UTF-8. Now each is refused, naming the field, and nothing is
 * recorded.
 */
import t from 'tap';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

const post = (a: TestApp, url: string, payload: string | Buffer, contentType = 'application/json') =>
  a.app.inject({ method: 'POST', url, headers: { ...a.auth('recorder'), 'content-type': contentType }, payload });

const text = (body: unknown): string => JSON.stringify(body);

t.test('lone surrogates and bytes that are not UTF-8 are a 400 naming the field; nothing is recorded', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const good = text(f.person(undefined, 'Ünïcödé ✓ 𝔘'));
  t.equal((await post(a, '/v1/facts', good)).statusCode, 201, 'well-formed text is recorded');
  const before = (await a.runtime.store.readAll()).length;

  const escaped = good.replace('Ünïcödé ✓ 𝔘', 'A\\ud800B');
  const lowAlone = good.replace('Ünïcödé ✓ 𝔘', '\\udfff');
  const badBytes = Buffer.concat([Buffer.from(good.slice(0, good.indexOf('Ünïcödé'))), Buffer.from([0x41, 0xff, 0xfe, 0x42]), Buffer.from(good.slice(good.indexOf('Ünïcödé') + 'Ünïcödé ✓ 𝔘'.length))]);
  const overlong = Buffer.from(good.replace('Ünïcödé ✓ 𝔘', 'X'));
  overlong[overlong.indexOf('X'.charCodeAt(0), overlong.indexOf('"name"'))] = 0xc1;
  const encodedSurrogate = Buffer.concat([Buffer.from(good.slice(0, good.indexOf('Ünïcödé'))), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(good.slice(good.indexOf('Ünïcödé') + 'Ünïcödé ✓ 𝔘'.length))]);
  const badKey = text({ ...f.person(undefined, 'X'), source: { title: 't', '\ud83d': 'x' } }).replace('\ud83d', '\\ud83d');
  const cases: Array<[string, string | Buffer, string]> = [
    ['an escaped lone high surrogate', escaped, 'data.name'],
    ['an escaped lone low surrogate', lowAlone, 'data.name'],
    ['bytes that are not UTF-8', badBytes, 'data.name'],
    ['an overlong encoding', overlong, 'data.name'],
    ['a surrogate encoded in UTF-8', encodedSurrogate, 'data.name'],
    ['a lone surrogate in a field name', badKey, 'source.\ud83d'],
  ];
  for (const [name, payload, path] of cases) {
    const res = await post(a, '/v1/facts', payload);
    t.equal(res.statusCode, 400, name);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.same(res.json().errors.map((e: { path: string }) => e.path), [path], `${name}: names ${path}`);
  }
  const batch = await post(a, '/v1/facts/batch', `[${good.replace('"name":"Ünïcödé ✓ 𝔘"', '"name":"ok"')},${escaped}]`);
  t.equal(batch.statusCode, 400, 'a batch with one bad string is refused whole');
  t.same(batch.json().errors.map((e: { path: string }) => e.path), ['[1].data.name']);
  const ndjson = await post(a, '/v1/facts/batch', Buffer.concat([Buffer.from(`${text(f.person(undefined, 'ok'))}\n`), badBytes, Buffer.from('\n')]), 'application/x-ndjson');
  t.equal(ndjson.statusCode, 400, 'NDJSON too');
  t.same(ndjson.json().errors.map((e: { path: string }) => e.path), ['[1].data.name']);
  t.match(ndjson.json().errors[0].message, /^line 2: /);
  t.equal((await a.runtime.store.readAll()).length, before, 'nothing recorded');
});

t.test('a body in another charset is a 415; UTF-8 however it is spelled is read', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const latin1 = Buffer.from(text(f.person(undefined, 'Zoë')), 'latin1');
  for (const type of ['application/json; charset=latin1', 'application/json; charset=ISO-8859-1', 'application/json;charset="windows-1252"', 'application/json; charset=utf-16']) {
    const res = await post(a, '/v1/facts', latin1, type);
    t.equal(res.statusCode, 415, type);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.match(res.json().detail, /UTF-8/);
  }
  t.equal((await post(a, '/v1/facts/batch', `${text(f.person(undefined, 'Zoë'))}\n`, 'application/x-ndjson; charset=latin1')).statusCode, 415, 'NDJSON too');
  for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=utf8']) {
    const res = await post(a, '/v1/facts', text(f.person(undefined, 'Zoë')), type);
    t.equal(res.statusCode, 201, type);
  }
  const people = (await a.runtime.store.readAll()).filter((e) => e.type === 'PersonRegistered').map((e) => (e.data as { name: string }).name);
  t.same([...new Set(people)], ['Zoë'], 'read back as sent');
});

t.test('a URL whose escapes are not UTF-8 is a 400 naming the parameter', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const res = await a.app.inject({ method: 'GET', url: '/v1/people?q=%ff%fe' });
  t.equal(res.statusCode, 400);
  t.same(res.json().errors.map((e: { path: string }) => e.path), ['q']);
  const surrogate = await a.app.inject({ method: 'GET', url: '/v1/people?q=%ed%a0%80' });
  t.equal(surrogate.statusCode, 400, 'an encoded surrogate is not UTF-8');
  const path = await a.app.inject({ method: 'GET', url: '/v1/people/%c0%80' });
  t.equal(path.statusCode, 400);
  t.same(path.json().errors.map((e: { path: string }) => e.path), ['(path)']);
  t.equal((await a.app.inject({ method: 'GET', url: '/v1/people?q=Zo%C3%AB' })).statusCode, 200, 'UTF-8 escapes are read');
});

t.test('a poisoning key spelt with escapes is refused like a plain one (the parser skips its walk only when neither can be in the text)', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const before = (await a.runtime.store.readAll()).length;
  const escapedProto = '{"type":"PersonRegistered","data":{"name":"X","\\u005f\\u005fproto\\u005f\\u005f":{"admin":true}},"source":{"title":"t"}}';
  const escapedConstructor = '{"type":"PersonRegistered","data":{"name":"X","\\u0063onstructor":{"prototype":{"admin":true}}},"source":{"title":"t"}}';
  for (const [name, payload] of [['__proto__', escapedProto], ['constructor.prototype', escapedConstructor]] as const) {
    const res = await post(a, '/v1/facts', payload);
    t.equal(res.statusCode, 400, `${name} escaped: 400`);
    t.match(res.json(), { errors: [{ message: 'a prototype-poisoning key is not allowed' }] }, `${name} escaped: named as poisoning, not as an unknown field`);
    const batch = await post(a, '/v1/facts/batch', `[${payload}]`);
    t.equal(batch.statusCode, 400, `${name} escaped, in a batch: 400`);
  }
  t.equal((await a.runtime.store.readAll()).length, before, 'nothing recorded');
});
