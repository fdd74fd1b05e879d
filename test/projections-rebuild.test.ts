/**
 * Rebuild equality: the read-model tables after a rebuild equal, row for row, the ones the
 * running projections built (live, in batches of whatever size arrived); read models whose
 * process was killed with SIGKILL mid-catch-up, opened again, resume from their checkpoint and
 * reach the same rows.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh, openReadModels, rebuildReadModels, type RebuildProgress } from '../projections/index.js';
import { TestLog, dumpTables, recordRichHistory, startReadApp } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

t.test('rebuild equals the rows the running projections built', async (t) => {
  const full = new TestLog();
  recordRichHistory(full, 6000, 3);
  // Feed the running projections in uneven steps: a catch-up, then live appends.
  const live = new TestLog();
  const copy = (from: number, to: number) => live.push(...full.events.slice(from, to));
  copy(0, 2500);
  const { readModels, path, dir } = await startReadApp(t, live);
  await readModels.caughtUp();
  for (let i = 2500; i < 6000; i += 137) {
    copy(i, Math.min(i + 137, 6000));
    if (i % 3 === 0) await new Promise((r) => setImmediate(r));
  }
  t.ok(await readModels.waitFor(full.events.at(-1)?.position as string, 10_000), 'live projections reached the head');
  const running = dumpTables(path);
  t.ok((running['appointments'] as unknown[]).length > 1000, 'a sizeable read model');
  t.ok((running['appointments'] as unknown[][]).some((r) => r[2] !== '\uffff'), 'with superseded versions');

  const fresh = join(dir, 'standalone.db');
  const progress: RebuildProgress[] = [];
  const result = await rebuildReadModels({ store: full, path: fresh, log: silent, onProgress: (p) => progress.push(p) });
  t.equal(result.events, 6000);
  t.ok(progress.length >= 1, 'progress reported');
  // The steps after the last event show progress too: each reported as it ends, in the order of RebuildResult.phases.
  const stages = progress.filter((p) => p.stage !== undefined);
  t.ok(stages.every((p) => p.applied === 6000), 'finishing steps reported once the log is applied');
  t.same(stages.map((p) => p.stage), result.phases.slice(1).map((p) => p.phase), 'every step after the log reported as it ended');
  t.ok(stages.some((p) => p.stage === 'terms: cut') && stages.at(-1)?.stage === 'statistics (ANALYZE)', 'the terms and the statistics among them, the statistics last');
  t.same(dumpTables(fresh), running, 'annals rebuild: same rows');
  // The indexes kept up while the log is applied (db.ts createAppendedIndexes): made before it, so not a step after it, and
  // holding every row's entry (integrity_check compares each index with its table's rows).
  t.notOk(result.phases.some((p) => p.phase.startsWith('facts: indexes') || p.phase === 'timeline: index (fact_id)'), 'the facts\' and timeline\'s (fact_id) indexes are not built after the log');
  // The adoptions' indexes holding `earliest` or the stored items made once those are written (db.ts IndexOptions.later),
  // the others before; integrity_check below finds their entries equal to the rows.
  const at = (prefix: string): number => result.phases.findIndex((p) => p.phase.startsWith(prefix));
  t.ok(at('adoptions: index (document,') < at('adoptions: stored items') && at('adoptions: first of each document') < at('adoptions: index (session,') && at('adoptions: first of each document') < at('adoptions: index (body, known_from,'), 'adoptions_i3 and _i4 made after the stored items and earliest, adoptions_i0 before');
  const check = new Database(fresh, { readonly: true });
  try {
    const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('facts_amendments', 'facts_recorded', 'timeline_fact') ORDER BY name").pluck().all();
    t.same(indexes, ['facts_amendments', 'facts_recorded', 'timeline_fact'], 'they are in the rebuilt file');
    t.same(check.pragma('integrity_check'), [{ integrity_check: 'ok' }], 'and each index holds exactly its table\'s rows');
  } finally {
    check.close();
  }

  const swapped = await readModels.rebuild();
  t.equal(swapped.events, 6000);
  t.same(dumpTables(path), running, 'rebuild in place: same rows');
  const probe = full.events.find((e) => e.type === 'OfficeEstablished')?.metadata['factId'] as string;
  t.ok(readModels.queries.holders(probe, new Date().toISOString(), { after: null, limit: 50 }), 'queries answer on the swapped file');
});

t.test('SIGKILL mid-catch-up: opened again, the read models resume from the checkpoint and reach the same rows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'readmodels.db');
  // 3,000 facts hold every kind of fact after the kill point as 8,000 did (recordRichHistory, seed 7). At 8,000, with a
  // second child to resume, the subtest took ~90 s on a quiet machine (two children's start under tap's loader, ~7 ms an
  // event under its coverage) and once passed tap's 240 s under load.
  const N = 3000;
  // The child stops reading once its checkpoint reaches 1,000 (catchup-child.ts) and says so: killed then, it is
  // mid-catch-up whatever the machine's load (applying the page after that checkpoint, or waiting for the next one).
  // Loaded by tsx, without tap's loader and coverage: under them its start alone took ~38 s at a load of 20 (the
  // read models' code it runs is covered here, in process).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE' && !k.startsWith('_TAPJS_')));
  const first = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/catchup-child.ts', import.meta.url).pathname, path, String(N), '1000'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  t.teardown(() => first.kill('SIGKILL')); // should the test fail before it is killed
  let killedAt = 0;
  let said = '';
  await new Promise<void>((resolve, reject) => {
    first.on('error', reject);
    first.stdout.on('data', (b: Buffer) => {
      said += b.toString();
      const m = /checkpoint (\d+)/.exec(said);
      if (m !== null && killedAt === 0) {
        killedAt = Number(m[1]);
        first.kill('SIGKILL');
      }
    });
    first.on('exit', () => resolve());
  });
  t.equal(first.signalCode, 'SIGKILL', 'killed');
  t.ok(killedAt >= 1000 && killedAt < N, `killed mid-catch-up (checkpoint at ${killedAt} of ${N})`);
  const resumedFrom = (() => {
    const db = new Database(path, { readonly: true });
    const n = db.prepare('SELECT applied FROM checkpoint').pluck().get() as number;
    db.close();
    return n;
  })();
  t.ok(resumedFrom >= killedAt && resumedFrom < N, `the committed checkpoint survived the kill (${resumedFrom})`);

  // Opened again here, as the child opened them (a process of its own is not needed to read what the kill left).
  const log = new TestLog();
  recordRichHistory(log, N, 7);
  const resumed = await openReadModels({ store: log, path, log: silent, batchSize: 250 });
  let closed = false;
  t.teardown(() => (closed ? undefined : resumed.close()));
  await resumed.caughtUp();
  t.equal(resumed.applied(), await log.head(), 'caught up to the head');
  await resumed.close();
  closed = true;
  const fresh = join(dir, 'fresh.db');
  await buildFresh(log, fresh, silent);
  t.same(dumpTables(path), dumpTables(fresh), 'same rows as an uninterrupted build');
});

t.test('corrections and retractions of entities, names and sessions: rebuilt rows equal the running ones', async (t) => {
  // Closing a version of these finds its rows through the clustered key the fact's id leads
  // (TableSpec.factKey: entities and sessions by id, names by entity), live and in a rebuild.
  const log = new TestLog();
  const id = (e: { metadata: Record<string, unknown> }): string => e.metadata['factId'] as string;
  const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }));
  const body = id(log.record('OrganizationRegistered', { key: 'council', name: 'Council', classification: 'body', parent: org }));
  const person = id(log.record('PersonRegistered', { key: 'ada', name: 'Ada', aliases: ['A. L.'] }));
  const other = id(log.record('PersonRegistered', { key: 'bob', name: 'Bob' }));
  const office = id(log.record('OfficeEstablished', { key: 'chair', organization: org, title: 'Chair', multipleHolders: false }));
  const session = id(log.record('SessionHeld', { body, held: { from: '2001-05-02' }, place: { city: 'City', country: org }, chairedBy: { person, office }, agenda: ['item'] }));
  log.record('FactCorrected', { fact: person, data: { key: 'ada', name: 'Ada Lovelace', aliases: ['A. L.', 'Countess'] }, reason: 'name' });
  log.record('FactCorrected', { fact: person, data: { key: 'ada', name: 'Ada King', aliases: [] }, reason: 'again' });
  log.record('FactCorrected', { fact: session, data: { body, held: { from: '2001-05-02', to: '2001-05-04' }, place: { city: 'Town', country: org }, chairedBy: { person, office }, agenda: ['item'] }, reason: 'days' });
  log.record('FactRetracted', { fact: other, reason: 'duplicate' });
  const { readModels, path, dir } = await startReadApp(t, log);
  t.ok(await readModels.waitFor(log.events.at(-1)?.position as string, 10_000), 'live projections reached the head');
  const running = dumpTables(path);
  const closed = (table: string) => (running[table] as unknown[][]).filter((r) => r[2] !== '\uffff').length;
  t.equal(closed('entities'), 4, 'closed: two old versions of the person, the retracted one, the session’s first');
  t.ok(closed('names') >= 3, 'their names closed');
  t.equal(closed('sessions'), 1, 'the session’s first version closed');
  const fresh = join(dir, 'entities.db');
  await rebuildReadModels({ store: log, path: fresh, log: silent });
  t.same(dumpTables(fresh), running, 'rebuild: same rows');
  const now = new Date().toISOString();
  t.equal(readModels.queries.person(person, now)?.name, 'Ada King', 'the person as corrected');
  t.equal(readModels.queries.person(other, now), null, 'the retracted person unknown');
});

t.test('corrections and retractions of every fact kept by its stream’s entity: rebuilt rows equal the running ones', async (t) => {
  // Closing a version of these finds its rows through the key the id of the fact's stream's
  // entity leads (TableSpec.streamKey: appointments and departures by office, attestations and
  // session items by session, chairmanships and memberships by organization, adoptions by
  // document; considerations by their own id), live; a rebuild closes them by fact_id.
  const log = new TestLog();
  const id = (e: { metadata: Record<string, unknown> }): string => e.metadata['factId'] as string;
  const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }));
  const body = id(log.record('OrganizationRegistered', { key: 'council', name: 'Council', classification: 'body', parent: org }));
  const state = id(log.record('OrganizationRegistered', { key: 'st', name: 'State', classification: 'state' }));
  const person = id(log.record('PersonRegistered', { key: 'ada', name: 'Ada' }));
  const office = id(log.record('OfficeEstablished', { key: 'chair', organization: org, title: 'Chair', multipleHolders: false }));
  const session = id(log.record('SessionHeld', { body, held: { from: '2001-05-02' }, place: { city: 'City', country: state }, chairedBy: { person, office }, agenda: ['item'] }));
  const appointed = log.record('OfficialAppointed', { office, person, term: { from: '2000-01-01' }, acting: false });
  const appointedToo = log.record('OfficialAppointed', { office, person, term: { from: '1990-01-01', to: '1994-12-31' }, acting: false });
  const left = log.record('OfficialLeftOffice', { office, person, on: '2003-04-05', reason: 'resigned' });
  const attended = log.record('DelegateAttended', { session, person, representing: state, office });
  const reported = log.record('ReportDelivered', { session, person, office, subject: 'Report' });
  const talks = log.record('SidelineTalksHeld', { session, participants: [{ person }, { organization: org }], topics: ['t'] });
  // Talks held at no session: no session's item (a rebuild once failed on them: session_items is keyed by session).
  const talksAlone = log.record('SidelineTalksHeld', { on: '2001-05-03', participants: [{ person }, { organization: state }], topics: ['u'] });
  const talksAloneToo = log.record('SidelineTalksHeld', { on: '2001-05-04', participants: [{ person }], topics: ['w'] });
  const considered = log.record('DocumentConsidered', { title: 'Draft', kind: 'plan', body, session });
  const adopted = log.record('DocumentAdopted', { title: 'Strategy', kind: 'strategy', body, session, adoptedOn: '2001-05-02', effective: { from: '2001-06-01', to: '2005-12-31' } });
  const adoptedDraft = log.record('DocumentAdopted', { document: id(considered), body, session, adoptedOn: '2001-05-03' });
  const chaired = log.record('ChairmanshipPassed', { organization: org, chair: state, term: { from: '2001-01-01', to: '2001-12-31' } });
  const joined = log.record('MembershipStarted', { organization: org, member: state, on: '1999-03-01' });
  t.equal(talks.stream, `session-${session}`, 'talks at a session live in its stream');
  const correct = (e: { metadata: Record<string, unknown>; data: unknown }, change: Record<string, unknown>) =>
    log.record('FactCorrected', { fact: id(e), data: { ...(e.data as Record<string, unknown>), ...change }, reason: 'correction' });
  const retract = (e: { metadata: Record<string, unknown> }) => log.record('FactRetracted', { fact: id(e), reason: 'retraction' });
  correct(appointed, { term: { from: '2000-02-01' } });
  retract(appointedToo);
  correct(left, { on: '2003-04-06' });
  correct(attended, { representing: org });
  retract(reported);
  correct(talks, { topics: ['t', 'v'] });
  correct(talksAlone, { topics: ['u', 'x'] });
  retract(talksAloneToo);
  correct(considered, { title: 'Draft 2' });
  correct(adopted, { summary: 'In short' });
  retract(adoptedDraft);
  correct(chaired, { term: { from: '2001-01-01', to: '2001-06-30' } });
  retract(joined);
  const { readModels, path, dir } = await startReadApp(t, log);
  t.ok(await readModels.waitFor(log.events.at(-1)?.position as string, 10_000), 'live projections reached the head');
  t.same((await readModels.status()).parked.events, [], 'nothing parked');
  const running = dumpTables(path);
  const closed = (table: string) => (running[table] as unknown[][]).filter((r) => r[2] !== '\uffff').length;
  t.same(
    Object.fromEntries(['appointments', 'departures', 'attestations', 'session_items', 'considerations', 'adoptions', 'chairmanships', 'membership_changes'].map((x) => [x, closed(x)])),
    { appointments: 2, departures: 1, attestations: 2, session_items: 3, considerations: 1, adoptions: 2, chairmanships: 1, membership_changes: 1 },
    'each corrected or retracted version closed, live',
  );
  const fresh = join(dir, 'streams.db');
  await rebuildReadModels({ store: log, path: fresh, log: silent });
  t.same(dumpTables(fresh), running, 'rebuild: same rows');
});
