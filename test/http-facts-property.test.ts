/**
 * Property: no bad input records anything or yields a 5xx. Thousands of random, malformed,
 * oversized and hostile bodies go to /v1/facts and /v1/facts/batch; every answer is a 4xx
 * problem+json (for a batch: that, or 200 with nothing recorded and the first fact's 4xx
 * problem as `error`), and the log's length does not change.
 */
import fc from 'fast-check';
import t from 'tap';
import { FACT_TYPES } from '../events/index.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

interface Base {
  body: f.FactBody;
  datePath: string[];
  refPath: string[];
}

const BASES: Base[] = [
  { body: f.appointed('p-sg', 'p-bob', { from: '2030-01-01', to: '2031-12-31' }), datePath: ['data', 'term', 'from'], refPath: ['data', 'person'] },
  { body: f.chairmanship('p-org', 'p-state', { from: '2026-01-01', to: '2026-12-31' }), datePath: ['data', 'term', 'to'], refPath: ['data', 'chair'] },
  { body: f.membership('p-org', 'p-state', '1992-05-15'), datePath: ['data', 'on'], refPath: ['data', 'member'] },
  { body: f.session(undefined, 'p-org', { from: '2025-11-27' }), datePath: ['data', 'held', 'from'], refPath: ['data', 'body'] },
  { body: f.leftOffice('p-sg', 'p-alice', '2020-06-30'), datePath: ['data', 'on'], refPath: ['data', 'office'] },
];

type Json = Record<string, any>;
type Mutation = (body: Json, base: Base) => void;

const set = (obj: Json, path: string[], value: unknown): void => {
  let node = obj;
  for (const k of path.slice(0, -1)) node = node[k] as Json;
  node[path[path.length - 1] as string] = value;
};

const badDate = fc.oneof(
  fc.constantFrom('2023-02-29', '2021-13-01', '2021-00-10', '2021-04-31', '0000', '99', '2020-1-1', '2020/01/01', '', ' 2020', '2020-01-01T00:00:00Z', '１９９２'),
  fc.string().filter((s) => !/^\d{4}(-\d{2}(-\d{2})?)?$/.test(s)),
);
// Not null: `term.to: null` is valid (open as known).
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const unknownKey = fc.string({ minLength: 1, maxLength: 20 }).map((s) => `x_${s}`);

/** Each mutation surely makes the fact wrong: malformed (400), unresolvable (404) or conflicting (409). */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom<string[]>([], ['data'], ['source']), unknownKey, fc.jsonValue()).map(([at, k, v]) => (b: Json) => set(b, [...at, k], v)),
  badDate.map((d) => (b: Json, base: Base) => set(b, base.datePath, d)),
  notAString.map((v) => (b: Json, base: Base) => set(b, base.datePath, v)),
  notAString.map((v) => (b: Json, base: Base) => set(b, base.refPath, v)),
  fc.stringMatching(/^[a-z0-9]{1,12}$/).map((k) => (b: Json, base: Base) => set(b, base.refPath, `nobody-${k}`)),
  fc.string().filter((s) => !(FACT_TYPES as string[]).includes(s)).map((ty) => (b: Json) => set(b, ['type'], ty)),
  fc.string().filter((s) => !/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(s)).map((id) => (b: Json) => set(b, ['factId'], id)),
  fc.constantFrom<Mutation>(
    (b) => delete b['source'],
    (b) => delete b['data'],
    (b) => set(b, ['source', 'title'], '   '),
    (b) => set(b, ['source', 'url'], 'javascript:alert(1)'),
    (b) => set(b, ['data'], []),
    (b) => set(b, ['source'], 'a string'),
  ),
);

const mutatedFact = fc.tuple(fc.constantFrom(...BASES), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([base, ms]) => {
  const body = structuredClone(base.body) as Json;
  for (const m of ms) {
    if (body['data'] === undefined && ms.length > 1) body['data'] = structuredClone(base.body.data);
    try {
      m(body, base);
    } catch {
      // A path through a removed or replaced node: the body stays broken by an earlier mutation.
    }
  }
  return body;
});

