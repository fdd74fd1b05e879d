/**
 * A batch's facts taken as they are when zod would give them back unchanged (src/record/request-fast.ts):
 * for every body tried (the example's facts, bench:record's, and variants of each: a member
 * dropped, added, moved, padded with spaces, of another type, an array member's item changed),
 * parseFactRequest answers exactly what zod's own parse answers (the same JSON, or the same
 * problems), and a body taken as it is is one zod accepts and gives back as the same JSON text.
 */
import t from 'tap';
import { FactRequest, parseFactRequest } from '../src/record/request.js';
import { acceptsAsIs } from '../src/record/request-fast.js';
import { exampleFacts } from '../src/example/facts.js';
import { DomainError } from '../src/domain/errors.js';
import { z } from 'zod';
import { SOURCE } from './fixtures/facts.js';

const zodAnswer = (body: unknown): string => {
  const parsed = FactRequest.safeParse(body);
  if (parsed.success) return `ok ${JSON.stringify(parsed.data)}`;
  return `refused ${JSON.stringify(parsed.error.issues.map((i) => [i.code, i.path, i.message]))}`;
};

const answer = (body: unknown): string => {
  try {
    return `ok ${JSON.stringify(parseFactRequest(body))}`;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return `refused ${JSON.stringify([err.message, err.extra, err.kind])}`;
  }
};

/** What the zod path alone answers through parseFactRequest's error shape. */
const zodOnly = (body: unknown): string => {
  const parsed = FactRequest.safeParse(body);
  if (parsed.success) return `ok ${JSON.stringify(parsed.data)}`;
  try {
    // The same refusal as parseFactRequest makes of zod's issues.
    parseFactRequest(JSON.parse(JSON.stringify(body)) as unknown);
  } catch (err) {
    if (err instanceof DomainError) return `refused ${JSON.stringify([err.message, err.extra, err.kind])}`;
  }
  return 'refused ?';
};

const bench = (i: number): unknown[] => [
  { type: 'PersonRegistered', data: { key: `single-c${i}-p${i}`, name: `Person ${i}` }, source: { title: 'Benchmark', publisher: 'Annals' } },
  { type: 'DelegateAttended', data: { session: '01KB19R500EXAMP1E000000001', person: `single-c${i}-p${i}`, representing: 'csto' }, source: { title: 'Benchmark', publisher: 'Annals' } },
  { type: 'PersonRegistered', factId: '01KB19R500EXAMP1E000000009', data: { name: 'Somebody' }, source: { ...SOURCE } },
];

