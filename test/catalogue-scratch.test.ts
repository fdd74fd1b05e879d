/**
 * Adding a fact type is one entry beside its schema and one line in the catalogue: in a
 * scratch copy of the code, an `OfficeAbolished` fact (in the office's stream, naming the
 * office) is added that way; the compiler then asks for the one thing that depends on it (the
 * offices read model handles every type naming an office) and nothing else; with that case
 * added the copy typechecks, and the real service built from it records one over HTTP, in the office's stream, resolving the office's key, refusing
 * a correction that would move it to another office, as every other type is treated.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);

// Two runs of the compiler over the whole project and a child process loading TypeScript:
// ~40 s on a quiet machine, but 240 s (.taprc) was crossed at a load average of 20 (session
// 25, five engineers' work beside CI); a hang is still caught at 600 s.
t.setTimeout(600_000);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const ENTRY = `
export const OfficeAbolished = fact({
  data: z.strictObject({ office: Ref, on: PartialDate.describe('The last day the office existed') }),
  stream: { in: 'office', by: 'office' },
  identity: ['office'],
  refs: { office: 'office' },
});
`;

// Run inside the scratch copy: the real app on the in-memory store, driven through inject.
const SCRIPT = `
import { pino } from 'pino';
import { loadConfig } from './src/config.js';
import { buildApp } from './src/http/app.js';
import { openRuntime } from './src/runtime.js';
import { createMemoryStore } from './src/store/memory.js';
const token = 'recorder-token-0123456789abcdef';
const config = loadConfig({ ANNALS_DATA_DIR: process.argv[2], ANNALS_SEED: 'none', ANNALS_TOKENS: 'recorder:' + token + ',auditor:auditor-token-0123456789abcdef', LOG_LEVEL: 'silent', ANNALS_SQLITE_WRITER: 'inline', ANNALS_AUDIT_FOLLOWER: 'inline', ANNALS_READ_MODELS: 'inline' });
const log = pino({ level: 'silent' });
const runtime = await openRuntime(config, { log, store: createMemoryStore() });
const app = await buildApp(runtime, { loggerInstance: log });
const source = { title: 'scratch' };
const post = async (type, data, factId) => {
  const res = await app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: 'Bearer ' + token }, payload: { type, ...(factId ? { factId } : {}), data, source } });
  return { status: res.statusCode, body: res.json() };
};
const out = {};
out.org = await post('OrganizationRegistered', { key: 'union', name: 'Union' });
out.office = await post('OfficeEstablished', { key: 'union-sg', organization: 'union', title: 'SG' });
await post('OfficeEstablished', { key: 'union-dsg', organization: 'union', title: 'DSG' });
out.abolished = await post('OfficeAbolished', { office: 'union-sg', on: '2030' }, '01KB1AB0115HED0000000000AA');
out.unknown = await post('OfficeAbolished', { office: 'nowhere', on: '2030' });
out.corrected = await post('FactCorrected', { fact: '01KB1AB0115HED0000000000AA', reason: 'the year', data: { office: 'union-sg', on: '2031' } });
out.moved = await post('FactCorrected', { fact: '01KB1AB0115HED0000000000AA', reason: 'the office', data: { office: 'union-dsg', on: '2031' } });
out.badField = await post('OfficeAbolished', { office: 'union-sg', on: '2030', colour: 'red' });
console.log(JSON.stringify(out));
await app.close();
await runtime.close();
`;

t.test('a fact type added as one catalogue entry typechecks and is recorded like the others', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-scratch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const part of ['events', 'src', 'projections', 'package.json']) await cp(join(ROOT, part), join(dir, part), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');

  // The entry beside its schema, and its line in the catalogue.
  const offices = join(dir, 'events/facts/offices.ts');
  await writeFile(offices, (await readFile(offices, 'utf8')) + ENTRY);
  const catalogue = join(dir, 'events/facts/catalogue.ts');
  const before = await readFile(catalogue, 'utf8');
  const after = before
    .replace("import { ChairmanshipPassed, MembershipEnded, MembershipStarted, OfficialAppointed, OfficialLeftOffice } from './offices.js';", "import { ChairmanshipPassed, MembershipEnded, MembershipStarted, OfficeAbolished, OfficialAppointed, OfficialLeftOffice } from './offices.js';")
    .replace('  OfficialLeftOffice,\n', '  OfficialLeftOffice,\n  OfficeAbolished,\n');
  t.not(after, before, 'the catalogue line is added');
  await writeFile(catalogue, after);
  // The project's compiler options, over the code (the tests are not copied).
  await cp(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.base.json'));
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: './tsconfig.base.json', compilerOptions: { noEmit: true }, include: ['events', 'src', 'projections'] }));

  const tsc = (): Promise<{ code: number; out: string }> =>
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir }).then(
      () => ({ code: 0, out: '' }),
      (err: { code?: number; stdout?: string }) => ({ code: err.code ?? 1, out: err.stdout ?? '' }),
    );
  // The compiler asks for what depends on the type, and for nothing else: the offices read
  // model handles every type naming an office (typesNaming), and its switch is exhaustive.
  const asked = await tsc();
  t.not(asked.code, 0, 'the compiler asks for the projection that must handle it');
  const files = [...new Set(asked.out.split('\n').flatMap((line) => /^([^(\s]+\.ts)\(\d+,\d+\): error/.exec(line)?.[1] ?? []))];
  t.same(files, ['projections/offices/evolve.ts'], `only where it must be handled:\n${asked.out}`);
  t.match(asked.out, /OfficeAbolished/, 'naming the new type');

  // What it asks for: the case in the offices' evolve (an abolition adds no row there).
  const evolve = join(dir, 'projections/offices/evolve.ts');
  const handled = (await readFile(evolve, 'utf8')).replace('      default:\n        return assertNever(fact);', "      case 'OfficeAbolished':\n        return [];\n      default:\n        return assertNever(fact);");
  await writeFile(evolve, handled);
  const done = await tsc();
  t.equal(done.code, 0, `the copy typechecks with the entry and that case added${done.out ? `:\n${done.out}` : ''}`);

  await writeFile(join(dir, 'try.mts'), SCRIPT);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(dir, 'try.mts'), join(dir, 'data')], { cwd: dir });
  const out = JSON.parse(stdout) as Record<string, { status: number; body: Record<string, unknown> }>;
  t.equal(out['abolished']?.status, 201, JSON.stringify(out['abolished']?.body));
  t.equal(out['abolished']?.body['stream'], `office-${out['office']?.body['id']}`, "recorded in the office's stream, the key resolved");
  t.equal(out['abolished']?.body['id'], undefined, 'it creates no entity');
  t.match(out['unknown'], { status: 404, body: { errors: [{ path: 'data.office' }] } }, 'a reference that does not resolve is a 404');
  t.equal(out['corrected']?.status, 201, 'corrected like any fact');
  t.match(out['moved'], { status: 400, body: { errors: [{ path: 'data.data.office' }] } }, 'its identity field is kept by corrections');
  t.match(out['badField'], { status: 400, body: { errors: [{ path: 'data.colour', message: 'unknown field' }] } }, 'validated by its schema');
});
