/**
 * The runner: parks an event a projection cannot apply (logged, counted, in /readyz and the
 * admin status) and goes on; follows the log live; waitFor answers true once applied and
 * false on timeout; a read-model file of another schema version is rebuilt from the log.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { openReadModels } from '../projections/index.js';
import { entities } from '../projections/entities/evolve.js';
import { offices } from '../projections/offices/evolve.js';
import { TestLog, startReadApp } from './fixtures/history.js';

t.test('a fact a projection cannot apply is parked, the rest goes on', async (t) => {
  const log = new TestLog();
  const org = log.record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }).metadata['factId'] as string;
  log.record('FactCorrected', { fact: '01ZZZZZZZZZZZZZZZZZZZZZZZZ', data: {}, reason: 'names no known fact' }, { stream: `organization-${org}` });
  const office = log.record('OfficeEstablished', { key: 'sg', organization: org, title: 'SG', multipleHolders: false }).metadata['factId'] as string;
  const { app, readModels, auth } = await startReadApp(t, log);
  await readModels.caughtUp();
  const r = readModels.readiness();
  t.equal(r.ready, true, 'the runner itself goes on (/readyz answers 503 for the parked event: integrity-lock.test.ts)');
  t.equal(r.parked, 1);
  const status = await app.inject({ url: '/v1/admin/projections', headers: auth('admin') });
  t.match(status.json(), { parked: { count: 1, events: [{ type: 'FactCorrected', error: /unknown fact/ }] }, lag: { events: 0 } });
  t.equal((await app.inject({ url: `/v1/offices/${office}` })).statusCode, 200, 'facts after the parked one are applied');

  // Live: a new fact is applied, waitFor sees it; a position never written times out.
  const person = log.record('PersonRegistered', { key: 'p', name: 'P' });
  t.equal(await readModels.waitFor(person.position, 2000), true);
  t.equal((await app.inject({ url: `/v1/people/p?minPosition=${person.position}` })).statusCode, 200);
  t.equal(await readModels.waitFor('99999999999999999999', 50), false);
});

t.test('status shows lag while the runner is behind', async (t) => {
  const log = new TestLog();
  for (let i = 0; i < 30; i++) log.record('PersonRegistered', { key: `p${i}`, name: `P ${i}` });
  const slow = Object.create(log) as TestLog;
  // The runner reads pages of 10 here; its second read (after the first page is applied) is
  // held until the test lets it go. Status reads (larger pages) go straight through.
  let atGate!: () => void;
  const held = new Promise<void>((r) => (atGate = r));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  slow.readAll = async (o) => {
    if ((o?.limit ?? Infinity) > 2000) return log.readAll(o);
    if (o?.after) {
      atGate();
      await gate;
    }
    return log.readAll({ ...o, limit: 10 });
  };
  const { readModels } = await startReadApp(t, slow);
  await held;
  const s = await readModels.status();
  t.equal(s.lag.events, 20, 'events recorded but not applied');
  t.ok(s.lag.seconds > 0);
  t.equal(readModels.readiness().ready, false, 'not ready before the first catch-up');
  release();
  await readModels.caughtUp();
  t.equal(readModels.readiness().ready, true);
});

t.test('evolve is pure: the same fact gives the same rows', async (t) => {
  const fact = { factId: '01J0000000000000000000000A', type: 'OfficialAppointed' as const, data: { office: 'O', person: 'P', term: { from: '2026', to: '2027-06' }, acting: false }, source: { title: 's' } };
  t.same(offices.evolve(fact), offices.evolve(fact));
  t.match(offices.evolve(fact), [{ table: 'appointments', row: { s0: '2026-01-01', s1: '2026-12-31', e0: '2027-06-01', e1: '2027-06-30' } }]);
  t.same(entities.evolve({ ...fact, type: 'PersonRegistered', data: { name: 'Ana', aliases: ['Ána', 'Ana'] } }).filter((w) => w.table === 'names').map((w) => w.row['name_norm']), ['ana']);
});

t.test('a read-model file of another schema is dropped and rebuilt from the log', async (t) => {
  const log = new TestLog();
  log.record('PersonRegistered', { key: 'p', name: 'P' });
  const dir = t.testdir({});
  const path = `${dir}/readmodels.db`;
  const old = new Database(path);
  old.exec("CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL); INSERT INTO meta VALUES ('schema', 'v0'); CREATE TABLE stale (x)");
  old.close();
  const rm = await openReadModels({ store: log, path, log: pino({ level: 'silent' }) });
  t.teardown(() => rm.close());
  await rm.caughtUp();
  t.ok(rm.queries.person('p', new Date().toISOString()));
  const db = new Database(path, { readonly: true });
  t.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'stale'").pluck().get(), 0);
  db.close();
});

t.test("an empty log's identity, learned after its first event, is in the file without another batch", async (t) => {
  // A log with no identity of its own (as EventStoreDB's): it is its first event's id, known
  // once there is one. A rebuild writes it before the first batch; the running read models
  // learn it after the first batch, and must write it then, not with a batch that may not come.
  const log = new TestLog();
  const dir = t.testdir({});
  const path = `${dir}/readmodels.db`;
  const rm = await openReadModels({ store: log, path, log: pino({ level: 'silent' }) });
  t.teardown(() => rm.close());
  const first = log.record('PersonRegistered', { key: 'p', name: 'P' });
  t.equal(await rm.waitFor(first.position, 5000), true, 'the only fact applied');
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const followed = (): unknown => db.prepare('SELECT log FROM checkpoint WHERE id = 1').pluck().get();
  const until = Date.now() + 5000;
  while (followed() === null && Date.now() < until) await new Promise((r) => setImmediate(r));
  t.equal(followed(), `first-event:${first.id}`, "the file names the log by its first event's id");
});
