/**
 * A rebuild's terms cut and indexed on a thread of their own, in a file of their own, and
 * copied in (BuildOptions.termsThread, projections/terms-build.ts), give the same file as
 * when they are made on the build's thread: every table's rows with their rowids, the
 * R*Tree's nodes, the statistics; and no file of theirs is left beside the build's. The
 * statistics, `terms`' analyzed in the terms' file and the others' table by table
 * (terms-build.ts analyzeWith), are the rows a whole-file ANALYZE writes, rowids included.
 */
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh } from '../projections/index.js';
import { BOUNDED_TERMS, analyzeBefore, analyzeWith } from '../projections/terms-build.js';
import { buildTerms } from '../projections/offices/terms-index.js';
import { storeWithHistory } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

/** Every table of the file (shadow tables and sqlite_stat1 included), each row with its rowid where it has one. */
function everyRow(path: string): Record<string, unknown[][]> {
  const db = new Database(path, { readonly: true });
  const out: Record<string, unknown[][]> = {};
  for (const { name, sql } of db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").all() as { name: string; sql: string }[]) {
    const rowid = !/WITHOUT ROWID/i.test(sql) && !name.startsWith('sqlite_stat');
    const cols = (db.prepare(`PRAGMA table_info("${name}")`).all() as unknown[]).length;
    out[name] = db.prepare(`SELECT ${rowid ? 'rowid, ' : ''}* FROM "${name}" ORDER BY ${rowid ? 'rowid' : Array.from({ length: cols }, (_, i) => i + 1).join(', ')}`).raw().all() as unknown[][];
  }
  db.close();
  return out;
}

t.test('the terms made on a thread of their own: the same file as on the build thread', async (t) => {
  const { log, store, dir } = await storeWithHistory(t, 3000, 23);
  t.ok(log.events.some((e) => e.type === 'FactCorrected') && log.events.some((e) => e.type === 'FactRetracted'), 'corrections and retractions in the log');

  const threaded = join(dir, 'threaded.db');
  const r1 = await buildFresh(store, threaded, silent, undefined, undefined, { decodeThread: false, termsThread: true });
  const inline = join(dir, 'inline.db');
  const r2 = await buildFresh(store, inline, silent, undefined, undefined, { decodeThread: false, termsThread: false });
  t.equal(r1.events, r2.events);
  t.ok(r1.phases.some((p) => p.phase === 'terms: cut' && p.thread === 'terms'), 'the cut ran on the terms thread');
  t.ok(r2.phases.some((p) => p.phase === 'terms: cut' && p.thread === 'build'), 'and on the build thread');
  const before = (r: typeof r1): number => r.phases.findIndex((p) => p.phase.startsWith('statistics (ANALYZE) of the other tables'));
  t.ok(before(r1) >= 0 && before(r1) < r1.phases.findIndex((p) => p.phase === 'terms: waited for their thread'), "the other tables analyzed before the build waited for the terms' thread");
  t.equal(before(r2), -1, 'not with the terms on the build thread');
  const closed = (r: typeof r1): number => r.phases.findIndex((p) => p.phase === 'closes: timeline');
  t.ok(closed(r1) >= 0 && closed(r1) < r1.phases.findIndex((p) => p.phase.startsWith('timeline: index')), "the other tables' closes before their index builds");
  const a = everyRow(threaded);
  const b = everyRow(inline);
  t.ok((a['terms'] ?? []).length > 0 && (a['terms_rt_rowid'] ?? []).length === (a['terms'] ?? []).length, 'terms and their R*Tree entries made');
  t.same(Object.keys(a), Object.keys(b), 'the same tables');
  for (const name of Object.keys(b)) t.same(a[name], b[name], `${name}: the same rows`);
  const db = new Database(threaded, { readonly: true });
  t.same(db.prepare("SELECT rtreecheck('terms_rt')").pluck().get(), 'ok', "the terms' R*Tree is sound");
  db.close();
  t.ok(r1.phases.some((p) => p.phase === 'terms: statistics (ANALYZE)' && p.thread === 'terms'), "the terms' statistics made on their thread");
  // analyzeWith against a whole-file ANALYZE, each on a copy opened afresh (a connection's
  // ANALYZE takes the tables in its schema hash's order, which a fresh connection builds from
  // sqlite_schema): the same sqlite_stat1, rowid by rowid; the terms' rows the build's, as their thread made them.
  const stats = (db: Database.Database): unknown[][] => db.prepare('SELECT rowid, tbl, idx, stat FROM sqlite_stat1 ORDER BY rowid').raw().all() as unknown[][];
  const whole = join(dir, 'whole.db');
  const tabled = join(dir, 'tabled.db');
  copyFileSync(threaded, whole);
  copyFileSync(threaded, tabled);
  const w = new Database(whole);
  w.exec('ANALYZE; DELETE FROM sqlite_stat4;');
  const byTable = new Database(tabled);
  const termsStats = byTable.prepare("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'terms' ORDER BY rowid").raw().all() as [string | null, string][];
  t.ok(termsStats.length > 0, "the terms' statistics in the build's file");
  byTable.exec('DELETE FROM sqlite_stat1');
  analyzeWith(byTable, termsStats);
  byTable.exec('DELETE FROM sqlite_stat4');
  const got = stats(byTable);
  t.ok(got.some((r) => r[1] === 'facts') && got.some((r) => r[1] === 'terms_rt_rowid'), 'every table analyzed, the R*Trees\' shadow tables too');
  t.same(got, stats(w), 'sqlite_stat1 as a whole-file ANALYZE writes it, rowids included');
  w.close();
  byTable.close();
  t.notOk(existsSync(`${threaded}.terms`), "the terms' file removed");
  t.same(readdirSync(dir).filter((f) => f.includes('.terms')), [], 'none left beside the builds');
});

