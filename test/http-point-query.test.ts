/**
 * The fast query checks (src/http/routes/point-query.ts) against zod's: on every query one
 * accepts, the same value (fields, their order, knownAt normalised); every query it does not
 * accept is left to zod. Then over the real app: the holder route takes the fast path, and its
 * refusals are still zod's.
 */
import t, { type Test } from 'tap';
import type { z } from 'zod';
import { ListQuery, LooseRef, PointQuery, RefParam } from '../src/http/routes/reads-common.js';
import { fastQuery, queryFast, refParamFast, withFastQueries } from '../src/http/routes/point-query.js';
import { pageLimit } from '../src/http/paging.js';
import { prng } from './fixtures/history.js';
import { startTestApp } from './fixtures/app.js';

const KNOWN = ['2026-12-04T18:57:00.123Z', '2026-12-04T18:57:00Z', '2026-12-04t18:57:00.1+03:00', '2026-12-04T18:57:00.123456789-01:30', '2026-02-29T00:00:00Z', '2024-02-29T23:59:59.999Z', '2026-13-01T00:00:00Z', '2026-12-04T24:00:00Z', '2026-12-04T18:57:60Z', '2026-12-04 18:57:00Z', 'now', '', '0000-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z',
  // The length of the canonical form (toISOString's), which is checked by its round trip: valid, a day that does not exist, lower case.
  '0000-01-01T00:00:00.000Z', '0000-02-29T00:00:00.000Z', '0004-02-29T00:00:00.000Z', '0100-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2026-02-29T00:00:00.000Z', '2026-12-31T23:59:59.999Z', '2026-12-32T00:00:00.000Z', '2026-00-10T00:00:00.000Z', '2026-12-04T18:57:00.00AZ', '2026-12-04T18:57:00,000Z', '2026-12-04T18:57:60.000Z', '2026-12-04T24:00:00.000Z', '2026-04-31T12:00:00.000Z', '2026-12-04t18:57:00.000Z', '2026-12-04T18:57:00.000z', '2026-12-04T18:57:00+0000', '2026-12-04T18:57:00.00+00:00', ' 2026-12-04T18:57:00.000Z'.trim(), '2026-12-04T18:57:00.000Z '];
const VALID = ['2001', '2001-03', '2001-03-04', '2001-02-29', '2000-02-29', '2001-13', '2001-3-4', '20011', '', 'x', '0000'];
const POS = ['0', '42', '00000000000000000042', '123456789012345678901', '00000000000000000001-00000000000000000002', '-1', 'a'];

/**
 * Draws `n` queries from `fields` (each field, in any order, left out when its draw is under
 * 0.4, repeated, as an array the querystring parser gives, when it is `repeatFrom` or over,
 * else one of its values) and holds `schema`'s fast check to zod's parse: what it accepts, zod accepts, with the
 * same value (the same fields in the same order: a current read's ETag hashes JSON.stringify
 * of the query). Returns how many it answered and how many it left to zod; `name` heads each failure.
 */
function compareWithZod(t: Test, schema: z.ZodObject, fields: readonly (readonly [string, readonly string[]])[], rnd: () => number, repeatFrom: number, name = 'PointQuery', n = 3000): { fast: number; left: number } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  let fast = 0;
  let left = 0;
  for (let i = 0; i < n; i++) {
    const q: Record<string, unknown> = {};
    for (const [name, values] of [...fields].sort(() => rnd() - 0.5)) {
      const r = rnd();
      if (r < 0.4) continue;
      q[name] = r < repeatFrom ? pick(values) : [pick(values), pick(values)];
    }
    const got = queryFast(schema, q);
    const zod = schema.safeParse(q);
    if (got === undefined) {
      left++;
      continue;
    }
    fast++;
    if (!zod.success) {
      t.fail(`${name}: fast accepted what zod refuses: ${JSON.stringify(q)}`);
      continue;
    }
    if (JSON.stringify(got) !== JSON.stringify(zod.data)) t.fail(`${name}: ${JSON.stringify(q)}: fast ${JSON.stringify(got)}, zod ${JSON.stringify(zod.data)}`);
    t.same(Object.keys(got), Object.keys(zod.data as object));
  }
  return { fast, left };
}

