/**
 * A read worker's page cache filled once it is ready (projections/read-cache-warm.ts; issue
 * #12, the cold start): it walks the nodes of the holder's temporal indexes and the indexes
 * the holder statement's plan uses, to their ends, within its page budget, a slice at a time;
 * answers after it are those of a connection that never warmed; what is not in the file is
 * left out; a closed connection ends it with its reason, never a throw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { ReadQueries, openReadModels, openReader } from '../projections/index.js';
import { cacheWarmer, walksFor } from '../projections/read-cache-warm.js';
import { HOLDER_SQL } from '../projections/offices/holder-json.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';

async function recorded(t: Test, facts: number) {
  const log = new TestLog();
  recordRichHistory(log, facts, 11, { offices: 4, people: 8 });
  const dir = await mkdtemp(join(tmpdir(), 'annals-cache-warm-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'readmodels.db');
  const models = await openReadModels({ store: log, path, log: pino({ level: 'silent' }) });
  await models.caughtUp();
  t.teardown(() => models.close());
  return path;
}

const RTREES = ['terms_rt', 'attestations_rt'];

t.test('walks the temporal indexes’ nodes and the indexes the holder statement uses, to their ends', async (t) => {
  const path = await recorded(t, 600);
  const db = openReader(path);
  t.teardown(() => db.close());
  const walks = walksFor(db, [HOLDER_SQL], RTREES);
  const names = walks.map((w) => w.name);
  t.same(names.slice(0, 2), ['terms_rt_node', 'attestations_rt_node'], 'the nodes of both temporal indexes first');
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${HOLDER_SQL}`).all(Object.fromEntries([...HOLDER_SQL.matchAll(/@(\w+)/g)].map((m) => [m[1], null]))) as { detail: string }[]).map((p) => p.detail).join('\n');
  for (const n of names.slice(2)) t.match(plan, new RegExp(`INDEX ${n}\\b`), `${n}: the holder statement's plan uses it`);
  t.ok(names.length > 2, `and the indexes of its plan: ${names.slice(2).join(', ')}`);
  t.notOk(names.includes('facts_amendments'), 'but not a partial index (it could not be walked without its table)');
  const warmer = cacheWarmer(walks, { pages: 1_000_000, sliceMs: 1_000 });
  let slices = 0;
  while (warmer.step()) slices += 1;
  t.equal(warmer.error, undefined);
  t.ok(warmer.pages > 0, `~${warmer.pages} pages in ${slices + 1} slices`);
  t.notOk(warmer.step(), 'once done, done');
});

t.test('keeps to its page budget; none is none', async (t) => {
  const path = await recorded(t, 400);
  const db = openReader(path);
  t.teardown(() => db.close());
  const none = cacheWarmer(walksFor(db, [HOLDER_SQL], RTREES), { pages: 0, sliceMs: 1_000 });
  t.notOk(none.step(), 'a budget of no pages reads none');
  t.equal(none.pages, 0);
  const few = cacheWarmer(walksFor(db, [HOLDER_SQL], RTREES), { pages: 8, sliceMs: 1_000 });
  while (few.step());
  t.ok(few.pages >= 8 && few.pages <= 8 + 10, `stops once its budget is spent (${few.pages})`);
});

t.test('answers after it are those of a connection that never warmed', async (t) => {
  const path = await recorded(t, 300);
  const warmDb = openReader(path);
  const warm = new ReadQueries(warmDb);
  const cold = new ReadQueries(openReader(path));
  const w = cacheWarmer(walksFor(warmDb, [HOLDER_SQL], RTREES));
  while (w.step());
  const k = new Date().toISOString();
  const offices = cold.offices(undefined, k, { after: null, limit: 50 })?.items ?? [];
  t.ok(offices.length > 0);
  for (const o of offices) for (const day of ['1995', '2004-06', '2017-03-04']) t.equal(warm.holderJson(o.id, day, k), cold.holderJson(o.id, day, k), `holder of ${o.key} on ${day}`);
});

t.test('what is not in the file is left out; a closed connection ends it with its reason', async (t) => {
  const path = await recorded(t, 100);
  const db = openReader(path);
  const walks = walksFor(db, ['SELECT * FROM no_such_table', HOLDER_SQL], ['no_such_rt', ...RTREES]);
  t.notOk(walks.some((w) => w.name.startsWith('no_such')), 'no walk over what is not there');
  const w = cacheWarmer(walks);
  db.close();
  t.notOk(w.step(), 'a closed connection ends it');
  t.match(w.error, /not open/, 'and says why');
});
