/**
 * The indexes a rebuild keeps up while it applies the log (db.ts createAppendedIndexes) against
 * the same indexes built after it: `BENCH_DB=<a built readmodels.db> node --import tsx
 * bench/appended-indexes.ts`. The first BENCH_ROWS rows of `facts` (in their key order: the log's)
 * and of `timeline` (in rowid order: as applied) are read out of a built file (read only) into
 * memory, then appended to a fresh file set up as a rebuild's (no journal, no fsync, a 64 MiB
 * cache; `BulkInsert`, 32 rows a statement, 10 transactions), either
 * - `kept`: with `facts_amendments`, `facts_recorded` and `timeline_fact` made first, or
 * - `after`: bare, then the three built as the rebuild builds them (CREATE INDEX with runs on
 *   files, a 4 MiB cache and one sorter thread: bulk-sorts.ts),
 * in alternating order over BENCH_ROUNDS rounds. Prints, per row appended, the CPU of this thread
 * (the applying thread's part) and of the whole process (SQLite's sorter thread too), medians.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BulkInsert } from '../projections/bulk-insert.js';
import type { Cell } from '../projections/types.js';

const src = process.env['BENCH_DB'];
if (!src) throw new Error('BENCH_DB=<a built readmodels.db> is required (read only)');
const ROWS = Number(process.env['BENCH_ROWS'] ?? 300_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 6);
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const threadMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const processMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

const INDEXES = [
  "CREATE INDEX facts_amendments ON facts (target, position) WHERE type IN ('FactCorrected', 'FactRetracted')",
  'CREATE INDEX facts_recorded ON facts (recorded_at, position)',
  'CREATE INDEX timeline_fact ON timeline (fact_id)',
];

const db = new Database(src, { readonly: true });
const tables = ['facts', 'timeline'].map((t) => {
  const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
  const schema = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(t) as string;
  const rows = db.prepare(`SELECT ${cols.join(', ')} FROM ${t} LIMIT ${ROWS}`).raw().all() as Cell[][];
  return { t, cols, schema, rows };
});
db.close();

const dir = mkdtempSync(join(tmpdir(), 'annals-bench-appended-'));
const runs: Record<'kept' | 'after', { thread: number[]; all: number[] }> = { kept: { thread: [], all: [] }, after: { thread: [], all: [] } };
try {
  console.log(`${ROWS.toLocaleString('en-US')} rows each of facts and timeline, ${ROUNDS} rounds; load average ${load()}`);
  for (let r = 0; r < ROUNDS; r++) {
    for (const way of (r % 2 === 0 ? ['kept', 'after'] : ['after', 'kept']) as ('kept' | 'after')[]) {
      const path = join(dir, `${way}-${r}.db`);
      const out = new Database(path);
      out.unsafeMode(true);
      out.pragma('journal_mode = OFF');
      out.unsafeMode(false);
      out.pragma('synchronous = OFF');
      out.pragma('cache_size = -65536');
      for (const { schema } of tables) out.exec(schema);
      if (way === 'kept') for (const i of INDEXES) out.exec(i);
      const t0 = threadMs();
      const p0 = processMs();
      for (const { t, cols, rows } of tables) {
        const bulk = new BulkInsert(out, t, cols);
        const per = Math.ceil(rows.length / 10);
        const tx = out.transaction((part: Cell[][]) => {
          for (const row of part) {
            for (const c of row) bulk.push(c);
            bulk.added();
          }
          bulk.flush();
        });
        for (let i = 0; i < rows.length; i += per) tx(rows.slice(i, i + per));
      }
      if (way === 'after') {
        out.pragma('threads = 1');
        out.pragma('temp_store = FILE');
        out.pragma('cache_size = -4096');
        for (const i of INDEXES) out.exec(i);
      }
      const n = tables.reduce((s, x) => s + x.rows.length, 0);
      runs[way].thread.push(((threadMs() - t0) * 1000) / n);
      runs[way].all.push(((processMs() - p0) * 1000) / n);
      out.close();
      rmSync(path, { force: true });
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  for (const way of ['after', 'kept'] as const) {
    const { thread, all } = runs[way];
    console.log(`${way.padEnd(6)} µs of CPU a row appended: this thread ${median(thread).toFixed(2)} (${thread.map((x) => x.toFixed(2)).join(', ')}), the process ${median(all).toFixed(2)} (${all.map((x) => x.toFixed(2)).join(', ')})`);
  }
  console.log(`load average at the end ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
