/**
 * What each read-model table's rows cost a rebuild's log phase: `BENCH_DB=<readmodels.db> node --import tsx bench/table-append.ts`.
 * The rows of each table are read out of a built read-model file (read only) into memory, then
 * appended to a fresh file set up as a rebuild's (no journal, no fsync, the same cache) by
 * `BulkInsert` (32 rows a statement), 10 batches of up to BENCH_ROWS rows a transaction, as
 * the applying thread does; CPU of the append alone (user + system), per row and scaled to the
 * table's rows in the file. Tables in alternating order over BENCH_ROUNDS rounds; medians.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BulkInsert } from '../projections/bulk-insert.js';
import type { Cell } from '../projections/types.js';

const src = process.env['BENCH_DB'];
if (!src) throw new Error('BENCH_DB=<a built readmodels.db> is required (read only)');
const ROWS = Number(process.env['BENCH_ROWS'] ?? 100_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const TABLES = (process.env['BENCH_TABLES'] ?? 'timeline,appointments,attestations,session_items,entities,names,departures,sessions,adoptions,facts').split(',');
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

const db = new Database(src, { readonly: true });
const data = new Map<string, { cols: string[]; rows: Cell[][]; total: number; bytes: number }>();
for (const t of TABLES) {
  const cols = (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name);
  const rows = db.prepare(`SELECT ${cols.join(', ')} FROM ${t} LIMIT ${ROWS}`).raw().all() as Cell[][];
  const total = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
  const bytes = rows.reduce((s, r) => s + r.reduce<number>((a, c) => a + (typeof c === 'string' ? c.length : 8), 0), 0) / rows.length;
  data.set(t, { cols, rows, total, bytes });
}
db.close();

const dir = mkdtempSync(join(tmpdir(), 'annals-bench-append-'));
try {
  const results = new Map<string, number[]>(TABLES.map((t) => [t, []]));
  console.log(`a rebuild's appends by table: ${ROWS} rows each, ${ROUNDS} rounds; load average ${load()}`);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? TABLES : [...TABLES].reverse();
    for (const t of order) {
      const { cols, rows } = data.get(t)!;
      const path = join(dir, `${t}-${r}.db`);
      const out = new Database(path);
      out.unsafeMode(true);
      out.pragma('journal_mode = OFF');
      out.unsafeMode(false);
      out.pragma('synchronous = OFF');
      out.pragma('cache_size = -65536');
      out.exec(`CREATE TABLE ${t} (${cols.join(', ')})`);
      const bulk = new BulkInsert(out, t, cols);
      const per = Math.ceil(rows.length / 10);
      const tx = out.transaction((part: Cell[][]) => {
        for (const row of part) {
          for (const c of row) bulk.push(c);
          bulk.added();
        }
        bulk.flush();
      });
      const c0 = process.cpuUsage();
      for (let i = 0; i < rows.length; i += per) tx(rows.slice(i, i + per));
      const d = process.cpuUsage(c0);
      results.get(t)!.push((d.user + d.system) / rows.length);
      out.close();
      rmSync(path, { force: true });
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  let sum = 0;
  for (const t of TABLES) {
    const { total, bytes, cols } = data.get(t)!;
    const m = median(results.get(t)!);
    sum += (m * total) / 1e6;
    console.log(`${t.padEnd(16)} ${cols.length} cells, ~${bytes.toFixed(0)} chars a row: ${m.toFixed(2)} µs a row (${results.get(t)!.map((x) => x.toFixed(2)).join(', ')}) × ${total.toLocaleString('en-US')} rows = ${((m * total) / 1e6).toFixed(2)} s`);
  }
  console.log(`all: ${sum.toFixed(1)} s of CPU appending; load average at the end ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
