/**
 * `annals import`, `replay` and `rebuild` on real data dirs: refused and resumed imports, JSON
 * input and the example loaded twice, then replay, rebuild and the same on EventStoreDB (the
 * protocol double). main() in this process, but for one run of each of replay, rebuild and
 * the import on EventStoreDB, a child process each: the process itself, its exit code and
 * output (a child loading TypeScript costs seconds, tens of seconds under load).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { exampleFilePath } from '../src/example/facts.js';
import { PASS_STEPS } from '../projections/offices/successions-pass.js';
import { startTestApp } from './fixtures/app.js';
import { startEsdbDouble } from './fixtures/esdb-double.js';
import { runCli, runMain } from './fixtures/cli.js';

// Child processes (each loading TypeScript) make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 15-20; a hang is still caught at 600 s.
t.setTimeout(600_000);

const source = { title: 'CLI test' };
const tmp = async (t: { teardown(fn: () => unknown): void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};
/**
 * `annals <args>` through main() in this process: the imports' outcomes, messages and exit
 * codes, without a child loading TypeScript each time (the process itself is run as a child
 * by the replay, rebuild and EventStoreDB tests below, and by test/cli-commands.test.ts).
 */
const inProcess = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  const r = await runMain(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
};
const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('import: exit 3 for a missing file or a line that is not JSON', async (t) => {
  const dir = await tmp(t);
  const missing = await inProcess(['import', join(dir, 'nope.ndjson'), '--data-dir', dir]);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /cannot read .*nope\.ndjson/);
  await writeFile(join(dir, 'bad.ndjson'), `${JSON.stringify({ type: 'PersonRegistered', factId: '01KB1AAAAAAAAAAAAAAAAAAAA1', data: { name: 'A' }, source })}\n{ not json\n`);
  const bad = await inProcess(['import', join(dir, 'bad.ndjson'), '--data-dir', dir]);
  t.equal(bad.code, 3);
  t.match(bad.stderr, /line 2: not JSON/);
});

t.test('import: exit 3 at a line holding a lone surrogate, as POST refuses it (SQLite would store U+FFFD); nothing of it recorded', async (t) => {
  const dir = await tmp(t);
  const file = join(dir, 'surrogate.ndjson');
  // JSON.stringify writes the lone surrogate as the escape \ud800, as a file would hold it.
  await writeFile(file, `${JSON.stringify({ type: 'PersonRegistered', factId: '01KB1AAAAAAAAAAAAAAAAAAAA7', data: { key: 'x', name: 'A \ud800 B' }, source })}\n`);
  const r = await inProcess(['import', file, '--data-dir', dir]);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /line 1: data\.name: not well-formed Unicode \(a lone surrogate/);
  const poisoned = join(dir, 'poisoned.ndjson');
  await writeFile(poisoned, '{"type":"PersonRegistered","data":{"__proto__":{"x":1},"name":"A"},"source":{"title":"t"}}\n');
  const p = await inProcess(['import', poisoned, '--data-dir', dir]);
  t.equal(p.code, 3, p.stderr);
  t.match(p.stderr, /line 1: a prototype-poisoning key is not allowed/);
  // The file is refused as it is read, before a store is opened: no log was made.
  const exported = await inProcess(['export', '--data-dir', dir]);
  t.not(exported.code, 0);
  t.match(exported.stderr, /there is no event log .*nothing was ever recorded there/, 'nothing recorded');
});

t.test('import: exit 3 at a line holding bytes that are not UTF-8, as POST refuses them; a real U+FFFD and CRLF line ends are read as written', async (t) => {
  const dir = await tmp(t);
  const fact = (n: number, name: string) => JSON.stringify({ type: 'PersonRegistered', factId: `01KB1AAAAAAAAAAAAAAAAAAAB${n}`, data: { key: `p${n}`, name }, source });
  // A Latin-1 file: line 2's name holds the byte 0xE9 (é), which UTF-8 decodes to U+FFFD: the record would not hold what the file said.
  const bad = join(dir, 'latin1.ndjson');
  const bytes = Buffer.from(`${fact(1, 'Ann')}\n${fact(2, 'Jos\u00e9')}\n`, 'latin1');
  await writeFile(bad, bytes);
  const r = await inProcess(['import', bad, '--data-dir', dir]);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /line 2: .*data\.name: not valid UTF-8/);
  const before = lines((await inProcess(['export', '--data-dir', dir])).stdout).map((e) => (e['data'] as { name?: string }).name).filter(Boolean);
  t.same(before, [], 'nothing recorded: the file is checked before its first fact is');
  // The same file as UTF-8 with CRLF ends, and a name holding a real U+FFFD: recorded as written.
  const good = join(dir, 'crlf.ndjson');
  await writeFile(good, `${fact(1, 'Ann')}\r\n${fact(2, 'Jos\u00e9 \ufffd')}\r\n`, 'utf8');
  const ok = await inProcess(['import', good, '--data-dir', dir]);
  t.equal(ok.code, 0, ok.stderr);
  const names = lines((await inProcess(['export', '--data-dir', dir])).stdout).map((e) => (e['data'] as { name?: string }).name).filter(Boolean);
  t.same(names, ['Ann', 'Jos\u00e9 \ufffd']);
});

