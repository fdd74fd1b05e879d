/**
 * An error in the terms' upkeep of one event (TermsKeeper.flush, offices/terms-index.ts) parks
 * that event, as any error a projection meets on it does: the rest of its batch is applied, the
 * checkpoint moves past the batch once, the runner stays live, and operators see the parked
 * event where they see the others (GET /v1/admin/projections, /readyz naming it). Until session
 * 45 the flush ran in a `finally` outside the parking path: SQLite refusing a `terms_rt` entry
 * (`rtree constraint failed: terms_rt.(klo<=khi)`, which a log whose recording time goes back
 * made) failed the batch whole, retried for ever: never ready, nothing after it applied, nothing
 * parked. Both live modes: ANNALS_READ_MODELS=writer (the store writer's thread) and thread.
 *
 * The failure is SQLite's own R*Tree refusing an entry that ends before it begins, provoked
 * from the real file rather than from the code's history: a trigger the test puts on
 * readmodels.db inserts such an entry into `terms_rt` whenever a terms row of one office is
 * written (the mend of terms-index.ts left in place). A rebuild makes a fresh file without the
 * trigger (and a bulk build cuts the terms from the finished tables, never entry by entry), so
 * it applies the event: it is how an operator clears a parked event (projections/README.md).
 *
 * And an event whose metadata is null (a log made by hand): its park read `metadata.factId` and
 * failed too, escaping the parking path the same way.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import type { LogSource } from '../projections/runner.js';
import { openDb, ReadModelWriter, type LogEvent } from '../projections/db.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';
import { dumpTables, TestLog } from './fixtures/history.js';
import { until } from './fixtures/when.js';

const source = { title: 'Test', publisher: 'Annals' };
type Json = Record<string, any>;

/** `store`'s log without the event at `position`: what the read models hold when that event is parked. */
function without(store: LogSource, position: string): LogSource {
  return {
    readAll: async (o) => (await store.readAll(o)).filter((e: LogEvent) => e.position !== position),
    subscribe: () => {
      throw new Error('a bulk build reads pages');
    },
    head: () => store.head(),
  };
}