t.test('the point questions\' query (PointQuery): the fast check answers as zod does, or leaves the query to zod', async (t) => {
  // Fields in any order, sometimes repeated, sometimes with others (a cache-busting `_`, a list's `limit`).
  const { fast, left } = compareWithZod(t, PointQuery, [['knownAt', KNOWN], ['minPosition', POS], ['validAt', VALID], ['_', ['1']], ['limit', ['5']]], prng(12), 0.93);
  t.ok(fast > 500, `the fast path answered ${fast}`);
  t.ok(left > 500, `zod was left ${left}`);
  // Each knownAt alone, whatever the draw gave it: accepted fast only as zod accepts it.
  for (const knownAt of KNOWN) {
    const got = queryFast(PointQuery, { knownAt });
    const zod = PointQuery.safeParse({ knownAt });
    if (got !== undefined) t.same(got, zod.success ? zod.data : 'refused by zod', `knownAt ${knownAt}`);
  }
  // Years 0–99 in the proleptic Gregorian calendar (Date.UTC would read them as 1900–1999: 0000-02-29 was refused).
  t.same(queryFast(PointQuery, { knownAt: '0000-02-29T00:00:00.000Z' }), { knownAt: '0000-02-29T00:00:00.000Z' }, 'year 0 is a leap year, fast');
  t.same(PointQuery.safeParse({ knownAt: '0000-02-29T12:00:00+01:00' }).data, { knownAt: '0000-02-29T11:00:00.000Z' }, 'and for zod');
  t.equal(PointQuery.safeParse({ knownAt: '0100-02-29T00:00:00Z' }).success, false, '0100 is not');
  // Everything zod accepts in the common shapes is accepted fast too.
  t.same(queryFast(PointQuery, { validAt: '2001-03-04', knownAt: '2026-12-04T18:57:00+03:00' }), { knownAt: '2026-12-04T15:57:00.000Z', validAt: '2001-03-04' });
  t.same(queryFast(PointQuery, {}), {});
});

t.test('a list\'s query (fastQuery): the fast check answers as zod does, or leaves the query to zod', async (t) => {
  const byOrganization = fastQuery(ListQuery.extend({ organization: LooseRef.describe('x') }), ['organization']);
  const schemas = {
    list: fastQuery(ListQuery),
    'list without validAt': fastQuery(ListQuery.omit({ validAt: true })),
    'by organization': byOrganization,
    // limit redefined keeps its place in the shape (and in zod's answer).
    'by organization, another limit': fastQuery(byOrganization.extend({ limit: pageLimit(10) }), ['organization']),
  };
  const LIMITS = ['1', '5', '50', '500', '501', '0', '05', '1e2', ' 5', '5.0', '-1', '999', 'x', ''];
  const CURSORS = ['eyJ2IjoxfQ.abc', '', 'x'.repeat(2000), 'x'.repeat(2001), '😀'.repeat(1000), '😀'.repeat(1001)];
  const ORGS = ['org', '', 'x'.repeat(200), 'x'.repeat(201), 'é'.repeat(200)];
  const fields = [['knownAt', KNOWN], ['minPosition', POS], ['validAt', VALID], ['cursor', CURSORS], ['limit', LIMITS], ['organization', ORGS], ['_', ['1']], ['format', ['csv']]] as const;
  const rnd = prng(13);
  for (const [name, schema] of Object.entries(schemas)) {
    const { fast, left } = compareWithZod(t, schema, fields, rnd, 0.95, name);
    t.ok(fast > 100, `${name}: the fast path answered ${fast}`);
    t.ok(left > 100, `${name}: zod was left ${left}`);
  }
  t.same(queryFast(byOrganization, { organization: 'org', validAt: '2023-04-14', knownAt: '2026-12-06T12:09:46.826Z', limit: '20' }), { knownAt: '2026-12-06T12:09:46.826Z', validAt: '2023-04-14', limit: 20, organization: 'org' }, 'the common shape, fast');
  t.equal(queryFast(ListQuery.extend({}), {}), undefined, 'a schema not marked is zod\'s');
  t.throws(() => fastQuery(ListQuery.extend({ q: LooseRef })), /no fast check for the field q/, 'a field with no fast check is refused when marked');
  const compile = withFastQueries(() => () => ({ value: 'zod' }));
  const check = compile({ schema: byOrganization, method: 'GET', url: '/x', httpPart: 'querystring' }) as (d: unknown) => unknown;
  t.same(check({ organization: 'org' }), { value: { organization: 'org' } });
  t.same(check({ organization: '' }), { value: 'zod' }, 'a refusal is zod\'s');
});

