/**
 * What each read-model table and index costs the live apply: `node --import tsx bench/table-cost.ts`.
 * bench:apply-cpu's mix (a PersonRegistered, then a DelegateAttended at one of 32 sessions) is
 * applied through `ReadModelWriter.applyBatch` in commits of BENCH_COMMIT events to one file per
 * variant, in alternating slices (round robin, the order reversed every other round): the full
 * layout, and the same with one index dropped or one table's rows thrown away (the table
 * replaced by a view whose INSTEAD OF trigger does nothing: the statement still runs, its row
 * and index entries are not written). The difference from the full layout is what that table or
 * index costs an event of the mix. Measures only: nothing here is a layout to ship.
 * BENCH_VARIANTS=a,b,… picks variants by name (default: all).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { pino } from 'pino';
import { openDb, ReadModelWriter, type LogEvent } from '../projections/db.js';
import { applyMix, CLIENTS } from './apply-mix.js';

const COMMIT = Number(process.env['BENCH_COMMIT'] ?? 16);
const SLICE = Number(process.env['BENCH_SLICE'] ?? 4_000);
const SLICES = Number(process.env['BENCH_SLICES'] ?? 8);
const log = pino({ level: 'silent' });
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

/** A table whose rows are thrown away: a view of its columns taking INSERTs, UPDATEs and DELETEs and doing nothing. */
function stub(db: Database, table: string): void {
  const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`CREATE VIEW ${table} AS SELECT ${[...cols, ...(cols.includes('id') ? [] : ['rowid'])].map((c) => `NULL AS ${c}`).join(', ')} WHERE 0`);
  for (const op of ['INSERT', 'UPDATE', 'DELETE']) db.exec(`CREATE TRIGGER ${table}_${op.toLowerCase()} INSTEAD OF ${op} ON ${table} BEGIN SELECT 1; END`);
}

const VARIANTS: Record<string, (db: Database) => void> = {
  full: () => undefined,
  'timeline (rows, 3 indexes)': (db) => stub(db, 'timeline'),
  'timeline_fact': (db) => db.exec('DROP INDEX timeline_fact'),
  'timeline (session, fact_id)': (db) => db.exec('DROP INDEX timeline_i1'),
  'attestations (rows, 3 indexes, R*Tree)': (db) => {
    stub(db, 'attestations');
    stub(db, 'attestations_rt');
  },
  'attestations_rt': (db) => stub(db, 'attestations_rt'),
  'attestations (session)': (db) => db.exec('DROP INDEX attestations_i1'),
  'attestations (office), (person)': (db) => db.exec('DROP INDEX attestations_i0; DROP INDEX attestations_i2'),
  'session_items (rows, 1 index)': (db) => stub(db, 'session_items'),
  'session_items (person, known_from)': (db) => db.exec('DROP INDEX session_items_i0'),
  'entities (key, known_from)': (db) => db.exec('DROP INDEX entities_i0'),
  'entities (kind, name, id)': (db) => db.exec('DROP INDEX entities_i2'),
  'entities (id, known_from, …)': (db) => db.exec('DROP INDEX entities_i3'),
  'names (rows, 1 index)': (db) => stub(db, 'names'),
  'facts (recorded_at, position)': (db) => db.exec('DROP INDEX facts_recorded'),
};

const only = process.env['BENCH_VARIANTS']?.split(',');
const chosen = Object.entries(VARIANTS).filter(([name]) => name === 'full' || !only || only.some((o) => name.startsWith(o)));
const dir = mkdtempSync(join(tmpdir(), 'annals-bench-table-cost-'));
try {
  const subjects = chosen.map(([name, change], k) => {
    const db = openDb(join(dir, `${k}.db`));
    change(db);
    return { name, db, w: new ReadModelWriter(db, log), feed: applyMix() };
  });
  const take = (k: number, n: number): LogEvent[] => Array.from({ length: n }, () => subjects[k]!.feed.next().value as LogEvent);
  const slice = (k: number, n: number): number => {
    const batches = Array.from({ length: Math.ceil(n / COMMIT) }, () => take(k, COMMIT));
    const t0 = process.cpuUsage();
    for (const b of batches) subjects[k]!.w.applyBatch(b);
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / (batches.length * COMMIT);
  };
  console.log(`read models' apply by table and index, CPU an event, commits of ${COMMIT}, slices of ${SLICE}, ${SLICES} rounds; load average ${load()}`);
  subjects.forEach((s, k) => {
    s.w.applyBatch(take(k, 1 + CLIENTS));
    slice(k, SLICE);
  });
  const results = subjects.map(() => [] as number[]);
  for (let i = 0; i < SLICES; i++) {
    for (let j = 0; j < subjects.length; j++) {
      const k = i % 2 === 0 ? j : subjects.length - 1 - j;
      results[k]!.push(slice(k, SLICE));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const full = median(results[0]!);
  subjects.forEach((s, k) => {
    const m = median(results[k]!);
    console.log(`${s.name.padEnd(40)} median ${m.toFixed(1).padStart(6)} µs an event${k === 0 ? '' : `, without it ${(full - m).toFixed(1).padStart(5)} less`}  (${results[k]!.map((x) => x.toFixed(0)).join(' ')})`);
  });
  console.log(`load average at the end ${load()}`);
  for (const s of subjects) s.db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
