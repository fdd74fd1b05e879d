/**
 * Auditor's commands at scale: `npm run bench:replay` (BENCH_FACTS=300000 by default).
 *
 *   1. Records BENCH_FACTS facts (bench/history.ts) into the embedded store of a data dir, as
 *      bench/read.ts does (BENCH_KEEP=<dir> keeps it and reuses it on the next run).
 *   2. Runs the real `annals` command as a child process, each under /usr/bin/time -v (peak
 *      RSS: its "Maximum resident set size"): `rebuild` (the comparison), `replay --known-at`
 *      at the log's last recordedAt (the whole record) and at its middle (a past moment), and
 *      `export`. Output goes to a pipe whose bytes and lines are counted, never kept.
 *   3. Prints the read models' rows per table and their indexes (sqlite_master), per
 *      1,000,000 events.
 * BENCH_CLI=<path to src/cli/annals.ts> runs another checkout's command (e.g. /work/main's,
 * for the figures before a change); it runs from that checkout's directory.
 * Load averages are printed with every phase: the machine may be shared.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openBenchStore, recordBenchHistory } from './sealed-store.js';

const N = Number(process.env['BENCH_FACTS'] ?? 300_000);
const OFFICES = Number(process.env['BENCH_OFFICES'] ?? 10_000);
const PEOPLE = Number(process.env['BENCH_PEOPLE'] ?? 20_000);
const CLI = resolve(process.env['BENCH_CLI'] ?? new URL('../src/cli/annals.ts', import.meta.url).pathname);
const CLI_ROOT = resolve(dirname(CLI), '../..');
const ONLY = (process.env['BENCH_ONLY'] ?? 'rebuild,replay,export,rows').split(',');

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const load = (l: number[] = loadavg()): string => l.map((x) => x.toFixed(1)).join(' ');
const say = (line: string): void => console.log(line);
const progress = (line: string): void => void process.stdout.write(`\r${line}    `);

interface Run {
  seconds: number;
  peakMb: number;
  cpuSeconds: number;
  bytes: number;
  lines: number;
  code: number | null;
  stderr: string;
}

/** The command under /usr/bin/time -v; its stdout counted as it streams by. */
function runCli(args: string[], label: string): Promise<Run> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, '--import', 'tsx', CLI, ...args], { cwd: CLI_ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines += 1;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setInterval(() => progress(`${label}: ${((performance.now() - t0) / 1000).toFixed(0)} s, ${fmt(bytes / 1e6)} MB out`), 2000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      const num = (re: RegExp): number => Number(re.exec(stderr)?.[1] ?? NaN);
      const peakMb = num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024;
      const cpuSeconds = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
      done({ seconds, peakMb, cpuSeconds, bytes, lines, code, stderr });
    });
  });
}

function report(label: string, r: Run, extra = ''): void {
  if (r.code !== 0) {
    progress(`${label}: exit ${r.code}\n${r.stderr}\n`);
    return;
  }
  progress(`${label}: ${r.seconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s), peak RSS ${fmt(r.peakMb)} MB, ${(r.bytes / 1e6).toFixed(1)} MB in ${fmt(r.lines)} lines out${extra}, load average ${load()}\n`);
}

const keep = process.env['BENCH_KEEP'];
const dir = keep ?? (await mkdtemp(join(tmpdir(), 'annals-bench-replay-')));
if (keep !== undefined) mkdirSync(keep, { recursive: true });

say(`annals replay/export benchmark — ${cpus().length} CPUs, load average ${load()} (1, 5, 15 min)`);
say(`data: ${dir}${keep ? ' (BENCH_KEEP: kept)' : ' (temporary)'}; command: ${CLI}`);

// ---------------------------------------------------------------- 1. the record
const store = openBenchStore(dir);
let head = Number((await store.head()) ?? 0);
if (head === 0) {
  say(`recording ${fmt(N)} facts (bench/history.ts: ${fmt(OFFICES)} offices, ${fmt(PEOPLE)} people)`);
  let shown = 0;
  const { recorded, seconds } = await recordBenchHistory(store, { facts: N, offices: OFFICES, people: PEOPLE }, (n, s) => {
    if (s - shown < 2) return;
    shown = s;
    progress(`recording: ${fmt(n)} / ${fmt(N)} facts (${Math.round((n / N) * 100)}%), ${fmt(n / s)}/s`);
  });
  progress(`recorded ${fmt(recorded)} facts in ${seconds.toFixed(1)} s\n`);
  head = Number((await store.head()) ?? 0);
} else say(`reusing the log: ${fmt(head)} events`);
await store.close();

const ev = new Database(join(dir, 'events.db'), { readonly: true });
const events = ev.prepare('SELECT count(*) FROM events').pluck().get() as number;
const recordedAts = ev.prepare('SELECT recorded_at FROM events ORDER BY position').pluck().all() as string[];
ev.close();
const first = recordedAts[0] as string;
const last = recordedAts.at(-1) as string;
const middle = recordedAts[Math.floor(recordedAts.length / 2)] as string;
recordedAts.length = 0;
say(`${fmt(events)} events, recorded from ${first} to ${last}; load average ${load()}`);

// ---------------------------------------------------------------- 2. the commands
if (ONLY.includes('rebuild')) {
  const r = await runCli(['rebuild', '--data-dir', dir], 'rebuild');
  report('rebuild', r, ` — ${fmt(events / r.seconds)} events/s`);
}
if (ONLY.includes('replay')) {
  for (const [what, knownAt] of [['the whole record', last], ['the middle (a past knownAt)', middle]] as const) {
    const r = await runCli(['replay', '--known-at', knownAt, '--data-dir', dir], `replay at ${what}`);
    report(`replay --known-at ${knownAt} (${what})`, r);
  }
}
if (ONLY.includes('export')) {
  report('export (everything)', await runCli(['export', '--data-dir', dir], 'export'));
}

// ---------------------------------------------------------------- 3. rows and indexes
if (ONLY.includes('rows')) {
  const db = new Database(join(dir, 'readmodels.db'), { readonly: true });
  const per = 1_000_000 / events;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT GLOB '*_rt_*' ORDER BY name").pluck().all() as string[];
  let rows = 0;
  say(`read models (${join(dir, 'readmodels.db')}), per 1,000,000 events:`);
  for (const t of tables) {
    const n = db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number;
    rows += n;
    say(`  ${t.padEnd(24)} ${fmt(n * per).padStart(11)} rows`);
  }
  const indexes = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").pluck().get() as number;
  const autoIndexes = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NULL").pluck().get() as number;
  const rtrees = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'").pluck().get() as number;
  say(`  all tables               ${fmt(rows * per).padStart(11)} rows; ${indexes} indexes (CREATE INDEX) + ${autoIndexes} automatic (UNIQUE/PRIMARY KEY) + ${rtrees} R*Tree tables`);
  db.close();
}
say(`done, load average ${load()}`);