t.test('import: exit 1 at a refused fact, naming it; the fixed file resumes where it stopped', async (t) => {
  const dir = await tmp(t);
  const file = join(dir, 'facts.ndjson');
  const person = { type: 'PersonRegistered', factId: '01KB1AAAAAAAAAAAAAAAAAAAA1', data: { key: 'ann-example', name: 'Ann Example' }, source };
  const office = { type: 'OfficeEstablished', factId: '01KB1AAAAAAAAAAAAAAAAAAAA2', data: { key: 'test-chair', organization: 'no-such-org', title: 'Chair' }, source };
  await writeFile(file, [person, office].map((f) => JSON.stringify(f)).join('\n') + '\n');
  const refused = await inProcess(['import', file, '--data-dir', dir]);
  t.equal(refused.code, 1, refused.stderr);
  t.match(refused.stderr, /fact 2 \(line 2, factId 01KB1AAAAAAAAAAAAAAAAAAAA2, OfficeEstablished\) was refused: not found: data\.organization: no organization has the key `no-such-org`/);
  t.match(refused.stderr, /1 facts recorded and 0 already recorded before it/);

  const org = { type: 'OrganizationRegistered', factId: '01KB1AAAAAAAAAAAAAAAAAAAA0', data: { key: 'no-such-org', name: 'Now it exists' }, source };
  await writeFile(file, [org, person, office].map((f) => JSON.stringify(f)).join('\n') + '\n');
  const resumed = await inProcess(['import', file, '--data-dir', dir]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /2 facts recorded, 1 already recorded/);
  t.match(resumed.stderr, /import: 3\/3 \(100%\)/, 'a progress line (no terminal: plain lines)');

  const invalid = join(dir, 'invalid.ndjson');
  await writeFile(invalid, JSON.stringify({ type: 'OfficialAppointed', data: { office: 'test-chair', person: 'ann-example', term: { from: '2026-05-01', to: '2026-04-01' }, colour: 'red' }, source }) + '\n');
  const r = await inProcess(['import', invalid, '--data-dir', dir]);
  t.equal(r.code, 1);
  t.match(r.stderr, /fact 1 \(line 1, factId [0-9A-Z]{26}, OfficialAppointed\) was refused: invalid/);
  t.match(r.stderr, /data\.colour: unknown field/);
});

t.test('import: JSON files, facts without factId, and the example imported twice', async (t) => {
  const dir = await tmp(t);
  const json = join(dir, 'facts.json');
  await writeFile(json, JSON.stringify({ facts: [{ type: 'PersonRegistered', data: { name: 'No Id' }, source }, { type: 'PersonRegistered', data: { name: 'No Id Either' }, source }] }));
  const first = await inProcess(['import', json, '--data-dir', dir]);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /2 facts recorded, 0 already recorded/);
  const again = await inProcess(['import', json, '--data-dir', dir]);
  t.match(again.stderr, /0 facts recorded, 2 already recorded/, 'a factId derived from the file and line makes a re-import record nothing');

  const array = join(dir, 'array.json');
  await writeFile(array, JSON.stringify([{ type: 'PersonRegistered', factId: '01KB1AAAAAAAAAAAAAAAAAAAA9', data: { name: 'In An Array' }, source }]));
  t.match((await inProcess(['import', array, '--data-dir', dir])).stderr, /1 facts recorded/);

  const ex1 = await inProcess(['import', exampleFilePath(), '--data-dir', dir, '--chunk', '7']);
  t.equal(ex1.code, 0, ex1.stderr);
  t.match(ex1.stderr, /23 facts recorded, 0 already recorded/);
  const ex2 = await inProcess(['import', exampleFilePath(), '--data-dir', dir]);
  t.match(ex2.stderr, /0 facts recorded, 23 already recorded/);
  const log = lines((await inProcess(['export', '--data-dir', dir])).stdout);
  t.equal(log.filter((l) => l.type !== 'KeyReserved').length, 3 + 23, 'one copy of every fact');
});

