/**
 * A bulk build's sorts on SQLite's sorter threads (projections/bulk-sorts.ts): around them the
 * build's connection has its temporary files on files and a small cache (SQLite starts no
 * sorter thread with temp_store = MEMORY), put back afterwards, even when a sort fails; other
 * connections are left alone; and an index sorted in many runs that way holds what one sorted
 * in memory holds.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { sortOnThreads, sorting } from '../projections/bulk-sorts.js';

const settings = (db: Database.Database): [unknown, unknown] => [db.pragma('temp_store', { simple: true }), db.pragma('cache_size', { simple: true })];

t.test('the settings while sorting, and after', (t) => {
  const db = new Database(join(t.testdir(), 'a.db'));
  t.teardown(() => db.close());
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536');
  let inside: [unknown, unknown] | null = null;
  sorting(db, () => (inside = settings(db)));
  t.same(inside, [2, -65536], 'a connection not given to sortOnThreads sorts as it is');
  sortOnThreads(db);
  sorting(db, () => (inside = settings(db)));
  t.same(inside, [1, -4096], 'temporary files on files and 4 MiB runs while sorting');
  t.same(settings(db), [2, -65536], 'put back after');
  t.throws(() => sorting(db, () => db.exec('CREATE INDEX nowhere ON missing (a)')), /no such table/);
  t.same(settings(db), [2, -65536], 'put back after a failing sort too');
  t.end();
});

t.test('an index sorted in many runs on threads holds what one sorted in memory holds', (t) => {
  const dir = t.testdir();
  const build = (name: string, threaded: boolean): string[] => {
    const db = new Database(join(dir, name));
    db.pragma('temp_store = MEMORY');
    db.pragma('cache_size = -65536');
    db.pragma('threads = 1');
    db.exec('CREATE TABLE r (k TEXT, v INTEGER)');
    const insert = db.prepare('INSERT INTO r VALUES (?, ?)');
    // ~12 MB of keys: three times a 4 MiB run, in an order far from sorted (and with ties).
    db.transaction(() => {
      for (let i = 0; i < 120_000; i++) insert.run(`${String((i * 7919) % 50_021).padStart(6, '0')}-${'x'.repeat(90)}`, i);
    })();
    if (threaded) sortOnThreads(db);
    sorting(db, () => db.exec('CREATE INDEX r_k ON r (k, v)'));
    const rows = db.prepare('SELECT k, v FROM r INDEXED BY r_k ORDER BY k, v').raw().all().map((r) => String(r));
    t.equal(db.prepare('PRAGMA integrity_check').pluck().get(), 'ok', `${name}: sound`);
    db.close();
    return rows;
  };
  const inMemory = build('memory.db', false);
  const threaded = build('threads.db', true);
  t.equal(threaded.length, 120_000);
  t.ok(threaded.every((r, i) => r === inMemory[i]), 'the same entries in the same order');
  t.end();
});
