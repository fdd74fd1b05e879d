/**
 * A rebuild's terms cut and indexed on a thread of their own, in a file of their own, and
 * copied in (BuildOptions.termsThread, projections/terms-build.ts), give the same file as
 * when they are made on the build's thread: every table's rows with their rowids, the
 * R*Tree's nodes, the statistics; and no file of theirs is left beside the build's.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { buildFresh } from '../projections/index.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';

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
  const log = new TestLog();
  recordRichHistory(log, 3000, 23);
  const dir = t.testdir();
  const store = openSqliteStore(join(dir, 'events.db'), { writer: 'inline' });
  t.teardown(() => store.close());
  for (const e of log.events) await store.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], 'any');
  t.ok(log.events.some((e) => e.type === 'FactCorrected') && log.events.some((e) => e.type === 'FactRetracted'), 'corrections and retractions in the log');

  const threaded = join(dir, 'threaded.db');
  const r1 = await buildFresh(store, threaded, silent, undefined, undefined, { decodeThread: false, termsThread: true });
  const inline = join(dir, 'inline.db');
  const r2 = await buildFresh(store, inline, silent, undefined, undefined, { decodeThread: false, termsThread: false });
  t.equal(r1.events, r2.events);
  t.ok(r1.phases.some((p) => p.phase === 'terms: cut' && p.thread === 'terms'), 'the cut ran on the terms thread');
  t.ok(r2.phases.some((p) => p.phase === 'terms: cut' && p.thread === 'build'), 'and on the build thread');
  const a = everyRow(threaded);
  const b = everyRow(inline);
  t.ok((a['terms'] ?? []).length > 0 && (a['terms_rt_rowid'] ?? []).length === (a['terms'] ?? []).length, 'terms and their R*Tree entries made');
  t.same(Object.keys(a), Object.keys(b), 'the same tables');
  for (const name of Object.keys(b)) t.same(a[name], b[name], `${name}: the same rows`);
  const db = new Database(threaded, { readonly: true });
  t.same(db.prepare("SELECT rtreecheck('terms_rt')").pluck().get(), 'ok', "the terms' R*Tree is sound");
  db.close();
  t.notOk(existsSync(`${threaded}.terms`), "the terms' file removed");
  t.same(readdirSync(dir).filter((f) => f.includes('.terms')), [], 'none left beside the builds');
});

t.test("a replay's fold (tempOnDisk): the terms' index builds sort in files, on either thread, and make the same file", async (t) => {
  const log = new TestLog();
  recordRichHistory(log, 2000, 29);
  const dir = t.testdir();
  const store = openSqliteStore(join(dir, 'events.db'), { writer: 'inline' });
  t.teardown(() => store.close());
  for (const e of log.events) await store.append(e.stream, [{ id: e.id, type: e.type, data: e.data, metadata: e.metadata }], 'any');
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