t.test('replay: the state of everything at a moment', async (t) => {
  const dir = await tmp(t);
  t.equal((await inProcess(['import', exampleFilePath(), '--data-dir', dir])).code, 0);
  // The moment just before the import's first event: the log says when that was.
  const first = lines((await inProcess(['export', '--data-dir', dir])).stdout)[0] as { recordedAt: string };
  const before = new Date(Date.parse(first.recordedAt) - 1).toISOString();
  const now = await runCli(['replay', '--known-at', new Date(Date.now() + 1000).toISOString(), '--data-dir', dir]);
  t.equal(now.code, 0, now.stderr);
  t.ok(now.stdout.endsWith('\n'), 'NDJSON: every line ends with a newline');
  const entities = lines(now.stdout) as Array<Record<string, unknown>>;
  const of = (kind: string) => entities.filter((e) => e.entity === kind);
  t.same([...new Set(entities.map((e) => e.entity))], ['organization', 'office', 'person', 'session', 'document'], 'one line an entity, kind by kind in that order');
  t.same(Object.keys(entities[0] ?? {}).slice(0, 2), ['entity', 'id'], 'each line starts with its kind and id');
  t.equal(of('organization').length, 7);
  t.equal(of('person').length, 4);
  t.equal(of('session').length, 1);
  t.equal(of('document').length, 3);
  for (const kind of ['session', 'document']) {
    const ids = of(kind).map((e) => e.id as string);
    t.same(ids, [...ids].sort(), `${kind}s by id`);
  }
  const sg = of('office').find((o) => o.key === 'csto-secretary-general') as unknown as { holders: Array<{ person: { key: string }; basis: string }> };
  t.same(sg.holders.map((h) => [h.person.key, h.basis]), [['imangali-tasmagambetov', 'attested'], ['taalatbek-masadykov', 'appointed']]);
  const csto = of('organization').find((o) => o.key === 'csto') as unknown as { chairs: Array<{ state: { key: string } }> };
  t.same(csto.chairs.map((c) => c.state.key), ['ru']);
  t.match(now.stderr, /replay: 18 entities known at/);
  t.notMatch(now.stderr, /CPU/, 'no times unless asked');
  const timed = await inProcess(['replay', '--times', '--known-at', new Date(Date.now() + 1000).toISOString(), '--data-dir', dir]);
  t.equal(timed.code, 0, timed.stderr);
  t.equal(timed.stdout, now.stdout, '--times changes only stderr');
  t.match(timed.stderr, /^replay: \[\d+\.\d\d s, CPU \d+\.\d\d s\] 18 entities known at/m, '--times: the seconds since the start and the CPU so far on each line');
  const step = String.raw`\d+ \((\d+|NaN)\)`;
  t.match(timed.stderr, new RegExp(String.raw`the successions' pass's steps, ms \(its thread's CPU ms\): ${step}(, ${step}){${PASS_STEPS - 1}}\n`), `--times: the successions' pass's ${PASS_STEPS} steps, each one's ms and its thread's CPU ms`);
  t.notMatch(now.stderr, /pass's steps/, 'no steps unless asked');
  const empty = await inProcess(['replay', '--known-at', before, '--data-dir', dir]);
  t.equal(empty.code, 0, empty.stderr);
  t.equal(empty.stdout, '', 'nothing was known before the import: no lines');
});

t.test('rebuild: the read models from the log, then the service answers as before', async (t) => {
  const dir = await tmp(t);
  t.equal((await inProcess(['import', exampleFilePath(), '--data-dir', dir])).code, 0);
  const r = await runCli(['rebuild', '--data-dir', dir]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /rebuilt the read models from 41 events in [\d.]+ s \(\d+\/s, [\d.]+ µs of CPU an event\)/, 'events/s and CPU an event printed');
  const { app } = await startTestApp(t, { dataDir: dir });
  const res = await app.inject({ url: '/v1/organizations/csto/chair?validAt=2026' });
  t.equal((res.json() as { chairs: Array<{ state: { key: string } }> }).chairs[0]?.state.key, 'ru');
});

t.test('on EventStoreDB (--event-store): import, export, replay', async (t) => {
  const double = await startEsdbDouble();
  t.teardown(() => double.close());
  const dir = await tmp(t);
  const store = ['--event-store', double.connectionString, '--data-dir', dir];
  const imported = await runCli(['import', exampleFilePath(), ...store]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stderr, /23 facts recorded/);
  t.match(imported.stderr, /into esdb:\/\//);
  const again = await inProcess(['import', exampleFilePath(), ...store]);
  t.match(again.stderr, /0 facts recorded, 23 already recorded/);
  const exported = await inProcess(['export', ...store]);
  t.equal(exported.code, 0, exported.stderr);
  const log = lines(exported.stdout);
  t.equal(log.filter((l) => l.type !== 'KeyReserved').length, 23);
  const replay = await inProcess(['replay', '--known-at', new Date(Date.now() + 1000).toISOString(), ...store]);
  t.equal(replay.code, 0, replay.stderr);
  t.equal(lines(replay.stdout).filter((e) => (e as { entity?: string }).entity === 'document').length, 3);
});
