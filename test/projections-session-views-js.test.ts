/**
 * The texts of session items made in JS (sessions/live-views.ts) equal stored.ts's SQL: the
 * live writer's held views (one open version, a row known from at or after its last change;
 * else the SQL), a bulk build's (BuildViews: the rows naming a changed id derived at the end,
 * every row when JS cannot write one, or for a replay's bounded memory), and JSON strings as
 * SQLite's json_quote writes them.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh } from '../projections/index.js';
import { BuildViews, LiveViews, jsonQuote, viewText } from '../projections/sessions/live-views.js';
import { TestLog, dumpTables, startReadApp } from './fixtures/history.js';

const silent = pino({ level: 'silent' });
const OPEN = '\uffff';

t.test('jsonQuote is json_quote, and refuses what it cannot write the same', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  const q = db.prepare('SELECT json_quote(?)').pluck();
  ['plain', 'quote " and \\ back', 'tab\tnew\nline\u0001\u001f\u007f', 'é ü 中 \u2028'].forEach((s, i) => t.equal(jsonQuote(s), q.get(s), `string ${i}`));
  t.equal(jsonQuote(null), 'null');
  t.equal(jsonQuote(undefined), 'null');
  t.equal(jsonQuote('lone \ud800'), undefined, 'a lone surrogate: SQLite stores U+FFFD');
  t.equal(jsonQuote('pair 😀'), undefined, 'any surrogate is left to SQL');
  t.equal(jsonQuote(7), undefined, 'not a string');
  t.equal(viewText('X', 'office', 'k', 'Envoy'), '{"id":"X","key":"k","title":"Envoy"}');
  t.equal(viewText('X', 'person', null, 'Ann'), '{"id":"X","key":null,"name":"Ann"}');
  t.equal(viewText('X', 'person', null, 3), undefined);
});

t.test('LiveViews holds a view only while SQL would give the same', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE entities (id TEXT, kind TEXT, key TEXT, name TEXT, known_from TEXT, known_to TEXT)');
  const put = db.prepare('INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?)');
  put.run('a', 'person', 'ann', 'Ann', '2020-01-01', '2020-02-01');
  put.run('a', 'person', 'ann', 'Anne', '2020-02-01', OPEN);
  put.run('b', 'person', null, 'Bob', '2020-01-01', OPEN);
  put.run('b', 'person', null, 'Bobby', '2020-03-01', OPEN);
  put.run('c', 'office', 'o', 'Envoy', '2020-01-01', '2020-04-01');
  const v = new LiveViews(db);
  t.equal(v.view('a', '2020-01-15'), undefined, 'a row known before the last change: the SQL');
  t.equal(v.view('a', '2020-02-01'), '{"id":"a","key":"ann","name":"Anne"}', 'at or after it: the open version');
  t.equal(v.view('b', '2020-05-01'), undefined, 'two open versions: the SQL');
  t.equal(v.view('c', '2020-05-01'), undefined, 'no open version (retracted): the SQL');
  t.equal(v.view('z', '2020-05-01'), undefined, 'no version: the SQL');
  v.created('n', 'person', null, 'New', '2020-06-01');
  t.equal(v.view('n', '2020-06-01'), '{"id":"n","key":null,"name":"New"}', 'a creation: held from its row, no read');
  v.created('s', 'person', null, 'lone \ud800', '2020-06-01');
  t.equal(v.view('s', '2020-06-01'), undefined, 'a name JS cannot write: not held (and not in the table: the SQL)');
  v.changed('n');
  t.equal(v.view('n', '2020-06-01'), undefined, 'changed: read again (not in the table here)');
  v.created('n', 'person', null, 'New', '2020-06-01');
  v.clear();
  t.equal(v.view('n', '2020-06-01'), undefined, 'cleared (a rollback)');
  for (let i = 0; i <= 50_000; i++) v.created(`m${i}`, 'person', null, 'M', '2020-06-01');
  t.equal(v.view('m0', '2020-06-01'), undefined, 'past 50,000 views held: all dropped');
  t.equal(v.view('m50000', '2020-06-01'), '{"id":"m50000","key":null,"name":"M"}', 'and held again from there');
});

t.test('BuildViews: a changed or unknown id is dirty; without holding, every row is derived at the end', async (t) => {
  const b = new BuildViews(true);
  b.created('p', 'person', null, 'P', '2020-01-01');
  t.equal(b.view('p', '2020-01-01'), '{"id":"p","key":null,"name":"P"}');
  t.equal(b.view('p', '2019-12-31'), undefined, 'named before its creation');
  t.ok(b.dirty.has('p'));
  t.equal(b.view('p', '2020-02-01'), undefined, 'dirty from then on');
  b.created('q', 'person', null, 'Q', '2020-01-01');
  b.created('q', 'person', null, 'Q again', '2020-01-02');
  t.ok(b.dirty.has('q'), 'created twice');
  b.created('r', 'person', null, 'lone \ud800', '2020-01-01');
  t.ok(b.dirty.has('r'), 'a name JS cannot write');
  b.changed('s');
  t.ok(b.dirty.has('s'));
  t.equal(b.full, false);
  const none = new BuildViews(false);
  none.created('p', 'person', null, 'P', '2020-01-01');
  none.changed('p');
  t.equal(none.view('p', '2020-01-01'), undefined);
  t.same([none.full, none.dirty.size], [true, 0], 'not holding: every row, nothing kept');
});

function log(): TestLog {
  const log = new TestLog();
  const fid = (e: { metadata: Record<string, unknown> }): string => e.metadata['factId'] as string;
  const org = fid(log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }));
  const office = fid(log.record('OfficeEstablished', { key: 'envoy', organization: org, title: 'Envoy 😀', multipleHolders: true }));
  const ann = fid(log.record('PersonRegistered', { key: 'ann', name: 'Ann' }));
  const session = fid(log.record('SessionHeld', { body: org, title: 'Council', held: { from: '2001-03-01', to: '2001-03-05' } }));
  log.record('DelegateAttended', { session, person: ann, representing: org });
  log.record('DelegateAttended', { session, person: ann, office });
  log.record('ReportDelivered', { session, person: ann, subject: 'Budget 😀' });
  log.record('FactCorrected', { fact: ann, data: { key: 'ann', name: 'Anne' }, reason: 'spelling' });
  log.record('ReportDelivered', { session, person: ann, subject: 'Plain' });
  return log;
}

t.test('texts JS cannot write (surrogates): the SQL live, every row derived by a rebuild; a replay-like bounded build the same', async (t) => {
  const l = log();
  const { readModels, path, dir } = await startReadApp(t, l);
  await readModels.caughtUp();
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const rows = db.prepare("SELECT item, views, views_to FROM session_items WHERE item IN ('attendee', 'report') ORDER BY position").all() as { views: string; views_to: string }[];
  t.equal(rows.length, 4);
  t.ok(rows.every((r) => typeof r.views === 'string'), 'every attendance and report has its text');
  t.match(rows[1]?.views, /Envoy 😀/, "the office's title with a surrogate pair, by the SQL");
  t.match(rows[2]?.views, /Budget 😀/);
  t.equal(rows[3]?.views_to, OPEN, 'after the correction: held');
  for (const tempOnDisk of [false, true]) {
    const fresh = join(dir, `rebuilt-${tempOnDisk}.db`);
    await buildFresh(l, fresh, silent, undefined, undefined, { tempOnDisk });
    t.same(dumpTables(fresh), dumpTables(path), `rebuilt${tempOnDisk ? ' with bounded memory' : ''}: the same rows`);
  }
});
