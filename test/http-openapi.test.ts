/**
 * The OpenAPI document is one a client generator can use, and it tells the truth:
 * - every route in Fastify's route table has a response schema (or is a page, hidden);
 * - every answer of the worked example parses under its route's response schema to the same
 *   JSON, byte for byte (no field undocumented, none out of order): the schemas describe, they
 *   do not serialize (app.ts);
 * - Redocly's `recommended` rules find no error in the served /openapi.json;
 * - a client generated from it (openapi-typescript) types every answer, and a file using those
 *   types compiles (the TypeScript compiler, strict);
 * - the body /docs offers for POST /v1/facts is accepted; POST /v1/audit/tree-head answers the
 *   201 it documents; problem types are URIs that answer their description.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import t from 'tap';
import ts from 'typescript';
import type { ZodType } from 'zod';
import { seedExample } from '../src/example/seed.js';
import { startTestApp, TEST_TOKENS } from './fixtures/app.js';

const auth = (role: keyof typeof TEST_TOKENS) => ({ authorization: `Bearer ${TEST_TOKENS[role]}` });
type Doc = { paths: Record<string, Record<string, { operationId?: string; tags?: string[]; security?: object[]; parameters?: { name: string; schema: { pattern?: string } }[]; requestBody?: { content: Record<string, { example?: unknown }> }; responses: Record<string, { content?: object }> }>>; tags: { name: string }[]; security?: object[] };
const METHODS = ['get', 'post', 'put', 'delete', 'patch'];

/** Routes that answer HTML or files for people, hidden from the document. */
const PAGES = /^\/($|organizations|offices|people|sessions|documents|facts\/|static|docs|healthz|readyz|openapi\.json)/;