t.test('an entity in the path (RefParam): the fast check answers as zod does, or leaves it to zod', async (t) => {
  const schema = RefParam('office');
  const values: unknown[] = ['csto', '01JD0000000000000000000000', '', 'x'.repeat(200), 'x'.repeat(201), 'é'.repeat(200), '😀'.repeat(100), '😀'.repeat(101), 3, null, undefined];
  const shapes: unknown[] = [null, 'csto', []];
  for (const v of values) shapes.push({ office: v }, { office: v, other: 'x' }, { org: v }, Object.assign(Object.create(null), { office: v }));
  let fast = 0;
  for (const data of shapes) {
    const got = refParamFast('office', data);
    const zod = schema.safeParse(data);
    if (got === undefined) continue;
    fast++;
    t.ok(zod.success, `zod accepts what the fast check accepts: ${JSON.stringify(data)}`);
    t.same(got, zod.data, `the same value: ${JSON.stringify(data)}`);
  }
  t.equal(fast, 10, 'five strings of 1-200 UTF-16 units under the one name, on either kind of object');
  const compile = withFastQueries(() => () => ({ value: 'zod' }));
  const check = compile({ schema, method: 'GET', url: '/x/:office', httpPart: 'params' }) as (d: unknown) => unknown;
  t.same(check({ office: 'csto' }), { value: { office: 'csto' } });
  t.same(check({ office: '' }), { value: 'zod' }, 'a refusal is zod\'s');
});

t.test('the compiler wraps marked queries only (PointQuery, not a copy of it)', async (t) => {
  let compiled = 0;
  const compile = withFastQueries(() => {
    compiled++;
    return () => ({ value: 'zod' });
  });
  const point = compile({ schema: PointQuery, method: 'GET', url: '/x', httpPart: 'querystring' }) as (d: unknown) => unknown;
  const other = compile({ schema: PointQuery.extend({}), method: 'GET', url: '/x', httpPart: 'querystring' }) as (d: unknown) => unknown;
  t.equal(compiled, 2);
  t.same(point({ validAt: '2001' }), { value: { validAt: '2001' } });
  t.same(point({ validAt: '2001-02-30' }), { value: 'zod' }, 'a refusal is zod\'s');
  t.same(other({ validAt: '2001' }), { value: 'zod' });
});

t.test('over the app: the holder route answers through it, and refuses as before', async (t) => {
  const { app } = await startTestApp(t);
  // A list's query (documents: fastListQuery) the same way.
  const list = await app.inject({ url: '/v1/documents?organization=nowhere&validAt=2001-02-03&knownAt=2026-12-04T21:57:00%2B03:00&limit=5&_=1' });
  t.equal(list.statusCode, 404);
  t.match(list.json().detail, /2026-12-04T18:57:00.000Z/, 'knownAt normalised');
  const badLimit = await app.inject({ url: '/v1/documents?organization=nowhere&limit=501' });
  t.equal(badLimit.statusCode, 400);
  t.match(badLimit.json(), { errors: [{ path: 'limit' }] });
  const bad = await app.inject({ url: '/v1/offices/nowhere/holder?validAt=2001-02-30&knownAt=2026-12-04T18:57:00Z' });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { errors: [{ path: 'validAt' }] });
  const unknown = await app.inject({ url: '/v1/offices/nowhere/holder?validAt=2001-02-03&knownAt=2026-12-04T21:57:00%2B03:00&_=1' });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json().detail, /2026-12-04T18:57:00.000Z/, 'knownAt normalised');
});
