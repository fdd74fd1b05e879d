/**
 * Schema version 2 opened OrganizationRegistered.classification (five values) to free text.
 * test/fixtures/log-v1.ndjson is a log written before that change: the recorder at commit
 * 3ebf238 (schema version 1) recorded six organizations (one without a classification, so
 * with version 1's default `organization`, and one of each other value), an office, an
 * appointment and a chairmanship, then corrected two organizations (one from `other` to
 * `organization`) and the appointment and retracted the chairmanship; `annals export` wrote
 * it. Here it is stored as written (data and metadata byte for byte) and read by today's
 * code: by the read models, by the deciders, and through export → import.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SCHEMA_VERSION, derivedEventId, factSchemas, isFactType, ulidToUuid, upcast, type FactType } from '../events/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';
import { runMain } from './fixtures/cli.js';

interface Line {
  position: string;
  stream: string;
  revision: number;
  type: string;
  factId: string;
  recordedAt: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

const FIXTURE = new URL('./fixtures/log-v1.ndjson', import.meta.url);
const parse = (text: string): Line[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Line);

/** The fixture stored as it was written: same streams, revisions, types, data and metadata. */
async function writtenBeforeTheChange(dir: string): Promise<Line[]> {
  const lines = parse(await readFile(FIXTURE, 'utf8'));
  const store = openSqliteStore(join(dir, 'events.db'), { writer: 'inline' });
  for (const l of lines) {
    const id = l.type === 'KeyReserved' ? derivedEventId(l.factId, 'key') : ulidToUuid(l.factId);
    await store.append(l.stream, [{ id, type: l.type, data: l.data, metadata: l.metadata }], l.revision === 0 ? 'no_stream' : l.revision - 1);
  }
  await store.close();
  return lines;
}

const classifications = (body: { organizations: Array<{ key: string; name: string; classification: string }> }) =>
  Object.fromEntries(body.organizations.map((o) => [o.key, o.classification]));

t.test('the fixture is a log of schema version 1 with every old classification', async (t) => {
  const lines = parse(await readFile(FIXTURE, 'utf8'));
  t.ok(lines.every((l) => l.metadata['schemaVersion'] === 1), 'written under version 1');
  t.equal(SCHEMA_VERSION, 2, 'read under version 2');
  const registered = lines.filter((l) => l.type === 'OrganizationRegistered').map((l) => l.data['classification']);
  t.same([...registered].sort(), ['body', 'organization', 'organization', 'other', 'secretariat', 'state']);
  t.ok(lines.some((l) => l.type === 'FactCorrected' && (l.data['data'] as Record<string, unknown>)['classification'] === 'organization'), 'a correction carries an old classification too');
});

t.test('upcasting: each old value keeps its meaning; a correction is upcast as the fact it corrects', async (t) => {
  t.same(upcast('OrganizationRegistered', { key: 'x', classification: 'organization' }, 1), { key: 'x', classification: 'international organization' });
  for (const same of ['state', 'body', 'secretariat', 'other']) t.same(upcast('OrganizationRegistered', { classification: same }, 1), { classification: same });
  const current = { key: 'x', classification: 'organization' };
  t.equal(upcast('OrganizationRegistered', current, 2), current, 'version 2 data is left as it is (free text may say "organization")');
  const correction = { fact: 'F', reason: 'r', data: { key: 'x', name: 'X', classification: 'organization' } };
  const typeOf = (id: string): FactType | undefined => (id === 'F' ? 'OrganizationRegistered' : undefined);
  t.same(upcast('FactCorrected', correction, 1, typeOf), { ...correction, data: { key: 'x', name: 'X', classification: 'international organization' } });
  t.equal(upcast('FactCorrected', correction, 1), correction, 'without knowing what it corrects, left as it is');
  t.same(upcast('FactCorrected', { ...correction, fact: 'G' }, 1, typeOf), { ...correction, fact: 'G' });
  t.same(upcast('OfficialAppointed', { office: 'o', person: 'p', term: { from: '2020' } }, 1), { office: 'o', person: 'p', term: { from: '2020' } }, 'other types are as they were');
  t.ok(factSchemas.OrganizationRegistered.safeParse({ key: 'x', name: 'X', classification: 'intergovernmental organization' }).success, 'free text now');
  t.equal(factSchemas.OrganizationRegistered.parse({ key: 'x', name: 'X' }).classification, 'international organization', "the default says what version 1's did");
});

