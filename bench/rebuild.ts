/**
 * The read models' rebuild at scale: `npm run bench:rebuild` on a data dir that already holds
 * a log (BENCH_DIR, e.g. a copy of the read benchmark's kept 1,000,000-fact record; the
 * rebuild replaces its readmodels.db, so never point it at a record others read).
 *
 * Prints events/s and CPU per event (user + system of this process, all threads: SQLite runs
 * on the calling thread), each phase of the build with its time (reading and applying the log,
 * then each sort, index, the terms, the temporal indexes, statistics), and the read models'
 * rows per table and their indexes (and the indexes' entries) per 1,000,000 events. Load averages are printed: the
 * machine may be shared, so CPU per event is the figure to compare. Each finishing phase also
 * shows the CPU of the thread that runs it (the main thread: its CPU is the phase's critical
 * path when the other cores are idle; the rest is SQLite's sorter threads and V8's helpers).
 * BENCH_ROOT=<another worktree>: that worktree's rebuild code (before/after on copies).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { rebuildReadModels as Rebuild } from '../projections/index.js';
import { openBenchStore } from './sealed-store.js';
import { threadCpu } from './thread-cpu.js';

const dir = process.env['BENCH_DIR'];
if (!dir) throw new Error('BENCH_DIR=<a data dir holding events.db> is required (its readmodels.db is replaced)');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const say = (line: string): void => console.log(line);

const root = resolve(process.env['BENCH_ROOT'] ?? new URL('..', import.meta.url).pathname);
const { rebuildReadModels } = (await import(pathToFileURL(join(root, 'projections/index.ts')).href)) as { rebuildReadModels: typeof Rebuild };
say(`annals rebuild benchmark — ${cpus().length} CPUs, load average ${load()} (1, 5, 15 min); data: ${dir}; code: ${root}`);
/** This (the main) thread's CPU so far, ms (Linux; NaN elsewhere). */
const mainCpuMs = (): number => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
};
// The main thread's CPU at the end of each phase: the first (the log) ends where the build
// turns its memory map on, the others are reported as they end (onProgress with a stage).
const mainAt: number[] = [];
// better-sqlite3 as the measured code loads it (BENCH_ROOT's own copy, or this one's).
for (const D of new Set([Database, createRequire(join(root, 'package.json'))('better-sqlite3') as typeof Database])) {
  const pragma = D.prototype.pragma;
  D.prototype.pragma = function (this: Database.Database, source: string, options?: Database.PragmaOptions) {
    if (mainAt.length === 0 && source.startsWith('mmap_size')) mainAt.push(mainCpuMs());
    return pragma.call(this, source, options);
  } as typeof pragma;
}
const main0 = mainCpuMs();
const store = openBenchStore(dir);
const path = join(dir, 'readmodels.db');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
// Each thread's CPU, sampled: the decoding thread ends with the log's last page, its last sample stands for it.
const byThread = new Map<string, number>();
// The workers as the measured code's own module knows them (BENCH_ROOT's): else its decoding thread counts as 'other'.
const { runningWorkers } = (await import(pathToFileURL(join(root, 'src/store/worker-thread.ts')).href)) as { runningWorkers: () => ReadonlyMap<{ threadId: number }, string> };
const sinceStart = threadCpu(runningWorkers);
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
    if (p.stage !== undefined) mainAt.push(mainCpuMs());
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
say('  wall s    CPU s   main s  phase (CPU: every thread; main: the thread running the build)');
const mainOf = (i: number): number => ((mainAt[i] ?? Number.NaN) - (i === 0 ? main0 : (mainAt[i - 1] ?? Number.NaN))) / 1000;
// A phase of another thread (`thread`: the terms', beside the build's) shows that thread's time and CPU, and counts in no sum.
type Phase = (typeof result.phases)[number] & { thread?: string };
result.phases.forEach((p: Phase, i) => say(p.thread === undefined ? `  ${(p.ms / 1000).toFixed(1).padStart(6)} ${(p.cpuMs / 1000).toFixed(1).padStart(8)} ${mainOf(i).toFixed(1).padStart(8)}  ${p.phase}` : `  ${`(${(p.ms / 1000).toFixed(1)}`.padStart(6)} ${(p.cpuMs / 1000).toFixed(1).padStart(8)}        -  ${p.phase}: on the ${p.thread} thread, its wall and CPU)`));
const after = result.phases.slice(1).filter((p: Phase) => p.thread === undefined);
const mainAfter = ((mainAt.at(-1) ?? Number.NaN) - (mainAt[0] ?? Number.NaN)) / 1000;
say(`  after the log: wall ${(after.reduce((a, p) => a + p.ms, 0) / 1000).toFixed(1)} s, CPU ${(after.reduce((a, p) => a + p.cpuMs, 0) / 1000).toFixed(1)} s, of it the main thread ${mainAfter.toFixed(1)} s`);
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
