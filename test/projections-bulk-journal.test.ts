/**
 * A bulk build's file (a rebuild into a fresh file, projections/db.ts openDb with `bulk`)
 * really has no rollback journal: better-sqlite3's defensive mode ignores
 * `journal_mode = OFF`, and the build kept one, made and unlinked at each COMMIT. The
 * connection is defensive again afterwards; a live file keeps WAL.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openDb } from '../projections/db.js';

t.test('a bulk build writes without a journal, and stays defensive otherwise', (t) => {
  const dir = t.testdir();
  const path = join(dir, 'readmodels.db.rebuild');
  const db = openDb(path, { bulk: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'off', 'journal_mode is off');
  t.equal(db.pragma('synchronous', { simple: true }), 0, 'synchronous is off');
  db.exec('BEGIN; CREATE TABLE probe (a); INSERT INTO probe VALUES (1);');
  t.notOk(existsSync(`${path}-journal`), 'no journal file while a transaction is open');
  db.exec('COMMIT');
  // Defensive again: writing a virtual table's shadow table is refused (rtree-pack.ts lifts it for its own writes).
  db.exec('CREATE VIRTUAL TABLE probe_rt USING rtree_i32(id, a, b)');
  t.throws(() => db.exec('DELETE FROM probe_rt_node'), 'the connection is defensive again');
  t.end();
});

t.test('a live file keeps its WAL', (t) => {
  const db = openDb(join(t.testdir(), 'readmodels.db'));
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.end();
});