t.test("a rebuild's sqlite_stat1 is the one a whole-file ANALYZE writes on the build's own connection: rows, rowids, order", async (t) => {
  // The copies above are opened afresh, whose schema hash is built from sqlite_schema; the
  // build's connection made its tables one by one (and analyzeWith reads their order from it).
  // Caught at the statement the build runs right after analyzeWith (projections/index.ts): the
  // rows analyzeWith wrote, then a whole-file ANALYZE on the same connection, then the first
  // rows put back, so the build goes on as it would have.
  const { store, dir } = await storeWithHistory(t, 1500, 31);
  const stats = (db: Database.Database): unknown[][] => db.prepare('SELECT rowid, tbl, idx, stat FROM sqlite_stat1 ORDER BY rowid').raw().all() as unknown[][];
  const exec = Database.prototype.exec;
  t.teardown(() => void (Database.prototype.exec = exec));
  for (const termsThread of [true, false]) {
    const path = join(dir, `stat1-${termsThread}.db`);
    const seen: { built: unknown[][]; whole: unknown[][] }[] = [];
    Database.prototype.exec = function (this: Database.Database, sql: string): Database.Database {
      if (this.name === path && sql.startsWith('DELETE FROM sqlite_stat4')) {
        const built = stats(this);
        exec.call(this, 'ANALYZE');
        seen.push({ built, whole: stats(this) });
        exec.call(this, 'DELETE FROM sqlite_stat1');
        const put = this.prepare('INSERT INTO sqlite_stat1 (rowid, tbl, idx, stat) VALUES (?, ?, ?, ?)');
        for (const row of built) put.run(...row);
      }
      return exec.call(this, sql);
    };
    try {
      await buildFresh(store, path, silent, undefined, undefined, { decodeThread: false, termsThread });
    } finally {
      Database.prototype.exec = exec;
    }
    const [{ built, whole } = { built: [], whole: [] }] = seen;
    t.equal(seen.length, 1, `terms thread ${termsThread}: the build's connection caught once, after analyzeWith`);
    t.ok(built.some((r) => r[1] === 'terms') && built.some((r) => r[1] === 'facts') && built.some((r) => r[1] === 'terms_rt_rowid'), 'every table analyzed, terms and the R*Trees\' shadow tables too');
    t.same(built, whole, `terms thread ${termsThread}: sqlite_stat1 as a whole-file ANALYZE on the build's connection writes it, rowids included`);
    const db = new Database(path, { readonly: true });
    t.same(stats(db), built, 'and as the build left it in the file');
    db.close();
  }
});

t.test("a replay's fold (tempOnDisk): the terms' index builds sort in files, on either thread, and make the same file", async (t) => {
  const { store, dir } = await storeWithHistory(t, 2000, 29);
  const plain = join(dir, 'plain.db');
  await buildFresh(store, plain, silent, undefined, undefined, { decodeThread: false, termsThread: false });
  const expected = everyRow(plain);
  t.ok((expected['terms'] ?? []).length > 0, 'terms made');
  for (const termsThread of [false, true]) {
    const path = join(dir, `temp-${termsThread}.db`);
    const r = await buildFresh(store, path, silent, undefined, undefined, { decodeThread: false, termsThread, tempOnDisk: true });
    t.ok(r.phases.some((p) => p.phase === 'terms: cut' && p.thread === (termsThread ? 'terms' : 'build')), `the cut ran on the ${termsThread ? 'terms' : 'build'} thread`);
    const got = everyRow(path);
    t.same(Object.keys(got), Object.keys(expected), 'the same tables');
    for (const name of Object.keys(expected)) t.same(got[name], expected[name], `${name}: the same rows (terms thread: ${termsThread})`);
    t.notOk(existsSync(`${path}.terms`), "the terms' file removed");
  }
});

