/**
 * The read models' rebuild at scale: `npm run bench:rebuild` on a data dir that already holds
 * a log (BENCH_DIR, e.g. a copy of the read benchmark's kept 1,000,000-fact record; the
 * rebuild replaces its readmodels.db, so never point it at a record others read).
 *
 * Prints events/s and CPU per event (user + system of this process, all threads: SQLite runs
 * on the calling thread), each phase of the build with its time (reading and applying the log,
 * then each sort, index, the terms, the temporal indexes, statistics), and the read models'
 * rows per table and their indexes (and the indexes' entries) per 1,000,000 events. Load averages are printed: the
 * machine may be shared, so CPU per event is the figure to compare.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { rebuildReadModels } from '../projections/index.js';
import { openBenchStore } from './sealed-store.js';
import { threadCpu } from './thread-cpu.js';

const dir = process.env['BENCH_DIR'];
if (!dir) throw new Error('BENCH_DIR=<a data dir holding events.db> is required (its readmodels.db is replaced)');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const say = (line: string): void => console.log(line);

say(`annals rebuild benchmark — ${cpus().length} CPUs, load average ${load()} (1, 5, 15 min); data: ${dir}`);
const store = openBenchStore(dir);
const path = join(dir, 'readmodels.db');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
// Each thread's CPU, sampled: the decoding thread ends with the log's last page, its last sample stands for it.
const byThread = new Map<string, number>();
const sinceStart = threadCpu();
const sample = (): void => {
  for (const [label, us] of sinceStart().byThread) byThread.set(label, Math.max(us, byThread.get(label) ?? 0));
};
const sampler = setInterval(sample, 250);
let shown = 0;
const result = await rebuildReadModels({
  store,
  path,
  log: pino({ level: 'silent' }),
  onProgress: (p) => {
    if (p.elapsedMs - shown < 5000) return;
    shown = p.elapsedMs;
    process.stdout.write(`\r  ${fmt(p.applied)} events, ${fmt(p.eventsPerSecond)}/s, load average ${load()}    `);
  },
});
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
sample();
await store.close();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
say(`\nrebuilt ${fmt(result.events)} events in ${wall.toFixed(1)} s: ${fmt(result.events / wall)} events/s; CPU ${cpuSeconds.toFixed(1)} s (user ${(cpu.user / 1e6).toFixed(1)}, system ${(cpu.system / 1e6).toFixed(1)}), ${((cpuSeconds / Math.max(result.events, 1)) * 1e6).toFixed(1)} µs of CPU an event; load average ${load()}`);
say(`  by thread: ${[...byThread].sort((a, b) => b[1] - a[1]).map(([l, us]) => `${l} ${(us / Math.max(result.events, 1)).toFixed(1)}`).join(', ')} µs of CPU an event (the decoding thread's up to its last sample, ≤ 250 ms before it ended)`);
say('  wall s    CPU s  phase (CPU: every thread)');
for (const p of result.phases) say(`  ${(p.ms / 1000).toFixed(1).padStart(6)} ${(p.cpuMs / 1000).toFixed(1).padStart(8)}  ${p.phase}`);
printRows(path, result.events);
say(`done, load average ${load()}`);

/** Rows per table and indexes of the read-model file, per 1,000,000 events. */
export function printRows(file: string, events: number): void {
  const db = new Database(file, { readonly: true });
  const per = 1_000_000 / Math.max(events, 1);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT GLOB '*_rt_*' ORDER BY name").pluck().all() as string[];
  let rows = 0;
  // Entries of the CREATE INDEX indexes: a row each, or for a partial index each row meeting its WHERE.
  let entries = 0;
  say(`read models (${file}), per 1,000,000 events:`);
  for (const t of tables) {
    const n = db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number;
    const idx = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").all(t) as { name: string; sql: string }[];
    rows += n;
    const shown = idx.map((i) => {
      const where = / WHERE (.*)$/s.exec(i.sql)?.[1];
      const e = where === undefined ? n : (db.prepare(`SELECT count(*) FROM "${t}" WHERE ${where}`).pluck().get() as number);
      entries += e;
      return where === undefined ? i.name : `${i.name} (${fmt(e * per)} entries)`;
    });
    say(`  ${t.padEnd(20)} ${fmt(n * per).padStart(11)} rows  ${idx.length} indexes${idx.length ? `: ${shown.join(', ')}` : ''}`);
  }
  const indexes = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").pluck().get() as number;
  const autoIndexes = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NULL").pluck().get() as number;
  const rtrees = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'").pluck().get() as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  say(`  all tables           ${fmt(rows * per).padStart(11)} rows; ${indexes} indexes (CREATE INDEX, ${fmt(entries * per)} entries) + ${autoIndexes} automatic (UNIQUE/PRIMARY KEY) + ${rtrees} R*Tree tables; file ${fmt((pages * pageSize * per) / 1e6)} MB`);
  db.close();
}
