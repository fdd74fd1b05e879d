/**
 * Does `LIMIT +@n` change a plan? `npm run bench:limit-plans` with BENCH_DIR=<a data dir> (its
 * readmodels.db, events.db and audit.db opened read-only; e.g. the 1,000,000-fact record).
 *
 * The service writes every bound LIMIT as `LIMIT +@n` / `LIMIT +?` (query-context.ts `LIMIT`,
 * test/sql-limit.test.ts), an expression SQLite reads at run time, so the planner does not
 * know the value. SQLite plans with a known limit (computeLimitRegisters: the rows an ORDER BY
 * … LIMIT needs; a sort of few rows is cheap, so a selective index and a sort may win over an
 * index in ORDER BY order). For every statement with such a LIMIT this compares, at the first
 * run's value and at 1, 51 (a page of 50 and one more) and 501 (the largest page), the plan
 * with `+@n` against the plan with the value written in as a literal: EXPLAIN QUERY PLAN's
 * text and the tables, indexes, sorters and ephemeral tables EXPLAIN's program opens. Where
 * one differs it times both forms in alternating slices: per run median and p99 (wall, µs)
 * and CPU per run (this process's user+system over each slice). It also plans the bare
 * `LIMIT @n` as the service bound it before (a JS number: better-sqlite3 binds it as a REAL,
 * and SQLite plans with a bound limit's value only when it is an INTEGER), and bound as a
 * BigInt (an INTEGER: then as the literal), as checks. A control statement in memory whose
 * plan a known LIMIT 1 does change shows the comparison can see a difference.
 *
 * The statements: bench/statements.ts (every one the read queries prepare, the branches the
 * record lacks captured on a rebuilt small history, the store's and the audit log's), with the
 * terms index's (a rebuild's temporary tables, read by rowid: made here in memory).
 *
 * Environment: BENCH_DIR (required), BENCH_KNOWN_AT, BENCH_RUNS (runs a form, 400), BENCH_VALUES
 * (the limits tried, 1,51,501),
 * BENCH_NO_FIXTURE=1 (skip the rebuilt history), BENCH_VERBOSE=1 (every statement's plan).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { serviceStatements, type ServiceStatement } from './statements.js';

const dir = process.env['BENCH_DIR'];
if (!dir) throw new Error('BENCH_DIR=<a data dir with readmodels.db, events.db, audit.db> is required (opened read-only)');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 400);
const VERBOSE = Boolean(process.env['BENCH_VERBOSE']);
const SLICE = 20;
const VALUES = (process.env['BENCH_VALUES'] ?? '1,51,501').split(',').map(Number);

type Case = ServiceStatement;

/** The `LIMIT +@x` / `LIMIT +?` (and OFFSET) of a statement: a named parameter or the index of a positional one. */
type Bound = { kind: 'named'; name: string } | { kind: 'positional'; index: number };
const BOUND = /\b(LIMIT|OFFSET)\s+\+(@\w+|\?)/g;

function boundsOf(sql: string): Bound[] {
  const out: Bound[] = [];
  for (const m of sql.matchAll(BOUND)) {
    const p = m[2] as string;
    if (p === '?') out.push({ kind: 'positional', index: (sql.slice(0, (m.index ?? 0) + m[0].length - 1).match(/\?/g) ?? []).length });
    else out.push({ kind: 'named', name: p.slice(1) });
  }
  return out;
}

/**
 * The statement and its arguments with every bound limit set to `v` (null: the first run's):
 * `plus`, the service's `LIMIT +@n`; `literal`, the value written into the SQL; `bare`, a bare
 * `LIMIT @n` bound as the service bound it before (a JS number, which better-sqlite3 binds as
 * a REAL); `bareInt`, bare and bound as an INTEGER (a BigInt).
 */
function form(c: Case, v: number | null, how: 'plus' | 'literal' | 'bare' | 'bareInt'): { sql: string; args: unknown[] } {
  const bounds = boundsOf(c.sql);
  let args = [...c.args];
  const value = (b: Bound): number => Number(v ?? (b.kind === 'named' ? (c.args[0] as Record<string, unknown>)[b.name] : c.args[b.index]));
  const bind = (b: Bound): unknown => (how === 'bareInt' ? BigInt(value(b)) : value(b));
  if (bounds.some((b) => b.kind === 'named')) {
    const o = { ...(args[0] as Record<string, unknown>) };
    for (const b of bounds) if (b.kind === 'named') o[b.name] = bind(b);
    args = [o, ...args.slice(1)];
  } else {
    for (const b of bounds) if (b.kind === 'positional') args[b.index] = bind(b);
  }
  if (how === 'plus') return { sql: c.sql, args };
  if (how === 'bare' || how === 'bareInt') return { sql: c.sql.replace(BOUND, '$1 $2'), args };
  // Literal: each value written in; positional arguments written in are dropped (the others keep their order).
  let i = 0;
  const dropped = new Set<number>();
  const sql = c.sql.replace(BOUND, (_m, word: string) => {
    const b = bounds[i++] as Bound;
    if (b.kind === 'positional') dropped.add(b.index);
    return `${word} ${value(b)}`;
  });
  return { sql, args: bounds[0]?.kind === 'positional' ? args.filter((_a, j) => !dropped.has(j)) : args };
}