t.test('a log written before the change: the read models and the deciders see the current shape', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-v1-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const lines = await writtenBeforeTheChange(dir);
  const { app, auth } = await startTestApp(t, { dataDir: dir });
  const orgs = await app.inject({ url: '/v1/organizations' });
  t.same(classifications(orgs.json()), {
    union: 'international organization',
    land: 'state',
    'union-council': 'body',
    'union-secretariat': 'secretariat',
    forum: 'international organization',
    alliance: 'international organization',
  }, 'the default and the corrections read as international organizations; the other values as they were');
  t.same((await app.inject({ url: '/v1/organizations?classification=international%20organization' })).json().organizations.map((o: { key: string }) => o.key).sort(), ['alliance', 'forum', 'union'], 'and are found so');
  const popolo = await app.inject({ url: '/v1/popolo' });
  t.match(popolo.json().organizations.find((o: { identifiers: Array<{ identifier: string }> }) => o.identifiers.some((i) => i.identifier === 'union')), { classification: 'international organization' });

  // A fact's history shows each version in the current shape, a v1 correction's replacement too.
  const forumFact = lines.find((l) => l.type === 'OrganizationRegistered' && l.data['key'] === 'forum') as Line;
  const history = (await app.inject({ url: `/v1/facts/${forumFact.factId}` })).json() as { versions: Array<{ kind: string; data: { classification?: string } | null }>; current: { classification?: string } };
  t.same(history.versions.map((v) => [v.kind, v.data?.classification]), [['original', 'other'], ['correction', 'international organization']]);
  t.equal(history.current.classification, 'international organization');

  // The deciders read the same: resending the version 1 registration as today's client would
  // (no classification: today's default) is a retry of the stored fact, not other content.
  const union = lines.find((l) => l.type === 'OrganizationRegistered' && l.data['key'] === 'union') as Line;
  const retry = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'OrganizationRegistered', factId: union.factId, data: { key: 'union', name: 'A Union of States' }, source: union.metadata['source'] } });
  t.equal(retry.statusCode, 200, retry.body);
  t.equal(retry.json().position, union.position, 'the original answer');
  // And a version 1 correction: its replacement is upcast as the registration it corrects.
  const renamed = lines.find((l) => l.type === 'FactCorrected' && (l.data['data'] as Record<string, unknown>)['key'] === 'alliance') as Line;
  const again = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'FactCorrected', factId: renamed.factId, data: { ...renamed.data, data: { key: 'alliance', name: 'An Alliance of States' } }, source: renamed.metadata['source'] } });
  t.equal(again.statusCode, 200, again.body);
  const forum = lines.find((l) => l.type === 'OrganizationRegistered' && l.data['key'] === 'forum') as Line;
  const corrected = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'FactCorrected', data: { fact: forum.factId, reason: 'Popolo has a word for it', data: { key: 'forum', name: 'A Forum', classification: 'intergovernmental organization' } }, source: { title: 'test' } } });
  t.equal(corrected.statusCode, 201, corrected.body);
  t.equal(classifications((await app.inject({ url: '/v1/organizations' })).json())['forum'], 'intergovernmental organization');
  const sg = await app.inject({ url: '/v1/offices/union-secretary-general/holders' });
  t.same(sg.json().holders.map((h: { term: unknown }) => h.term), [{ from: '2020-01-01', to: '2023-12-31' }], 'the other facts, corrections and retractions read as before');
  t.same((await app.inject({ url: '/v1/organizations/union/chair?validAt=2021' })).json().chairs, []);
});

t.test('export → import: the log written before the change comes back at version 2, with the same answers', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'annals-v1-roundtrip-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const a = join(root, 'a');
  const b = join(root, 'b');
  await (await import('node:fs/promises')).mkdir(a);
  await writtenBeforeTheChange(a);
  // The CLI's main() in this process (runMain): the commands' outcome is the point here, not the
  // process (test/cli-roundtrip.test.ts runs it as a child). As three children, each loading
  // TypeScript, this case took 178 s at a load average of 16-19, near tap's 240 s for the file.
  const exported = await runMain(['export', '--data-dir', a]);
  t.equal(exported.code, 0, exported.err);
  const logA = parse(exported.out);
  await writeFile(join(root, 'a.ndjson'), exported.out);
  const imported = await runMain(['import', join(root, 'a.ndjson'), '--data-dir', b]);
  t.equal(imported.code, 0, imported.err);
  const logB = parse((await runMain(['export', '--data-dir', b])).out);

  // Streams keep their order; the log interleaves streams by how the import's waves fell.
  const byStream = (log: Line[]) => log.map((l) => `${l.stream} ${l.revision} ${l.type} ${l.factId}`).sort();
  t.same(byStream(logB), byStream(logA), 'the same events in each stream: types, factIds, revisions');
  t.ok(logB.every((l) => l.metadata['schemaVersion'] === 2), 'written again at version 2');
  const types = new Map<string, FactType>();
  const inB = new Map(logB.map((l) => [`${l.type} ${l.factId}`, l]));
  for (const l of logA) {
    if (isFactType(l.type)) types.set(l.factId, l.type);
    const now = upcast(l.type, l.data, l.metadata['schemaVersion'] as number, (id) => types.get(id));
    t.same(inB.get(`${l.type} ${l.factId}`)?.data, now, `${l.type} ${l.factId}: its data upcast`);
  }
  t.ok(logB.some((l) => l.type === 'FactCorrected' && (l.data['data'] as Record<string, unknown>)['classification'] === 'international organization'), "a correction's replacement upcast too");

  // Transaction time is each store's own (an import records anew): a correction's recordedAt
  // inside an answer (correctedBy) is compared by presence, as test/cli-roundtrip.test.ts does.
  const withoutRecordedAt = (value: unknown): unknown => JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === 'recordedAt' ? typeof v : v));
  const answers = async (dir: string): Promise<unknown[]> => {
    const out: unknown[] = [];
    await t.test(`answers of ${dir}`, async (t) => {
      const { app } = await startTestApp(t, { dataDir: dir });
      for (const url of ['/v1/organizations', '/v1/offices/union-secretary-general/holders', '/v1/organizations/union/chair?validAt=2021', '/v1/popolo']) {
        const { knownAt: _k, ...body } = (await app.inject({ url })).json() as Record<string, unknown>;
        out.push(withoutRecordedAt(body));
      }
    });
    return out;
  };
  t.same(await answers(b), await answers(a), 'the same answers from the old log and from its import');
});