t.test('the document, the route table and the answers agree', async (t) => {
  const { app, runtime } = await startTestApp(t, { env: { ANNALS_SEED: 'example' }, store: 'memory' });
  await seedExample(runtime);
  const doc = (await app.inject({ url: '/openapi.json' })).json() as Doc;

  t.test('every route has a response schema and an operationId (and a params schema for its path parameters), and so every documented operation', async (t) => {
    const routes = app.routeTable.filter((r) => r.method !== 'HEAD');
    t.ok(routes.length > 40, `${routes.length} routes`);
    for (const r of routes) {
      const schema = (r.schema ?? {}) as { response?: object; hide?: boolean };
      if (schema.hide) t.match(r.url, PAGES, `${r.method} ${r.url}: hidden, a page or a file`);
      else {
        t.ok(schema.response && Object.keys(schema.response).length > 0, `${r.method} ${r.url}: response schema`);
        t.type((schema as { operationId?: unknown }).operationId, 'string', `${r.method} ${r.url}: operationId`);
        // A path parameter is typed by a params schema (the handler reads req.params without a cast).
        if (r.url.includes(':')) t.ok((schema as { params?: unknown }).params, `${r.method} ${r.url}: params schema`);
      }
    }
    const ids: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        t.type(op.operationId, 'string', `${m} ${path}: operationId`);
        ids.push(op.operationId as string);
        const declared = new Set(doc.tags.map((x) => x.name));
        for (const tag of op.tags ?? []) t.ok(declared.has(tag), `${m} ${path}: tag ${tag} declared`);
        t.ok(Object.keys(op.responses).some((s) => /^[23]/.test(s) && s !== '304'), `${m} ${path}: a success documented`);
        t.ok(Object.keys(op.responses).some((s) => /^4/.test(s)), `${m} ${path}: a 4xx documented`);
      }
    }
    t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  t.test('security where a token is needed, and an anonymous call is refused there', async (t) => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        // The feed is a stream that stays open (its access is test/http-feed.test.ts's).
        if (!op || path === '/v1/feed') continue;
        const security = op.security ?? doc.security ?? [];
        const needs = security.some((s) => Object.keys(s).length > 0);
        const url = path.replace(/\{[^}]+\}/g, 'x');
        const res = await app.inject({ method: m.toUpperCase() as 'GET', url });
        t.equal(res.statusCode === 401, needs, `${m} ${path}: ${needs ? 'declares a token, refuses without one' : 'open'} (${res.statusCode})`);
      }
    }
    t.same(doc.paths['/v1/audit/events']?.['get']?.security, [{ bearer: [] }]);
  });

  t.test('patterned parameters publish their pattern', async (t) => {
    const params = doc.paths['/v1/offices/{office}/holder']?.['get']?.parameters ?? [];
    const validAt = params.find((p) => p.name === 'validAt');
    t.equal(validAt?.schema.pattern, '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$');
    t.ok(new RegExp(validAt?.schema.pattern as string).test('2025-11'));
    t.type(params.find((p) => p.name === 'knownAt')?.schema.pattern, 'string');
    t.type(params.find((p) => p.name === 'minPosition')?.schema.pattern, 'string');
    const timeline = doc.paths['/v1/timeline']?.['get']?.parameters ?? [];
    t.equal(timeline.find((p) => p.name === 'from')?.schema.pattern, validAt?.schema.pattern);
  });

  t.test('the example body /docs offers for POST /v1/facts is accepted (and again: the original answer)', async (t) => {
    const example = doc.paths['/v1/facts']?.['post']?.requestBody?.content['application/json']?.example;
    t.type(example, 'object');
    const headers = { ...auth('recorder'), 'content-type': 'application/json' };
    const first = await app.inject({ method: 'POST', url: '/v1/facts', headers, payload: JSON.stringify(example) });
    t.equal(first.statusCode, 201, first.body);
    const again = await app.inject({ method: 'POST', url: '/v1/facts', headers, payload: JSON.stringify(example) });
    t.equal(again.statusCode, 200);
    t.same(again.json(), first.json());
  });

  t.test('POST /v1/audit/tree-head answers the 201 it documents', async (t) => {
    t.same(Object.keys(doc.paths['/v1/audit/tree-head']?.['post']?.responses ?? {}).filter((s) => /^2/.test(s)), ['201']);
    const res = await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') });
    t.equal(res.statusCode, 201);
  });

  t.test('each answer parses under its route response schema to the same JSON', async (t) => {
    const patterns = app.routeTable
      .filter((r) => r.method !== 'HEAD')
      .map((r) => ({ r, re: new RegExp(`^${r.url.replace(/:[^/]+/g, '[^/]+')}$`), params: (r.url.match(/:/g) ?? []).length }));
    const check = async (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}, payload?: string) => {
      const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
      const path = url.split('?')[0] as string;
      const route = patterns
        .filter((p) => p.re.test(path) && (Array.isArray(p.r.method) ? p.r.method.includes(method) : p.r.method === method))
        .sort((a, b) => a.params - b.params)[0];
      const schema = (route?.r.schema as { response?: Record<string, ZodType> } | undefined)?.response?.[String(res.statusCode)];
      if (!t.ok(schema, `${method} ${url}: ${res.statusCode} documented`)) return;
      const parsed = (schema as ZodType).safeParse(res.json());
      if (!t.ok(parsed.success, `${method} ${url}: answer matches its schema`, { error: parsed.error?.issues.slice(0, 3) })) return;
      t.equal(JSON.stringify(parsed.data), res.body, `${method} ${url}: nothing undocumented, nothing reordered`);
    };
    const sessions = (await app.inject({ url: '/v1/sessions?organization=csto' })).json();
    const session = sessions.sessions[0].id as string;
    const documents = (await app.inject({ url: '/v1/documents?organization=csto' })).json();
    const reads = [
      '/v1/offices/csto-secretary-general/holder?validAt=2025-11-27',
      '/v1/offices/csto-secretary-general/holder?validAt=2026-06-01',
      '/v1/offices/csto-secretary-general?validAt=2026',
      '/v1/offices/csto-secretary-general/holders',
      '/v1/offices',
      '/v1/offices?organization=csto&limit=1',
      '/v1/organizations',
      '/v1/organizations?limit=2',
      '/v1/organizations/csto',
      '/v1/organizations/csto?validAt=2026',
      '/v1/organizations/csto/chair?validAt=2026',
      '/v1/organizations/csto/chairs',
      '/v1/organizations/csto/members',
      '/v1/people',
      '/v1/people/imangali-tasmagambetov',
      '/v1/people/imangali-tasmagambetov/roles',
      '/v1/timeline?organization=csto',
      '/v1/timeline?organization=csto&from=2026&limit=3',
      '/v1/sessions?organization=csto',
      `/v1/sessions/${session}`,
      ...['attendees', 'reports', 'documents', 'talks'].map((l) => `/v1/sessions/${session}/${l}`),
      '/v1/documents?organization=csto',
      '/v1/documents?organization=csto&validAt=2027',
      `/v1/documents/${documents.documents[0].id as string}`,
      '/v1/changes?since=2000-01-01T00:00:00Z&limit=5',
    ];
    for (const url of reads) await check('GET', url);
    const headers = { ...auth('recorder'), 'content-type': 'application/json' };
    const fact = JSON.stringify({ type: 'OrganizationRegistered', factId: '01KB19R500D0CSEXAMP1E00002', data: { key: 'schema-org', name: 'Schema' }, source: { title: 't' } });
    await check('POST', '/v1/facts', headers, fact);
    await check('POST', '/v1/facts', headers, fact);
    await check('POST', '/v1/facts', headers, JSON.stringify({ type: 'FactCorrected', factId: '01KB19R500D0CSEXAMP1E00003', data: { fact: '01KB19R500D0CSEXAMP1E00002', reason: 'r', data: { key: 'schema-org', name: 'Schema 2' } }, source: { title: 't' } }));
    await check('POST', '/v1/facts/batch', headers, JSON.stringify([{ type: 'FactRetracted', factId: '01KB19R500D0CSEXAMP1E00004', data: { fact: '01KB19R500D0CSEXAMP1E00002', reason: 'r' } }, { type: 'Nope' }]));
    await check('GET', '/v1/facts/01KB19R500D0CSEXAMP1E00002');
    await check('GET', '/v1/changes?since=2000-01-01T00:00:00Z&organization=schema-org');
    const staff = auth('auditor');
    await check('POST', '/v1/audit/tree-head', staff);
    for (const url of ['/v1/audit/tree-head', '/v1/audit/tree-heads', '/v1/audit/witness', '/v1/audit/proof/consistency?from=1', '/v1/admin/projections']) await check('GET', url, staff);
    const head = (await app.inject({ url: '/v1/audit/tree-head', headers: staff })).json();
    const first = (await app.inject({ url: '/v1/audit/events', headers: staff })).body.split('\n')[0] as string;
    await check('GET', `/v1/audit/proof/inclusion?position=${JSON.parse(first).position as string}&treeSize=${head.head.treeSize as number}`, staff);
    await check('POST', '/v1/audit/verify', staff);
    await check('POST', '/v1/admin/rebuild', staff);
  });

  t.test("Redocly's recommended rules: no error", async (t) => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), config, absoluteRef: 'openapi.json' });
    const errors = problems.filter((p) => p.severity === 'error');
    t.same(errors.map((e) => `${e.ruleId}: ${e.message} at ${e.location[0]?.pointer ?? ''}`), [], `0 errors (${problems.length - errors.length} warnings)`);
  });

  t.test('a client generated from it (openapi-typescript) types every answer, and compiles', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'annals-client-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(JSON.stringify(doc))));
    // A type-level check per operation: its success answer is a type, not never or undefined.
    const checks: string[] = [];
    for (const item of Object.values(doc.paths)) {
      for (const m of METHODS) {
        const op = item[m];
        if (!op?.operationId) continue;
        const status = Object.keys(op.responses).find((s) => /^2/.test(s)) as string;
        const media = Object.keys(op.responses[status]?.content ?? {})[0];
        t.ok(media, `${op.operationId}: ${status} has content`);
        checks.push(`const ${op.operationId}: Known<operations['${op.operationId}']['responses'][${status}]['content']['${media}']> = true;`);
      }
    }
    const use = [
      "import type { operations } from './api.js';",
      'type Known<T> = [T] extends [never] ? false : [undefined] extends [T] ? false : unknown extends T ? false : true;',
      ...checks,
      "type Holder = operations['getHolder']['responses'][200]['content']['application/json'];",
      "export const name = (h: Holder): string | null | undefined => h.holders[0]?.person?.name;",
      "type Timeline = operations['listTimeline']['responses'][200]['content']['application/json'];",
      "export const org = (x: Timeline): string => x.organization.id;",
      "type Head = operations['signTreeHead']['responses'][201]['content']['application/json'];",
      'export const size = (h: Head): number => h.head.treeSize;',
      `export const all = [${checks.map((c) => (/^const (\w+)/.exec(c) as RegExpExecArray)[1]).join(', ')}];`,
    ].join('\n');
    await writeFile(join(dir, 'use.ts'), use);
    const program = ts.createProgram([join(dir, 'use.ts')], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: [] });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    t.same(diagnostics, [], `the generated client compiles, and ${checks.length} operations have a typed answer`);
  });

  t.test("a problem's type is an absolute URI that answers its description", async (t) => {
    const missing = await app.inject({ url: '/v1/offices/nope/holder', headers: { host: 'annals.example:8080' } });
    const type = missing.json().type as string;
    t.equal(type, 'http://annals.example:8080/problems/not-found');
    const url = new URL(type);
    const page = await app.inject({ url: url.pathname, headers: { host: url.host } });
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /^text\/html/);
    t.match(page.body, /<h1>Not found<\/h1>/);
    const json = await app.inject({ url: url.pathname, headers: { host: url.host, accept: 'application/json' } });
    t.match(json.json(), { type, status: 404, title: 'Not found', description: /Nothing by that name is known/ });
    t.equal((await app.inject({ url: '/problems/no-such-problem' })).statusCode, 404);
    for (const code of ['invalid-request', 'unauthorized', 'conflict', 'unavailable']) t.equal((await app.inject({ url: `/problems/${code}` })).statusCode, 200, code);
  });
});
