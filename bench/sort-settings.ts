/**
 * A bulk build's index builds and a sorted copy under SQLite's sort settings (s42-al, #19): on a copy of a
 * rebuilt read-model file (BENCH_FILE; it is changed), each round drops and makes again the same indexes and
 * sorts `session_items` into its clustered form from a plain copy in log order, under each setting in turn
 * (alternating), and prints the CPU of every thread of the process and of this thread, per setting.
 * BENCH_SETTINGS: comma-separated `threads/runKiB` (runKiB 0: temp_store = MEMORY, the sort in memory), default
 * `1/4096,1/16384,1/65536`. BENCH_ROUNDS (default 3).
 */
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';

const file = process.env['BENCH_FILE'];
if (!file) throw new Error('BENCH_FILE=<a copy of a rebuilt readmodels.db> is required (it is changed)');
const settings = (process.env['BENCH_SETTINGS'] ?? '1/4096,1/16384,1/65536').split(',').map((s) => s.split('/').map(Number) as [number, number]);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const threadMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const procMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const db = new Database(file);
db.unsafeMode(true);
db.pragma('journal_mode = OFF');
db.unsafeMode(false);
db.pragma('synchronous = OFF');
db.pragma('mmap_size = 2147418112');
const tables = ['timeline', 'appointments', 'attestations', 'entities', 'sessions', 'session_items'];
const indexes = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')}) AND name NOT LIKE '%_fact'`).all(...tables) as { name: string; sql: string }[];
console.log(`${indexes.length} indexes: ${indexes.map((i) => i.name).join(', ')}`);
const siSql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'session_items'").pluck().get() as string;
const siCols = (db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('session_items') as string[]).join(', ');
// A plain copy in log order (as the log phase leaves it): made once, not measured.
db.exec(`DROP TABLE IF EXISTS si_plain; CREATE TABLE si_plain AS SELECT ${siCols} FROM session_items ORDER BY position, fact_id;`);
const siIdx = indexes.filter((i) => /ON session_items/.test(i.sql));
const totals = new Map<string, { proc: number; main: number; n: number }>();
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? settings : [...settings].reverse();
  for (const [threads, runKiB] of order) {
    const key = `${threads}/${runKiB}`;
    db.pragma(`threads = ${threads}`);
    db.pragma(runKiB <= 0 ? 'temp_store = MEMORY' : 'temp_store = FILE');
    db.pragma(`cache_size = -${runKiB === 0 ? 65536 : Math.abs(runKiB)}`);
    for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
    db.exec('DROP TABLE session_items');
    const p0 = procMs();
    const m0 = threadMs();
    db.exec('BEGIN');
    db.exec(`${siSql}; INSERT INTO session_items (${siCols}) SELECT ${siCols} FROM si_plain ORDER BY session, item, first_position, position;`);
    for (const i of siIdx) db.exec(i.sql);
    for (const i of indexes) if (!siIdx.includes(i)) db.exec(i.sql);
    db.exec('COMMIT');
    const proc = procMs() - p0;
    const main = threadMs() - m0;
    const t = totals.get(key) ?? { proc: 0, main: 0, n: 0 };
    totals.set(key, { proc: t.proc + proc, main: t.main + main, n: t.n + 1 });
    console.log(`round ${r + 1} ${key}: process ${(proc / 1000).toFixed(2)} s, this thread ${(main / 1000).toFixed(2)} s`);
  }
}
for (const [key, t] of totals) console.log(`${key}: mean process ${(t.proc / t.n / 1000).toFixed(2)} s, this thread ${(t.main / t.n / 1000).toFixed(2)} s (${t.n} rounds)`);
db.exec('DROP TABLE si_plain');
db.close();
