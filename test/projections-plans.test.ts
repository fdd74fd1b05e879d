/**
 * Every statement the read queries prepare is served by an index: asked every question (the
 * API's, the pages', Popolo's, search, replay's) on a rebuilt record, no plan reads a
 * read-model table whole except the two known below. An index dropped from a projection's
 * table (or a new query without one) shows up here, not as a slow page at 1,000,000 facts.
 * Which index serves which statement on the big record: `npm run bench:plans`
 * (projections/README.md has the table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';
import { captureStatements, exerciseQueries, fullScans, indexesUsed, plansOf, sampleOf } from './fixtures/query-plans.js';

/**
 * Scans known and accepted (each reads a table no index can narrow):
 * - search by a part of a name (`name_norm LIKE '%…%'`) reads every name: a substring has no
 *   index order (a full-text index would be the change);
 * - an organization's scope (GET /v1/changes?organization=, the feed) walks its entities
 *   through a recursive step the planner runs as a scan of entities.
 */
const KNOWN_SCANS = [/^searchNames /, /^scopeOf /];

t.test('no read query scans a read-model table whole', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-plans-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = new TestLog();
  recordRichHistory(log, 4000, 5, { offices: 12, people: 40 });
  const path = join(dir, 'readmodels.db');
  await rebuildReadModels({ store: log, path, log: pino({ level: 'silent' }) });

  const db = new Database(path);
  t.teardown(() => db.close());
  // Without the rebuild's statistics: on a small record they may make a scan look as cheap as
  // an index (one body holds every session here), and the question is whether an index exists
  // that serves each statement, as the planner's defaults assume of an equality on one.
  db.exec('DELETE FROM sqlite_stat1; ANALYZE sqlite_schema;');
  const knownAt = log.events.at(-1)?.recordedAt as string;
  const sample = sampleOf(db, knownAt);
  const captured = captureStatements(db);
  exerciseQueries(db, sample);
  const plans = plansOf(db, captured.values());
  t.ok(plans.length >= 40, `every kind of question asked (${plans.length} statements)`);

  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  const used = new Set(plans.flatMap(indexesUsed));
  for (const p of plans) {
    const scans = fullScans(p, tables);
    if (KNOWN_SCANS.some((re) => re.test(p.caller))) continue;
    t.same(scans, [], `${p.caller}: ${indexesUsed(p).join(', ') || 'no table read'}`, { sql: p.sql, plan: p.lines });
  }
  // The indexes the point questions stand on are the ones the plans use; the partial one
  // (timeline_i0) only where each query's WHERE implies its condition. considerations_i2
  // (session, document): the timeline's considered documents, read through their session (#19).
  // sessions_i3 (body, length class, s0, id): a page of sessions at a validAt (sessions/length.ts).
  for (const name of ['terms_rt', 'attestations_rt', 'terms_office', 'terms_person', 'sessions_i0', 'sessions_i3', 'entities_i1', 'entities_i2', 'timeline_i0', 'considerations_i2', 'adoptions_i1']) t.ok(used.has(name), `${name} serves a query`);
  // adoptions_i3 (session, document, …) holds every column a page of sessions reads of a
  // session's adoptions (documents@9): the page's statement reads no row of the table for them.
  const page = plans.find((p) => p.sql.startsWith('SELECT j.key AS n'));
  t.ok(page?.lines.some((l) => /SEARCH x USING COVERING INDEX adoptions_i3 \(session=\?\)/.test(l)), "a page of sessions reads a session's adoptions from adoptions_i3 alone", { plan: page?.lines });
});

t.test('the capture sees a full scan when there is one', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE rows (a TEXT, b TEXT); CREATE INDEX rows_a ON rows (a)');
  const captured = captureStatements(db);
  db.prepare('SELECT * FROM rows r WHERE r.b = ?').all('x');
  db.prepare('SELECT * FROM rows WHERE a = ?').all('x');
  const [scan, indexed] = plansOf(db, captured.values());
  const tables = new Set(['rows']);
  t.same(fullScans(scan!, tables).length, 1, 'a scan through an alias is found');
  t.same(fullScans(indexed!, tables), [], 'an indexed search is not a scan');
  t.same(indexesUsed(indexed!), ['rows_a']);
  // A subquery run as a co-routine under an alias that names the table elsewhere in the
  // statement (sessions/json.ts: the adoptions grouped by document as `a`): its scan reads the
  // subquery's rows, not the table.
  const sub = captureStatements(db);
  db.prepare('SELECT (SELECT group_concat(r.b) FROM (SELECT x.b, min(x.a) FROM rows x WHERE x.a = ? GROUP BY x.b) r) AS n, (SELECT r.b FROM rows r WHERE r.a = ?) AS m').all('x', 'y');
  const [coroutine] = plansOf(db, sub.values());
  t.ok(coroutine!.lines.some((l) => /CO-ROUTINE r/.test(l)) && coroutine!.lines.some((l) => /^\s*SCAN r$/.test(l)), 'SQLite runs the subquery as a co-routine scanned as r');
  t.same(fullScans(coroutine!, tables), [], 'the scan of a co-routine is not a scan of the table its alias names elsewhere');
  db.prepare('SELECT (SELECT group_concat(r.b) FROM (SELECT x.b, min(x.a) FROM rows x WHERE x.a = ? GROUP BY x.b) r) AS n, (SELECT r.b FROM rows r WHERE r.b = ?) AS m').all('x', 'y');
  const [both] = plansOf(db, [...sub.values()].slice(1));
  t.same(fullScans(both!, tables).length, 1, 'but a scan of the table under that alias still is');
});