t.test("the cut read in chunks of any size (a replay's: BOUNDED_TERMS.chunk): the same terms rows, rowids included", async (t) => {
  const { store, dir } = await storeWithHistory(t, 2000, 37);
  const path = join(dir, 'chunks.db');
  await buildFresh(store, path, silent, undefined, undefined, { decodeThread: false, termsThread: false });
  const terms = (db: Database.Database): unknown[][] => db.prepare('SELECT rowid, * FROM terms ORDER BY rowid').raw().all() as unknown[][];
  const db = new Database(path);
  t.teardown(() => db.close());
  const expected = terms(db);
  t.ok(expected.length > 20, 'terms made');
  // Chunks that end inside a pair's appointments, and one that holds them all.
  for (const chunk of [3, 7, BOUNDED_TERMS.chunk]) {
    db.exec('DROP TABLE terms; DROP TABLE terms_rt;');
    buildTerms(db, chunk);
    t.same(terms(db), expected, `chunks of ${chunk}: the same rows`);
  }
});

t.test('analyzeWith: terms first in the schema with no sqlite_stat1 yet: analyzed in the file itself, as a whole-file ANALYZE does', async (t) => {
  const dir = t.testdir();
  const rows = (db: Database.Database): unknown[][] => db.prepare('SELECT rowid, tbl, idx, stat FROM sqlite_stat1 ORDER BY rowid').raw().all() as unknown[][];
  const make = (name: string): Database.Database => {
    const db = new Database(join(dir, name));
    db.exec("CREATE TABLE terms (office TEXT, person TEXT); CREATE INDEX terms_pair ON terms (office, person); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO terms SELECT 'o' || (i % 5), 'p' || i FROM n;");
    return db;
  };
  const a = make('a.db');
  analyzeWith(a, [['terms_pair', 'not these']]);
  const b = make('b.db');
  b.exec('ANALYZE');
  t.same(rows(a), rows(b), 'the rows ANALYZE writes, not the ones given');
  t.same(rows(a), [[1, 'terms', 'terms_pair', '50 10 1']]);
  a.close();
  b.close();
});

t.test('analyzeBefore, then analyzeWith once the terms and another table are in: the rows and rowids a whole-file ANALYZE writes on that connection', async (t) => {
  const dir = t.testdir();
  const rows = (db: Database.Database): unknown[][] => db.prepare('SELECT rowid, tbl, idx, stat FROM sqlite_stat1 ORDER BY rowid').raw().all() as unknown[][];
  const db = new Database(join(dir, 'a.db'));
  const fill = (table: string, n: number, mod: number): void => {
    db.exec(`CREATE TABLE ${table} (a TEXT, b INTEGER); CREATE INDEX ${table}_a ON ${table} (a, b); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n}) INSERT INTO ${table} SELECT 'v' || (i % ${mod}), i FROM n;`);
  };
  for (const [name, n, mod] of [['alpha', 40, 4], ['beta', 90, 9], ['gamma', 25, 5], ['plain', 12, 3]] as const) fill(name, n, mod);
  db.exec('DROP INDEX plain_a');
  const done = analyzeBefore(db);
  t.same([...done].sort(), ['alpha', 'beta', 'gamma', 'plain'], 'every table there analyzed');
  // Then, as a build copies them in: the terms (analyzed elsewhere) and a table after them.
  fill('terms', 60, 6);
  fill('zeta', 30, 10);
  const other = new Database(join(dir, 'terms.db'));
  other.exec("CREATE TABLE terms (a TEXT, b INTEGER); CREATE INDEX terms_a ON terms (a, b); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) INSERT INTO terms SELECT 'v' || (i % 6), i FROM n; ANALYZE;");
  const termsStats = other.prepare("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'terms' ORDER BY rowid").raw().all() as [string | null, string][];
  other.close();
  analyzeWith(db, termsStats, done);
  const got = rows(db);
  db.exec('ANALYZE');
  t.same(got, rows(db), 'sqlite_stat1 as a whole-file ANALYZE on the same connection writes it, rowids included');
  t.ok(got.some((r) => r[1] === 'zeta') && got.some((r) => r[1] === 'terms') && got.some((r) => r[1] === 'plain' && r[2] === null), 'the tables copied in since analyzed, the table without an index counted');
  db.close();
});
