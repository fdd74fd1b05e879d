/**
 * Rebuild equality: the read-model tables after a rebuild equal, row for row, the ones the
 * running projections built (live, in batches of whatever size arrived); a process killed
 * with SIGKILL mid-catch-up resumes from its checkpoint and reaches the same rows.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh, rebuildReadModels, type RebuildProgress } from '../projections/index.js';
import { TestLog, dumpTables, recordRichHistory, startReadApp } from './fixtures/history.js';
import { nodeArgs } from './fixtures/node-child.js';

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

t.test('SIGKILL mid-catch-up: the restarted process resumes and reaches the same rows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'readmodels.db');
  const N = '8000';
  const child = (mode: string) =>
    spawn(process.execPath, nodeArgs(new URL('./fixtures/catchup-child.ts', import.meta.url).pathname, path, N, mode), { stdio: ['ignore', 'pipe', 'inherit'] });

  const first = child('slow');
  let killedAt = 0;
  await new Promise<void>((resolve, reject) => {
    first.on('error', reject);
    const poll = setInterval(() => {
      try {
        const db = new Database(path, { readonly: true, fileMustExist: true });
        const applied = db.prepare('SELECT applied FROM checkpoint').pluck().get() as number;
        db.close();
        if (applied >= 1000) {
          killedAt = applied;
          clearInterval(poll);
          first.kill('SIGKILL');
        }
      } catch {
        /* not created yet */
      }
    }, 10);
    first.on('exit', () => {
      clearInterval(poll);
      resolve();
    });
  });
  t.equal(first.signalCode, 'SIGKILL', 'killed');
  t.ok(killedAt > 0 && killedAt < 8000, `killed mid-catch-up (checkpoint at ${killedAt} of 8000)`);
  const resumedFrom = (() => {
    const db = new Database(path, { readonly: true });
    const n = db.prepare('SELECT applied FROM checkpoint').pluck().get() as number;
    db.close();
    return n;
  })();
  t.ok(resumedFrom >= killedAt, 'the committed checkpoint survived the kill');

  const second = child('fast');
  let out = '';
  second.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
  t.equal(code, 0, out);
  const m = /caught-up (\d+) (\d+)/.exec(out);
  t.ok(m && m[1] === m[2], 'caught up to the head');

  const log = new TestLog();
  recordRichHistory(log, 8000, 7);
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