/** Variants of a JSON value: each member dropped, an unknown one added, the first two swapped, strings padded or emptied, values of other types. */
function* variants(v: unknown, depth = 0): Generator<unknown> {
  if (typeof v === 'string') {
    yield ` ${v}`;
    yield `${v} `;
    yield '';
    yield v.toLowerCase();
    yield 'x'.repeat(2001);
    yield 7;
    yield null;
    return;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    yield String(v);
    yield null;
    return;
  }
  if (v === null) {
    yield 'null';
    return;
  }
  if (Array.isArray(v)) {
    yield [];
    yield {};
    for (let i = 0; i < v.length && depth < 4; i++) for (const x of variants(v[i], depth + 1)) yield v.map((y, j) => (j === i ? x : y));
    return;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  yield [o];
  yield { ...o, colour: 'red' };
  yield { ...o, ['__proto__']: 1 };
  yield JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(o).slice(1)}`) as unknown;
  if (keys.length > 1) {
    const [a, b, ...others] = keys as [string, string, ...string[]];
    yield Object.fromEntries([[b, o[b]], [a, o[a]], ...others.map((k) => [k, o[k]])]);
  }
  for (const k of keys) {
    const { [k]: _, ...without } = o;
    yield without;
    if (depth < 4) for (const x of variants(o[k], depth + 1)) yield { ...o, [k]: x };
  }
}

t.test('every body answers as zod answers it; a body taken as it is is what zod gives back', async (t) => {
  const bodies: unknown[] = [...exampleFacts().map((f) => JSON.parse(JSON.stringify(f)) as unknown), ...bench(3)];
  let tried = 0;
  let asIs = 0;
  let differ = 0;
  for (const body of bodies) {
    for (const v of [body, ...variants(body)]) {
      const json = JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
      tried++;
      const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
      const options = (FactRequest as unknown as { options: z.ZodType[] }).options;
      const schema = options.find((o) => (o as unknown as { shape: { type: { value: unknown } } }).shape.type.value === type);
      if (schema && acceptsAsIs(schema, json)) {
        asIs++;
        if (zodAnswer(json) !== `ok ${JSON.stringify(json)}`) {
          differ++;
          t.fail(`taken as it is, but zod answers otherwise: ${JSON.stringify(json).slice(0, 300)}`);
        }
      }
      if (answer(json) !== zodOnly(json)) {
        differ++;
        t.fail(`parseFactRequest differs from zod: ${JSON.stringify(json).slice(0, 300)}`);
      }
    }
  }
  t.equal(differ, 0, `${tried} bodies, ${asIs} taken as they are`);
  t.ok(asIs >= bodies.length, 'the valid bodies are taken as they are');
  t.ok(tried - asIs > tried / 2, 'most variants go to zod');
});

t.test('the example and bench:record facts are taken as they are, and a trimmed or reordered one is not', async (t) => {
  for (const body of bench(1)) t.equal(parseFactRequest(body), body, `${(body as { type: string }).type}: the body itself`);
  const taken = new Set<string>();
  for (const body of exampleFacts().map((f) => JSON.parse(JSON.stringify(f)) as { type: string })) {
    if (parseFactRequest(body) === body) taken.add(body.type);
  }
  t.same([...taken].sort(), ['ChairmanshipPassed', 'DelegateAttended', 'DocumentAdopted', 'DocumentConsidered', 'PersonRegistered', 'ReportDelivered', 'SessionHeld', 'SidelineTalksHeld'], 'the example\'s facts of these types are taken as they are');
  // OfficeEstablished without multipleHolders: zod fills in its default, so zod builds it.
  const office = { type: 'OfficeEstablished', data: { key: 'sg', organization: 'csto', title: 'Secretary-General' }, source: { title: 'B' } };
  const built = parseFactRequest(office);
  t.not(built, office);
  t.equal(JSON.stringify(built.data), '{"key":"sg","organization":"csto","title":"Secretary-General","multipleHolders":false}');
  const padded = { type: 'PersonRegistered', data: { name: 'Someone' }, source: { title: ' Benchmark ' } };
  const parsed = parseFactRequest(padded);
  t.not(parsed, padded, 'a source title to trim: zod builds it');
  t.same(parsed.source, { title: 'Benchmark' });
  const reordered = { type: 'PersonRegistered', source: { title: 'Benchmark' }, data: { name: 'Someone' } };
  const r = parseFactRequest(reordered);
  t.not(r, reordered, 'members out of the schema order: zod builds it');
  t.equal(JSON.stringify(r), '{"type":"PersonRegistered","data":{"name":"Someone"},"source":{"title":"Benchmark"}}');
  t.throws(() => parseFactRequest({ type: 'PersonRegistered', data: { name: 'X', colour: 'red' }, source: { title: 'B' } }), { message: 'data.colour: unknown field' });
});

t.test('schemas it does not read are left to zod', async (t) => {
  t.notOk(acceptsAsIs(z.string().transform((s) => s), 'a'), 'a pipe');
  t.notOk(acceptsAsIs(z.object({ a: z.string().default('x') }), {}), 'a default to fill in');
  t.notOk(acceptsAsIs(z.object({ a: z.string() }).catchall(z.string()), { a: 'x' }), 'a catchall');
  t.notOk(acceptsAsIs(z.coerce.string(), 'a'), 'coercion');
  t.notOk(acceptsAsIs(z.string().refine(async () => true), 'a'), 'an async check');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.string() }), Object.create({ a: 'x' }) as unknown), 'not a plain object');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.string() }), { a: 'x', b: 'y' }), 'more keys than the shape');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.string(), b: z.string().optional() }), { b: 'y' }), 'a required key absent');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.string() }), { a: undefined }), 'undefined');
  t.ok(acceptsAsIs(z.strictObject({ a: z.number(), b: z.boolean(), c: z.enum(['x', 'y']), d: z.string().nullable(), e: z.array(z.literal(1)).min(1) }), { a: 1, b: true, c: 'x', d: null, e: [1] }), 'numbers, booleans, enums, nulls, arrays');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.number() }), { a: Number.NaN }), 'NaN');
  t.notOk(acceptsAsIs(z.array(z.number()), {}), 'an array expected');
  t.notOk(acceptsAsIs(z.array(z.number()), ['1']), 'an item refused');
  t.notOk(acceptsAsIs(z.strictObject({ a: z.string().nullable() }), { a: 1 }), 'neither null nor its type');
  t.ok(acceptsAsIs(z.string().refine((s) => s.length > 1, { when: () => true }), 'ab'), 'a conditional check that passes');
  t.notOk(acceptsAsIs(z.string().refine((s) => s.length > 1, { when: () => true }), 'a'), 'a conditional check that fails');
  t.ok(acceptsAsIs(z.string().refine(() => false, { when: () => false }), 'a'), 'a conditional check that does not run');
});

/** A zod schema as request-fast.ts reads it (zod v4's `_zod` internals), for the test below. */
interface Inside {
  _zod: { def: Record<string, unknown> & { type: string; checks?: Inside[]; when?: unknown }; traits: Set<string>; check?: (p: { value: unknown; issues: unknown[] }) => unknown };
}
const inside = (s: unknown): Inside => s as Inside;

t.test('the zod internals request-fast.ts reads are where it reads them: a zod upgrade that moves one fails here, by name', async (t) => {
  // Every kind of schema in the catalogue's requests is one request-fast.ts reads, or one it leaves to zod on purpose.
  const READ = ['string', 'boolean', 'number', 'literal', 'enum', 'optional', 'nullable', 'array', 'object'];
  const LEFT = ['union', 'default', 'record', 'never'];
  const kinds = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (s: unknown): void => {
    if (s === undefined || seen.has(s)) return;
    seen.add(s);
    const def = inside(s)._zod.def;
    kinds.add(def.type);
    for (const v of Object.values((def.shape ?? {}) as Record<string, unknown>)) walk(v);
    for (const o of (def.options ?? []) as unknown[]) walk(o);
    for (const k of ['innerType', 'element', 'catchall']) walk(def[k]);
  };
  walk(FactRequest);
  t.same([...kinds].filter((k) => !READ.includes(k) && !LEFT.includes(k)), [], `zod internals: every _zod.def.type in FactRequest is known (${[...kinds].sort().join(', ')})`);
  t.ok(READ.every((k) => kinds.has(k)), 'zod internals: the kinds request-fast.ts reads are all in the catalogue');

  // Where each kind keeps what accepts() reads.
  t.equal(inside(z.string())._zod.def.type, 'string', 'zod internals: _zod.def.type');
  t.ok(inside(z.string())._zod.traits instanceof Set, 'zod internals: _zod.traits is a Set');
  t.same(Object.keys(inside(z.strictObject({ a: z.string(), b: z.number() }))._zod.def.shape as object), ['a', 'b'], 'zod internals: an object\'s def.shape, in order');
  t.equal(inside(inside(z.strictObject({ a: z.string() }))._zod.def.catchall)._zod.def.type, 'never', 'zod internals: a strict object\'s def.catchall is never');
  t.equal(inside(z.object({ a: z.string() }))._zod.def.catchall, undefined, 'zod internals: a stripping object has no def.catchall');
  t.equal(inside(inside(z.string().optional())._zod.def.innerType)._zod.def.type, 'string', 'zod internals: optional\'s def.innerType');
  t.equal(inside(inside(z.number().nullable())._zod.def.innerType)._zod.def.type, 'number', 'zod internals: nullable\'s def.innerType');
  t.equal(inside(inside(z.array(z.boolean()))._zod.def.element)._zod.def.type, 'boolean', 'zod internals: array\'s def.element');
  t.same(inside(z.literal('x'))._zod.def.values, ['x'], 'zod internals: literal\'s def.values');
  t.same(inside(z.enum(['x', 'y']))._zod.def.entries, { x: 'x', y: 'y' }, 'zod internals: enum\'s def.entries');
  t.equal(inside(z.coerce.string())._zod.def.coerce, true, 'zod internals: def.coerce');
  t.equal(inside(z.string().default('x'))._zod.def.type, 'default', 'zod internals: a default is a kind of its own (left to zod)');

  // The checks, as passes() runs them: def.checks, each `_zod.check(payload)` pushing onto payload.issues or overwriting payload.value; length checks conditional (def.when); a format a check itself.
  const [min] = inside(z.string().min(2))._zod.def.checks ?? [];
  t.type(min?._zod.check, 'function', 'zod internals: a check\'s _zod.check');
  t.type(min?._zod.def.when, 'function', 'zod internals: a length check\'s def.when');
  const short = { value: 'a', issues: [] as unknown[] };
  min?._zod.check?.(short);
  t.equal(short.issues.length, 1, 'zod internals: a failing check pushes onto payload.issues');
  const long = { value: 'ab', issues: [] as unknown[] };
  min?._zod.check?.(long);
  t.equal(long.issues.length, 0, 'zod internals: a passing check leaves payload.issues empty');
  const [trim] = inside(z.string().trim())._zod.def.checks ?? [];
  const padded = { value: ' a ', issues: [] as unknown[] };
  trim?._zod.check?.(padded);
  t.equal(padded.value, 'a', 'zod internals: an overwrite (trim) changes payload.value');
  const url = inside(z.url());
  t.ok(url._zod.traits.has('$ZodCheck'), 'zod internals: a string format is a check itself ($ZodCheck trait)');
  const bad = { value: 'not a url', issues: [] as unknown[] };
  url._zod.check?.(bad);
  t.equal(bad.issues.length, 1, 'zod internals: a format\'s own _zod.check pushes onto payload.issues');

  // And so, end to end: a valid body taken as it is, one that fails a check of each sort not.
  const shape = z.strictObject({ a: z.string().trim().min(2).max(5), u: z.url().optional() });
  t.ok(acceptsAsIs(shape, { a: 'abc', u: 'https://example.org/' }), 'a valid body is taken as it is');
  t.notOk(acceptsAsIs(shape, { a: 'a' }), 'too short: to zod');
  t.notOk(acceptsAsIs(shape, { a: 'abcdef' }), 'too long: to zod');
  t.notOk(acceptsAsIs(shape, { a: ' abc' }), 'to trim: to zod');
  t.notOk(acceptsAsIs(shape, { a: 'abc', u: 'not a url' }), 'not a url: to zod');
});

t.test('POST /v1/facts: its body schema marked, the validator answers every body as zod does, taking a body zod gives back unchanged as it is', async (t) => {
  const { startTestApp, TEST_TOKENS } = await import('./fixtures/app.js');
  const { validatorCompiler } = await import('fastify-type-provider-zod');
  const { withFastQueries } = await import('../src/http/routes/point-query.js');
  const { app } = await startTestApp(t, { store: 'memory' });
  const route = app.routeTable.find((r) => r.url === '/v1/facts' && r.method === 'POST');
  const schema = (route?.schema as { body?: unknown } | undefined)?.body;
  t.ok(schema, 'the route has a body schema');
  type Validate = (data: unknown) => { value?: unknown; error?: Error };
  const compile = (c: typeof validatorCompiler): Validate => c({ schema, method: 'POST', url: '/v1/facts', httpPart: 'body' } as never) as Validate;
  const fast = compile(withFastQueries(validatorCompiler));
  const zod = compile(validatorCompiler);
  const text = (r: { value?: unknown; error?: Error }): string => (r.error ? `error ${r.error.message}` : `ok ${JSON.stringify(r.value)}`);
  let tried = 0;
  let asIs = 0;
  let differ = 0;
  for (const body of [...exampleFacts().map((f) => JSON.parse(JSON.stringify(f)) as unknown), ...bench(5)]) {
    for (const v of [body, ...variants(body)]) {
      const json = JSON.parse(JSON.stringify(v) ?? 'null') as unknown;
      tried++;
      const got = fast(json);
      if (got.value === json) asIs++;
      if (text(got) !== text(zod(json))) {
        differ++;
        t.fail(`the route's validator differs from zod: ${JSON.stringify(json).slice(0, 300)}`);
      }
    }
  }
  t.equal(differ, 0, `${tried} bodies, ${asIs} taken as they are`);
  t.ok(asIs >= 10 && tried - asIs > tried / 2, 'the valid bodies taken as they are, most variants through zod');

  // Over HTTP: one taken as it is is recorded; one zod trims is recorded trimmed; a refusal is zod's problem+json naming the field.
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: `Bearer ${TEST_TOKENS.recorder}` }, payload: payload as object });
  const taken = await post({ type: 'PersonRegistered', data: { key: 'as-is-1', name: 'As Is' }, source: { title: 'B', publisher: 'Annals' } });
  t.equal(taken.statusCode, 201);
  t.match(taken.json(), { type: 'PersonRegistered', stream: 'person-', revision: 0 });
  const padded = await post({ type: 'PersonRegistered', data: { key: 'as-is-2', name: ' Padded ' }, source: { title: ' B ' } });
  t.equal(padded.statusCode, 201);
  const log = (await app.inject({ url: '/v1/audit/events', headers: { authorization: `Bearer ${TEST_TOKENS.auditor}` } })).body;
  const line = log.split('\n').find((l) => l.includes('"type":"PersonRegistered"') && l.includes((padded.json() as { factId: string }).factId)) ?? '';
  t.match(line, /"name":"Padded"/, 'stored trimmed, as zod trims it');
  t.notMatch(line, / Padded /);
  const refused = await post({ type: 'PersonRegistered', data: { name: 'X', colour: 'red' }, source: { title: 'B' } });
  t.equal(refused.statusCode, 400);
  t.match(refused.headers['content-type'], /application\/problem\+json/);
  t.match(refused.json(), { errors: [{ path: 'data.colour', message: 'unknown field' }] });
});