/** Raw texts: hostile, truncated, deeply nested, poisoned. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
  mutatedFact.map((b) => JSON.stringify(b).slice(0, -1)),
  mutatedFact.map((b) => JSON.stringify(b).replace('"data":', '"data":{"__proto__":{"polluted":true}},"_":')),
  fc.constantFrom(
    '{"type":"PersonRegistered","data":{"name":"X"},"source":{"title":"t"},"__proto__":{"polluted":true}}',
    '{"type":"PersonRegistered","data":{"name":"X","constructor":{"prototype":{"polluted":true}}},"source":{"title":"t"}}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"a":${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}`,
    '\u0000\u0001\u0002',
    '{"type":"PersonRegistered","data":{"name":"\ud800"},"source":{"title":""}}',
    'null',
    '[]',
    '""',
  ),
);

const contentType = fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'application/x-ndjson');

function checkProblem(status: number, headers: Record<string, unknown>, body: any): boolean {
  if (status < 400 || status >= 500) return false;
  if (!String(headers['content-type']).startsWith('application/problem+json')) return false;
  if (typeof body?.type !== 'string' || typeof body?.title !== 'string' || body?.status !== status || typeof body?.detail !== 'string') return false;
  if (status === 400 && !(Array.isArray(body.errors) && body.errors.every((e: any) => typeof e.path === 'string' && typeof e.message === 'string'))) return false;
  return true;
}

async function send(a: TestApp, url: string, payload: string, type: string) {
  const res = await a.app.inject({ method: 'POST', url, headers: { ...a.auth('recorder'), 'content-type': type }, payload });
  let body: any;
  try {
    body = res.json();
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, headers: res.headers as Record<string, unknown>, body };
}

/** A 4xx problem; for a batch also a 200 that recorded nothing and names its first fact's 4xx problem. */
function refused(url: string, r: { status: number; headers: Record<string, unknown>; body: any }): boolean {
  if (url === '/v1/facts/batch' && r.status === 200) {
    const e = r.body?.error;
    return r.body?.recorded === 0 && r.body?.results?.length === 0 && e?.index === 0 && e.status >= 400 && e.status < 500 && typeof e.detail === 'string';
  }
  return checkProblem(r.status, r.headers, r.body);
}

t.test('bad input never records anything and never yields a 5xx', async (t) => {
  const a = await startTestApp(t, { store: 'memory' });
  const ground = await a.app.inject({
    method: 'POST',
    url: '/v1/facts/batch',
    headers: a.auth('recorder'),
    payload: [f.organization('p-org'), f.state('p-state'), f.office('p-sg', 'p-org'), f.person('p-alice', 'Alice'), f.person('p-bob', 'Bob'), f.appointed('p-sg', 'p-alice', { from: '2016-01-01' })],
  });
  t.equal(ground.json().recorded, 6);
  const length = (await a.runtime.store.readAll()).length;
  const failures: unknown[] = [];
  const params = { numRuns: 0, seed: Number(process.env['FC_SEED'] ?? Date.now() % 2 ** 31) };
  t.comment(`fast-check seed ${params.seed}`);

  await fc.assert(
    fc.asyncProperty(mutatedFact, fc.constantFrom('/v1/facts', '/v1/facts/batch'), async (body, url) => {
      const r = await send(a, url, JSON.stringify(url === '/v1/facts' ? body : [body]), 'application/json');
      if (!refused(url, r)) failures.push({ body, r });
      return refused(url, r);
    }),
    { ...params, numRuns: 900 },
  );
  await fc.assert(
    fc.asyncProperty(hostileText, contentType, fc.constantFrom('/v1/facts', '/v1/facts/batch'), async (text, type, url) => {
      const r = await send(a, url, text, type);
      if (!refused(url, r)) failures.push({ text: text.slice(0, 300), type, url, r });
      return refused(url, r);
    }),
    { ...params, numRuns: 900 },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(mutatedFact, { minLength: 1, maxLength: 50 }), fc.boolean(), async (items, ndjson) => {
      const payload = ndjson ? items.map((i) => JSON.stringify(i)).join('\n') : JSON.stringify(items);
      const r = await send(a, '/v1/facts/batch', payload, ndjson ? 'application/x-ndjson' : 'application/json');
      return refused('/v1/facts/batch', r);
    }),
    { ...params, numRuns: 200 },
  );
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 64 }), fc.constantFrom('/v1/facts', '/v1/facts/batch'), async (kib, url) => {
      const limit = url === '/v1/facts' ? a.runtime.config.bodyLimit : a.runtime.config.batchBodyLimit;
      const big = { ...f.person(undefined, 'X'), source: { title: 't', quote: 'q'.repeat(limit + kib * 1024) } };
      const r = await send(a, url, JSON.stringify(url === '/v1/facts' ? big : [big]), 'application/json');
      return r.status === 413 && checkProblem(r.status, r.headers, r.body);
    }),
    { ...params, numRuns: 10 },
  );
  t.same(failures.slice(0, 3), [], 'every answer was a refusal');
  t.equal((await a.runtime.store.readAll()).length, length, "the log's length did not change");
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
});
