/**
 * The auditor's round trip, through the real `annals` command (a child process) on real
 * SQLite files: a store holding the example, a correction and a fact recorded over HTTP is
 * exported, imported into an empty data dir, exported again. The two logs are identical
 * (types, data, factIds, streams, order) and so are the answers; importing the export again
 * records nothing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { seedExample } from '../src/example/seed.js';
import { startTestApp, TEST_TOKENS } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';
import { runCli } from './fixtures/cli.js';

// Child processes (each loading TypeScript) make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 15-20; a hang is still caught at 600 s.
t.setTimeout(600_000);

const QUESTIONS = [
  '/v1/offices/csto-secretary-general/holder?validAt=2025-11-27',
  '/v1/offices/csto-secretary-general/holder?validAt=2026-06-01',
  '/v1/offices/csto-secretary-general/holders',
  '/v1/organizations/csto/chair?validAt=2026',
  '/v1/organizations/csto/chair?validAt=2025-06-01',
  '/v1/documents?organization=csto&validAt=2027',
  '/v1/documents?organization=csto',
  '/v1/sessions?organization=csto',
];

const lines = (text: string): Array<Record<string, unknown>> => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const logShape = (l: Record<string, unknown>) => ({ position: l.position, stream: l.stream, revision: l.revision, type: l.type, factId: l.factId, data: l.data });
const source = { title: 'Round-trip test', publisher: 'Annals tests' };
/** Transaction time is each store's own (an import records anew), so a `recordedAt` inside an answer (a correction's) is compared by presence, not value. */
const withoutRecordedAt = (value: unknown): unknown => JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === 'recordedAt' ? typeof v : v));

t.test('export → import into an empty store → the same log and the same answers', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'annals-roundtrip-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const a = join(root, 'a');
  const b = join(root, 'b');
  const answers = async (dir: string, knownAt?: string): Promise<unknown[]> => {
    const out: unknown[] = [];
    await t.test(`answers of ${dir}`, async (t) => {
      const { app } = await startTestApp(t, { dataDir: dir });
      for (const url of QUESTIONS) {
        const res = await app.inject({ url: knownAt ? `${url}${url.includes('?') ? '&' : '?'}knownAt=${knownAt}` : url });
        t.equal(res.statusCode, 200, url);
        const { knownAt: _k, ...body } = res.json() as Record<string, unknown>;
        out.push(withoutRecordedAt(body));
      }
    });
    return out;
  };

  let between = '';
  await t.test('store A: the example, then a fact and its correction over HTTP', async (t) => {
    // Store A's clock is the test's, so the moment between the fact and its correction is one it names.
    const clock = manualClock();
    const { app, runtime } = await startTestApp(t, { dataDir: a, clock: clock.now });
    await seedExample(runtime);
    const auth = { authorization: `Bearer ${TEST_TOKENS.recorder}` };
    const wrong = await app.inject({
      method: 'POST', url: '/v1/facts', headers: auth,
      payload: { type: 'ChairmanshipPassed', data: { organization: 'csto', chair: 'kg', term: { from: '2024-01-01', to: '2024-12-31' } }, source },
    });
    t.equal(wrong.statusCode, 201, wrong.body);
    between = clock.advance();
    clock.advance();
    const fix = await app.inject({
      method: 'POST', url: '/v1/facts', headers: auth,
      payload: { type: 'FactCorrected', data: { fact: wrong.json().factId, data: { organization: 'csto', chair: 'kg', term: { from: '2025-01-01', to: '2025-12-31' } }, reason: 'the year was mistyped' }, source },
    });
    t.equal(fix.statusCode, 201, fix.body);
  });

  const exportA = await runCli(['export', '--data-dir', a, '--out', join(root, 'a.ndjson')]);
  t.equal(exportA.code, 0, exportA.stderr);
  t.match(exportA.stderr, /exported \d+ events/);
  const logA = lines(await readFile(join(root, 'a.ndjson'), 'utf8'));
  t.ok(logA.some((l) => l.type === 'KeyReserved'), 'bookkeeping events are exported');
  t.ok(logA.some((l) => l.type === 'FactCorrected'));

  const imported = await runCli(['import', join(root, 'a.ndjson'), '--data-dir', b]);
  t.equal(imported.code, 0, imported.stderr);
  const facts = logA.filter((l) => l.type !== 'KeyReserved').length;
  t.match(imported.stderr, new RegExp(`${facts} facts recorded, 0 already recorded, ${logA.length - facts} bookkeeping events skipped`));

  const exportB = await runCli(['export', '--data-dir', b]);
  t.equal(exportB.code, 0, exportB.stderr);
  const logB = lines(exportB.stdout);
  t.same(logB.map(logShape), logA.map(logShape), 'identical log: positions, streams, revisions, types, factIds, data, in order');
  t.same(logB.map((l) => (l.metadata as { source?: unknown }).source), logA.map((l) => (l.metadata as { source?: unknown }).source), 'sources kept');

  t.same(await answers(b), await answers(a), 'identical answers now');
  // Transaction time is the store's own: in B, "before the correction" is when B recorded the mistaken fact.
  const recordedAt = (log: Array<Record<string, unknown>>, type: string) => log.filter((l) => l.type === type).at(-1)?.recordedAt as string;
  const betweenB = recordedAt(logB, 'ChairmanshipPassed');
  t.ok(betweenB < recordedAt(logB, 'FactCorrected'), 'B recorded the mistake and its correction at different moments');
  t.same(await answers(b, betweenB), await answers(a, between), 'identical answers before the correction');

  const far = '2100-01-01T00:00:00.000Z';
  const replayA = await runCli(['replay', '--known-at', far, '--data-dir', a]);
  const replayB = await runCli(['replay', '--known-at', far, '--data-dir', b]);
  t.equal(replayA.code, 0, replayA.stderr);
  t.equal(replayB.code, 0, replayB.stderr);
  const stateA = lines(replayA.stdout);
  t.ok(stateA.length >= 18 && stateA.some((e) => e.entity === 'office' && Array.isArray(e.holders) && e.holders.length > 0), 'a replayed state with entities and their lists');
  t.same(lines(replayB.stdout).map(withoutRecordedAt), stateA.map(withoutRecordedAt), 'identical replayed state, line by line');

  const again = await runCli(['import', join(root, 'a.ndjson'), '--data-dir', b]);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, new RegExp(`0 facts recorded, ${facts} already recorded`));
  const exportB2 = await runCli(['export', '--data-dir', b]);
  t.equal(lines(exportB2.stdout).length, logA.length, 'importing the same export twice leaves one copy');
});

t.test('annals export prints the same lines as GET /v1/audit/events, and --known-at cuts the log', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-export-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let http = '';
  let cut = '';
  await t.test('record', async (t) => {
    const clock = manualClock();
    const { app, runtime, auth } = await startTestApp(t, { dataDir: dir, clock: clock.now });
    await seedExample(runtime);
    cut = clock.advance();
    clock.advance();
    const res = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { name: 'Someone Later' }, source } });
    t.equal(res.statusCode, 201);
    http = (await app.inject({ url: '/v1/audit/events', headers: auth('auditor') })).body;
  });
  const all = await runCli(['export', '--data-dir', dir]);
  t.equal(all.code, 0, all.stderr);
  t.equal(all.stdout, http, 'byte for byte');
  const before = await runCli(['export', '--known-at', cut, '--data-dir', dir]);
  t.equal(lines(before.stdout).length, lines(all.stdout).length - 1, 'the later fact is not in the export at --known-at');
  t.notOk(before.stdout.includes('Someone Later'));
});
