/**
 * Issue #16, finding 2: a failed write is transient until proven otherwise. audit.db made
 * full (SQLite's own "database or disk is full", through PRAGMA max_page_count on the writing
 * connection, so it runs without root; the fault campaign does it with a real tmpfs), or
 * readmodels.db refusing writes: writes go on being acknowledged, /readyz answers 503 naming the
 * part that is retrying, and once there is room again each catches up by itself, /readyz is
 * 200, verify is ok with nothing unaudited, and the read models equal a rebuild. Before: one
 * such error stopped the audit tree until a restart while /readyz said ready, and the read
 * models parked the events of the failed batch as if they were bad.
 */
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { startTestApp } from './fixtures/app.js';
import { organization, person } from './fixtures/facts.js';
import { dumpTables } from './fixtures/history.js';
import { quiet, until } from './fixtures/integrity.js';

const full = (db: Database) => db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
const roomy = (db: Database) => db.pragma('max_page_count = 1073741823');


t.test('audit.db full: writes go on, /readyz says the tree is retrying, and it catches up by itself', async (t) => {
  const dbs = new Map<string, Database>();
  const { app, runtime, auth } = await startTestApp(t, { onWriterDb: (file, db) => dbs.set(file, db) });
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body as object });
  t.equal((await post(organization('full-org'))).statusCode, 201);
  const auditDb = dbs.get('audit.db') as Database;
  t.ok(auditDb, 'the audit connection was handed out');

  full(auditDb);
  const during: number[] = [];
  for (let i = 0; i < 40; i++) during.push((await post(person(`full-p${i}`, `P ${i}`))).statusCode);
  t.same([...new Set(during)], [201], 'every write acknowledged while audit.db is full');
  await until('the follower to report the failure', async () => (await runtime.audit.status()).state === 'retrying');
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.headers['retry-after'], '1');
  t.match(ready.json().detail, /audit tree: retrying after a failed write \(\d+ in a row: .*database or disk is full\)/);
  t.equal(ready.json().readiness.readModels.ready, true, 'the read models are not blamed');

  roomy(auditDb);
  const head = (await runtime.store.head()) as string;
  await until('the tree to catch up', async () => (await runtime.audit.status()).lastPosition === head);
  t.equal((await runtime.audit.status()).state, 'following');
  await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200);
  const report = await runtime.audit.verify();
  t.match(report, { ok: true, unaudited: 0 }, 'verify: every event audited, nothing diverges');
});

t.test('readmodels.db refusing writes: the runner retries from its checkpoint, parks nothing, and the read models equal a rebuild', async (t) => {
  const dbs = new Map<string, Database>();
  const { app, runtime, auth, dataDir } = await startTestApp(t, { onWriterDb: (file, db) => dbs.set(file, db), env: { ANNALS_READ_WAIT_MS: '200' } });
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body as object });
  t.equal((await post(organization('rm-org'))).statusCode, 201);
  const models = dbs.get('readmodels.db') as Database;

  // The read-model file refuses every write until told otherwise (SQLITE_READONLY: the same
  // storage fault path as a full disk, and unlike max_page_count, whose room in an empty
  // schema's pages varies, it fails the very next write).
  models.pragma('query_only = ON');
  const during = 'rm-during';
  t.equal((await post(person(during, 'During'))).statusCode, 201, 'acknowledged: the log took it (the recorder answers once its wait for the read models is over)');
  await until('the runner to report the failure', async () => runtime.readModels.readiness().state === 'retrying');
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json().detail, /read models: retrying after a failure \(attempt to write a readonly database\); they resume by themselves/);
  t.equal((await app.inject({ url: `/v1/people/${during}` })).statusCode, 404, 'not readable yet');

  models.pragma('query_only = OFF');
  const head = (await runtime.store.head()) as string;
  t.ok(await runtime.readModels.waitFor(head, 20_000), 'caught up by itself');
  t.equal(runtime.readModels.readiness().parked, 0, 'nothing parked: a storage fault is not the event’s fault');
  t.equal((await app.inject({ url: `/v1/people/${during}` })).statusCode, 200, 'the fact recorded during the fault is readable');
  await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200);
  const fresh = join(dataDir, 'fresh.db');
  await rebuildReadModels({ store: runtime.store, path: fresh, log: quiet });
  t.same(dumpTables(join(dataDir, 'readmodels.db')), dumpTables(fresh), 'equal to a rebuild from the log');
});

t.test('a part further behind the log than ANNALS_READY_MAX_LAG_MS makes /readyz 503, saying how far', async (t) => {
  const dbs = new Map<string, Database>();
  const { app, runtime, auth } = await startTestApp(t, { onWriterDb: (file, db) => dbs.set(file, db), env: { ANNALS_READY_MAX_LAG_MS: '300' } });
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body as object });
  t.equal((await post(organization('lag-org'))).statusCode, 201);
  await until('/readyz 200 at the start', async () => (await app.inject({ url: '/readyz' })).statusCode === 200);
  const auditDb = dbs.get('audit.db') as Database;
  full(auditDb);
  // Until the tree fails: the free room left in audit.db's last pages takes a few leaves.
  const during: number[] = [];
  for (let i = 0; (await runtime.audit.status()).state !== 'retrying'; i++) {
    if (i === 200) throw new Error('audit.db never filled');
    during.push((await post(person(`lag-p${i}`, `Lagging ${i}`))).statusCode);
  }
  t.same([...new Set(during)], [201], 'acknowledged while the tree cannot write');
  // The oldest event the tree has not taken in ages past the bound while the tree retries.
  // 200 answers the parts at the top level, 503 under readiness.
  const parts = async () => {
    const body = (await app.inject({ url: '/readyz' })).json();
    return body.readiness ?? body;
  };
  await until('the tree to fall 300 ms behind', async () => (await parts()).audit.lagMs > 300);
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json().detail, /audit tree: \d+ s behind the log \(more than ANNALS_READY_MAX_LAG_MS=300\)/, 'the lag named beside the retrying');
  t.equal(ready.json().readiness.readModels.lagMs, 0, 'the read models took it in: not behind');
  roomy(auditDb);
  const head = (await runtime.store.head()) as string;
  await until('the tree to catch up', async () => (await runtime.audit.status()).lastPosition === head);
  await until('/readyz 200 again', async () => (await app.inject({ url: '/readyz' })).statusCode === 200);
  t.equal((await parts()).audit.lagMs, 0, 'no lag once caught up');
});