/**
 * What EXPLAIN's program opens, in order (tables and indexes by root page, sorters, ephemeral
 * tables): a second look, for a difference the query plan's text does not show (a sorter
 * against an ephemeral index, an automatic index).
 */
function opens(db: Db, sql: string, args: unknown[]): string {
  const rows = db.prepare(`EXPLAIN ${sql}`).all(...args) as { opcode: string; p2: number; p4: unknown }[];
  return rows
    .filter((r) => /^(Open|SorterOpen|ReopenIdx|VOpen)/.test(r.opcode))
    .map((r) => `${r.opcode}${/^(OpenRead|ReopenIdx|OpenWrite)$/.test(r.opcode) ? `:${r.p2}` : ''}`)
    .join(' ');
}

function plan(db: Db, sql: string, args: unknown[]): string[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { id: number; parent: number; detail: string }[];
  const depth = new Map<number, number>([[0, -1]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? 0) + 1;
    depth.set(r.id, d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

/** Both forms run RUNS times each, SLICE runs at a time alternating (A, B, A, B…): per run µs (median, p99) and CPU µs a run. */
function time(c: Case, a: { sql: string; args: unknown[] }, b: { sql: string; args: unknown[] }): string {
  const forms = [a, b].map((f) => ({ stmt: c.db.prepare(f.sql), args: f.args, wall: [] as number[], cpu: 0, rows: 0 }));
  for (const f of forms) f.rows = (f.stmt.all(...f.args) as unknown[]).length; // warm both
  for (let done = 0; done < RUNS; done += SLICE) {
    for (const f of forms) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < SLICE; i++) {
        const t0 = process.hrtime.bigint();
        f.stmt.all(...f.args);
        f.wall.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      const d = process.cpuUsage(c0);
      f.cpu += d.user + d.system;
    }
  }
  const [p, l] = forms as [(typeof forms)[0], (typeof forms)[0]];
  const fmt = (f: typeof p): string => `median ${quantile(f.wall, 0.5).toFixed(1)} p99 ${quantile(f.wall, 0.99).toFixed(1)} CPU ${(f.cpu / f.wall.length).toFixed(1)} µs/run (${f.rows} rows)`;
  return `+@n: ${fmt(p)}\n      literal: ${fmt(l)}`;
}

interface Audit {
  /** +@n plans as the literal does, at every value tried. */
  same: boolean;
  /** +@n plans as the bare LIMIT @n bound as a number did (the service before +@n), at every value tried. */
  asBefore: boolean;
  line: string;
}

function audit(c: Case): Audit {
  const bounds = boundsOf(c.sql);
  const firstValues = bounds.map((b) => (b.kind === 'named' ? (c.args[0] as Record<string, unknown>)[b.name] : c.args[b.index]));
  const notes: string[] = [];
  let same = true;
  let asBefore = true;
  let plusPlan: string[] = [];
  const show = (lines: string[]): string => lines.map((l) => `    ${l}`).join('\n');
  for (const v of [null, ...VALUES]) {
    const [plus, literal, bare, bareInt] = (['plus', 'literal', 'bare', 'bareInt'] as const).map((how) => {
      const f = form(c, v, how);
      return plan(c.db, f.sql, f.args).join('\n');
    }) as [string, string, string, string];
    plusPlan = plus.split('\n');
    const label = v === null ? `the first run's ${firstValues.join(', ')}` : String(v);
    if (bare !== plus) {
      asBefore = false;
      notes.push(`  at ${label}: bare LIMIT @n bound as a number plans otherwise than +@n:\n${show(bare.split('\n'))}`);
    }
    if (bareInt !== literal) notes.push(`  [check] at ${label}: bare LIMIT @n bound as an integer does not plan as the literal`);
    const [plusOpens, literalOpens] = (['plus', 'literal'] as const).map((how) => {
      const f = form(c, v, how);
      return opens(c.db, f.sql, f.args);
    });
    if (plus === literal && plusOpens !== literalOpens) {
      same = false;
      notes.push(`  DIFFERS at ${label} in the program (not the plan's text): +@n opens ${plusOpens}; literal ${literalOpens}`);
      notes.push(`  timed at ${label}: ${time(c, form(c, v, 'plus'), form(c, v, 'literal'))}`);
    }
    if (plus !== literal) {
      same = false;
      notes.push(`  DIFFERS at ${label}:\n    +@n:\n${show(plus.split('\n'))}\n    literal:\n${show(literal.split('\n'))}`);
      notes.push(`  timed at ${label}: ${time(c, form(c, v, 'plus'), form(c, v, 'literal'))}`);
    }
  }
  let line = `${same ? 'same     ' : 'DIFFERENT'} ${c.where}${asBefore ? '' : ' (NOT as before)'}`;
  if (notes.length) line += `\n${notes.join('\n')}`;
  if (VERBOSE) line += `\n  ${c.sql.replace(/\s+/g, ' ')}\n${show(plusPlan)}`;
  return { same, asBefore, line };
}

const open = (name: string): Db => new Database(join(dir, name), { readonly: true, fileMustExist: true });
const { knownAt, sample, statements, dbs } = await serviceStatements(open, { knownAt: process.env['BENCH_KNOWN_AT'], fixture: !process.env['BENCH_NO_FIXTURE'] });
const cases: Case[] = statements.filter((c) => boundsOf(c.sql).length > 0);

// The terms index's temporary tables (projections/offices/terms-index.ts), read by rowid: made here in memory.
const mem = new Database(':memory:');
mem.exec('CREATE TEMP TABLE terms_apps (office, person, fact_id); CREATE TEMP TABLE terms_deps (office, person, fact_id);');
mem.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO terms_apps SELECT 'o' || (i / 7), 'p' || i, 'f' || i FROM n; INSERT INTO terms_deps SELECT * FROM terms_apps;");
cases.push(
  { where: 'projections/offices/terms-index.ts apps', sql: 'SELECT rowid AS n, * FROM temp.terms_apps WHERE rowid > ? ORDER BY rowid LIMIT +?', args: [5000, 1000], db: mem },
  { where: 'projections/offices/terms-index.ts deps', sql: 'SELECT rowid AS n, * FROM temp.terms_deps WHERE rowid > ? ORDER BY rowid LIMIT +?', args: [5000, 1000], db: mem },
);

// A control: a statement whose plan does depend on a known limit (LIMIT 1: the range's index
// and a sort of what it finds; LIMIT 51 or unknown: the ORDER BY's index, stopping early), so
// that "same" below is the comparison's answer, not a comparison that cannot see a difference.
const control = new Database(':memory:');
control.exec("CREATE TABLE t (a, b, c); CREATE INDEX ta ON t (a); CREATE INDEX tb ON t (b); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) INSERT INTO t SELECT i % 1000, i, i FROM n; ANALYZE; DELETE FROM sqlite_stat4; ANALYZE sqlite_schema;");
const controlCase: Case = { where: 'control (in memory): a > ? ORDER BY b', sql: 'SELECT * FROM t WHERE a > ? ORDER BY b LIMIT +?', args: [998, 51], db: control };

console.log(`${dir}: read models asked at knownAt ${knownAt} about ${JSON.stringify(sample)}; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${cases.length} statements with LIMIT +@n / +?; plans compared at the first run's value and at ${VALUES.join(', ')}\n`);
const ctl = audit(controlCase);
console.log(`${ctl.line}\n${ctl.same ? 'THE CONTROL PLANNED ALIKE: this SQLite does not plan with a known limit here, so the comparison below shows nothing' : `(the control differs at LIMIT 1, as expected: the comparison sees a plan a known limit changes; bound bare as a number it plans ${ctl.asBefore ? 'as +@n does: SQLite only uses an INTEGER bound to a LIMIT, and better-sqlite3 binds a JS number as a REAL' : 'as the literal does'})`}\n`);
let different = 0;
let changed = 0;
for (const c of cases) {
  const r = audit(c);
  if (!r.same) different += 1;
  if (!r.asBefore) changed += 1;
  console.log(r.line);
}
console.log(`\n${different} of ${cases.length} statements plan differently with +@n than with the value written in; ${changed} plan otherwise than the bare LIMIT @n bound as a JS number did; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const db of [...dbs, mem, control]) db.close();