for (const mode of ['writer', 'thread'] as const) {
  t.test(`ANNALS_READ_MODELS=${mode}: an event whose terms SQLite refuses is parked; the rest of its batch applied; the runner goes on`, async (t) => {
    const env = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: mode, ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '300' };
    const a = await startTestApp(t, { env });
    const { app, runtime } = a;
    const record = async (type: string, data: Json): Promise<string> => {
      const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type, data, source } });
      t.equal(r.statusCode, 201, `${type} recorded`);
      return (r.json() as Json)['factId'] as string;
    };
    const org = await record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' });
    const [p1, p2] = [await record('PersonRegistered', { key: 'p1', name: 'Pat' }), await record('PersonRegistered', { key: 'p2', name: 'Sam' })];
    const sg = await record('OfficeEstablished', { key: 'sg', organization: org, title: 'Secretary-General', multipleHolders: false });
    const dg = await record('OfficeEstablished', { key: 'dg', organization: org, title: 'Deputy', multipleHolders: false });
    await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200, 120_000);

    const path = join(a.dataDir, 'readmodels.db');
    const file = new Database(path);
    t.teardown(() => void (file.open && file.close()));
    file.pragma('busy_timeout = 10000');
    file.exec(`CREATE TRIGGER test_terms_fault AFTER INSERT ON terms WHEN NEW.office = '${sg}' BEGIN INSERT INTO terms_rt VALUES (-NEW.rowid, 0, 0, 0, 0, 2, 1); END`);

    // One append of three events: one batch for the apply (writer: the COMMIT's rows; thread: one page).
    const batch = await app.inject({
      method: 'POST',
      url: '/v1/facts/batch',
      headers: a.auth('recorder'),
      payload: [
        { type: 'OfficialAppointed', data: { office: sg, person: p1, term: { from: '2001' } }, source },
        { type: 'OfficialAppointed', data: { office: dg, person: p2, term: { from: '2002' } }, source },
        { type: 'PersonRegistered', data: { key: 'p3', name: 'Lee' }, source },
      ],
    });
    t.equal(batch.statusCode, 200, 'the batch recorded');
    const head = (await runtime.store.head()) as string;
    const events = await runtime.store.readAll({ limit: 1000 });
    const appointment = (office: string) => events.find((e) => e.type === 'OfficialAppointed' && (e.data as Json)['office'] === office) as LogEvent;
    const [bad, good] = [appointment(sg), appointment(dg)];
    await until('applied up to the head', () => runtime.readModels.applied() === head, 60_000);
    await until('its readiness told', () => runtime.readModels.readiness().parked === 1, 60_000);

    t.match(runtime.readModels.readiness(), { ready: true, position: head, parked: 1, lastError: null }, 'the runner is live, not retrying');
    const status = await app.inject({ url: '/v1/admin/projections', headers: a.auth('admin') });
    t.equal(status.statusCode, 200, 'the status answered');
    const s = status.json() as Json;
    t.equal(s['checkpoint'], head);
    t.match(s['parked'], { count: 1, events: [{ position: bad.position, eventId: bad.id, type: 'OfficialAppointed', factId: bad.metadata['factId'], error: /rtree constraint failed: terms_rt\.\(klo<=khi\)/ }] }, 'the event is parked, SQLite\'s error with it');
    const ready = await app.inject({ url: '/readyz' });
    t.equal(ready.statusCode, 503, 'a parked event waits for an operator');
    t.match(ready.body, /read models: 1 parked event\(s\)/, '/readyz names it');
    t.notMatch(ready.body, /retrying/, 'and nothing is retried');

    const q = (sql: string, ...args: unknown[]) => file.prepare(sql).pluck().get(...args);
    t.equal(q('SELECT count(*) FROM appointments WHERE fact_id = ?', bad.metadata['factId']), 0, 'no row of the parked appointment');
    t.equal(q('SELECT count(*) FROM facts WHERE fact_id = ?', bad.metadata['factId']), 0, 'nor its facts row');
    t.equal(q('SELECT count(*) FROM terms WHERE office = ?', sg), 0, 'nor a term');
    t.equal(q('SELECT count(*) FROM terms WHERE appointment = ?', good.metadata['factId']), 1, 'the next appointment of the batch applied, its term too');
    t.equal((await app.inject({ url: '/v1/people/p3' })).statusCode, 200, 'the last event of the batch applied');
    t.match(q('SELECT json_object(\'position\', position, \'applied\', applied) FROM checkpoint'), JSON.stringify({ position: head, applied: events.length }), 'the checkpoint moved past the batch once: every event of the log counted once');

    // After it, the runner goes on.
    await record('PersonRegistered', { key: 'p4', name: 'Kim' });
    t.equal((await app.inject({ url: '/v1/people/p4' })).statusCode, 200, 'an append after it is applied');

    // The read models are those of the log without the parked event (parking leaves none of its rows).
    const store = openSqliteStore(join(a.dataDir, 'events.db'), { readOnly: true });
    t.teardown(() => store.close());
    const fresh = join(a.dataDir, 'fresh.db');
    await rebuildReadModels({ store: without(store, bad.position as string), path: fresh, log: pino({ level: 'silent' }) });
    const [live, rebuilt] = [dumpTables(path), dumpTables(fresh)];
    for (const d of [live, rebuilt]) for (const name of ['parked', 'checkpoint']) delete d[name];
    t.same(live, rebuilt, 'the running read models equal a rebuild of the log without the parked event');

    // The operator's fix: the fault mended, a rebuild applies the event and clears it.
    file.exec('DROP TRIGGER test_terms_fault');
    file.close();
    const r = await app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
    t.equal(r.statusCode, 200, 'rebuilt');
    await until('/readyz 200 after the rebuild', async () => (await app.inject({ url: '/readyz' })).statusCode === 200, 120_000);
    t.equal(runtime.readModels.readiness().parked, 0);
    const after = new Database(path, { readonly: true });
    t.teardown(() => after.close());
    t.equal(after.prepare('SELECT count(*) FROM terms WHERE office = ?').pluck().get(sg), 1, 'the rebuild applied the event, its term made');
  });
}

t.test('an event whose metadata is null is parked (its park failed too, and wedged the batch), the rest of its batch applied', async (t) => {
  const log = new TestLog();
  log.record('PersonRegistered', { key: 'a', name: 'A' });
  const odd = log.record('PersonRegistered', { key: 'b', name: 'B' });
  (odd as { metadata: unknown }).metadata = null;
  log.record('PersonRegistered', { key: 'c', name: 'C' });
  const path = join(t.testdir(), 'readmodels.db');
  const db = openDb(path);
  t.teardown(() => db.close());
  const writer = new ReadModelWriter(db, pino({ level: 'silent' }));
  writer.applyBatch(log.events as LogEvent[]);
  t.match(writer.checkpoint(), { position: log.events[2]?.position, applied: 3 }, 'past the batch, once');
  t.same(db.prepare('SELECT position, fact_id AS factId FROM parked').all(), [{ position: odd.position, factId: null }]);
  t.equal(db.prepare("SELECT count(*) FROM entities WHERE key IN ('a', 'c')").pluck().get(), 2, 'the events around it applied');
});
