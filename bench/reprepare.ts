/**
 * Which statements does SQLite prepare again at every run? `npm run bench:reprepare` with
 * BENCH_DIR=<a data dir> (its files opened read-only; e.g. the 1,000,000-fact record).
 *
 * SQLite marks a bound variable whose value may change the plan (a bare `LIMIT @n`, a LIKE or
 * GLOB pattern, a variable compared with a partial index's literal; with sqlite_stat4, any
 * bound an indexed column is compared with), and binding a marked variable expires the
 * statement: each run parses and plans it again (~10–120 µs here). better-sqlite3 does not
 * show it (no sqlite3_stmt_status), so this builds a probe (bench/reprepare.c) against
 * better-sqlite3's own SQLite (its amalgamation, with the defines it was built with: the first
 * time ~25 s of CPU, kept in the temporary directory), runs every statement of
 * bench/statements.ts three times with the arguments of its run, bound as better-sqlite3
 * binds them, and prints the re-prepares of each: 3 is every run. Two controls show the
 * count: a bare `LIMIT @n` (3) and `LIMIT +@n` (0).
 *
 * Environment: BENCH_DIR (required), BENCH_KNOWN_AT, BENCH_NO_FIXTURE=1, BENCH_CC (gcc),
 * BENCH_ALL=1 (every statement, not only those re-prepared).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database, { type Database as Db } from 'better-sqlite3';
import { serviceStatements, type ServiceStatement } from './statements.js';

const dir = process.env['BENCH_DIR'];
if (!dir) throw new Error('BENCH_DIR=<a data dir with readmodels.db, events.db, audit.db> is required (opened read-only)');
const CC = process.env['BENCH_CC'] ?? 'gcc';

/** The probe, built once per SQLite source, defines and probe source. */
function probe(): string {
  const deps = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps');
  const amalgamation = join(deps, 'sqlite3');
  const defines = [...readFileSync(join(deps, 'defines.gypi'), 'utf8').matchAll(/'([A-Z][A-Z0-9_]*(?:=[^']*)?)'/g)].map((m) => `-D${m[1]}`);
  const source = join(dirname(fileURLToPath(import.meta.url)), 'reprepare.c');
  const hash = createHash('sha256').update(readFileSync(join(amalgamation, 'sqlite3.c'))).update(defines.join(' ')).update(readFileSync(source)).digest('hex').slice(0, 12);
  const out = join(tmpdir(), `annals-reprepare-${hash}`);
  const bin = join(out, 'reprepare');
  if (existsSync(bin)) return bin;
  mkdirSync(out, { recursive: true });
  console.log(`building the probe against ${amalgamation} (${defines.length} defines) in ${out}…`);
  const run = (args: string[]): void => {
    const r = spawnSync('nice', ['-n', '19', CC, ...args], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${CC} ${args.slice(0, 3).join(' ')}… failed (${r.status})`);
  };
  run(['-O1', ...defines, '-c', join(amalgamation, 'sqlite3.c'), '-o', join(out, 'sqlite3.o')]);
  run(['-O1', ...defines, `-I${amalgamation}`, source, join(out, 'sqlite3.o'), '-o', bin, '-lm', '-lpthread']);
  return bin;
}

const esc = (x: string): string => x.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
function record(s: { sql: string; args: unknown[] }): string {
  const lines = [`S ${esc(s.sql)}`];
  const p = (name: string, v: unknown): void => void lines.push(`P ${name} ${typeof v === 'string' ? 't' : typeof v === 'number' ? 'r' : typeof v === 'bigint' ? 'i' : 'n'} ${esc(String(v ?? ''))}`);
  const [first] = s.args;
  if (s.args.length === 1 && first !== null && typeof first === 'object') for (const [k, v] of Object.entries(first)) p(`@${k}`, v);
  else s.args.forEach((v, i) => p(`#${i + 1}`, v));
  lines.push('E');
  return lines.join('\n');
}

const open = (name: string): Db => new Database(join(dir, name), { readonly: true, fileMustExist: true });
const bin = probe();
const { knownAt, statements, dbs } = await serviceStatements(open, { knownAt: process.env['BENCH_KNOWN_AT'], fixture: !process.env['BENCH_NO_FIXTURE'] });
const [rmDb] = dbs as [Db];
const controls: ServiceStatement[] = [
  { where: 'control: a bare LIMIT @n (expected 3)', sql: 'SELECT * FROM facts WHERE recorded_at > @k ORDER BY recorded_at LIMIT @n', args: [{ k: knownAt, n: 5 }], db: rmDb },
  { where: 'control: LIMIT +@n (expected 0)', sql: 'SELECT * FROM facts WHERE recorded_at > @k ORDER BY recorded_at LIMIT +@n', args: [{ k: knownAt, n: 5 }], db: rmDb },
];
const all = [...controls, ...statements];
console.log(`${dir}: ${statements.length} statements, three runs each; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
const counts = new Map<ServiceStatement, string>();
for (const db of dbs) {
  const mine = all.filter((s) => s.db === db);
  const r = spawnSync(bin, [db.name], { input: `${mine.map(record).join('\n')}\n`, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`the probe failed on ${db.name}: ${r.stderr}`);
  for (const line of r.stdout.trim().split('\n')) {
    const m = /^(\d+) (.*)$/.exec(line);
    const s = m ? mine[Number(m[1])] : undefined;
    if (s) counts.set(s, m?.[2] as string);
  }
}
let every = 0;
for (const s of all) {
  const n = counts.get(s) ?? 'not run';
  const control = controls.includes(s);
  if (!control && n === '3') every += 1;
  if (control || n !== '0' || process.env['BENCH_ALL']) console.log(`${n.padEnd(2)} ${s.where}${control ? '' : `\n   ${s.sql.replace(/\s+/g, ' ').slice(0, 200)}`}`);
}
console.log(`\n${every} of ${statements.length} statements prepared again at every run; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const db of dbs) db.close();
