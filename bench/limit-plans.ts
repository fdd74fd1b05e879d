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
 * The read models' statements are those the read queries prepare while answering every
 * question (test/fixtures/query-plans.ts exerciseQueries, as bench:plans asks them, and the
 * documents pages as a read worker asks them, also at a knownAt early in the adoptions),
 * labelled with the line that prepares them; the branches the record has no data for (it
 * has one adopting body, no considerations, no adoption with an end) are captured on a small
 * rich history rebuilt in a temporary directory and planned on the record's file. The
 * store's, the audit log's and the terms index's statements are copies of theirs, below
 * (the terms index's temporary tables made in memory): keep them in step.
 *
 * Environment: BENCH_DIR (required), BENCH_KNOWN_AT, BENCH_RUNS (runs a form, 400),
 * BENCH_NO_FIXTURE=1 (skip the rebuilt history), BENCH_VERBOSE=1 (every statement's plan).
 */
import { join } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm as rm_ } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { pino } from 'pino';
import { ReadQueries, rebuildReadModels } from '../projections/index.js';
import { TestLog, recordRichHistory } from '../test/fixtures/history.js';
import { captureStatements, exerciseQueries, sampleOf, type Sample } from '../test/fixtures/query-plans.js';

const dir = process.env['BENCH_DIR'];
if (!dir) throw new Error('BENCH_DIR=<a data dir with readmodels.db, events.db, audit.db> is required (opened read-only)');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 400);
const VERBOSE = Boolean(process.env['BENCH_VERBOSE']);
const SLICE = 20;
const VALUES = [1, 51, 501];

interface Case {
  /** file:function */
  where: string;
  sql: string;
  /** The arguments of one run (an object of named parameters, or positional values). */
  args: unknown[];
  db: Db;
}

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

const files = new Map<string, string[]>();
/** The text of a source line `file:line`. */
function lineOf(site: string): string {
  const [file, line] = site.split(':') as [string, string];
  if (!files.has(file)) files.set(file, readFileSync(file, 'utf8').split('\n'));
  return files.get(file)?.[Number(line) - 1] ?? '';
}

/** Where each statement is prepared in the sources (file:line of the first frame outside query-context.ts), by its text. */
function sitesOf(db: Db): Map<string, string> {
  const out = new Map<string, string>();
  const prepare = db.prepare.bind(db) as (sql: string) => ReturnType<Db['prepare']>;
  (db as { prepare: (sql: string) => ReturnType<Db['prepare']> }).prepare = (sql: string) => {
    if (!out.has(sql)) {
      const frames = (new Error().stack ?? '')
        .split('\n')
        .slice(2)
        .flatMap((frame) => {
          const m = /((?:projections|src)\/[^:)]+):(\d+)/.exec(frame);
          return m && !m[1]?.endsWith('query-context.ts') ? [`${m[1]}:${m[2]}`] : [];
        });
      // The documents' keyset statements are all run by one fetch through pageSources' `source`:
      // the line that wrote the statement is the frame after that helper's.
      const helper = frames.findIndex((f) => /const source = /.test(lineOf(f)));
      if (frames.length) out.set(sql, helper >= 0 && frames[helper + 1] ? `${frames[helper + 1]} (run at ${frames[0]})` : (frames[0] as string));
    }
    return prepare(sql);
  };
  return out;
}

const open = (name: string): Db => new Database(join(dir, name), { readonly: true, fileMustExist: true });
const cases: Case[] = [];

// The read models: every statement the read queries prepare, with the arguments of its first run.
const rm = open('readmodels.db');
const knownAt = process.env['BENCH_KNOWN_AT'] ?? (rm.prepare('SELECT recorded_at FROM facts ORDER BY recorded_at LIMIT 1 OFFSET (SELECT count(*) * 3 / 4 FROM facts)').pluck().get() as string);
const sample = sampleOf(rm, knownAt);
/** Questions exerciseQueries leaves out: the documents pages as a read worker asks them (itemsJson: documentsPageJson), and both at `early` (a body's first adoptions known: the INDEXED BY adoptions_i4 statements). */
function moreQuestions(db: Db, s: Sample, early: string | null): void {
  const rq = new ReadQueries(db);
  for (const k of early === null ? [s.knownAt] : [s.knownAt, early]) {
    for (const v of [undefined, s.validAt]) {
      const p = rq.documents(s.organization, k, v, { after: null, limit: 5 });
      if (p?.next) rq.documents(s.organization, k, v, { after: p.next, limit: 5 });
      const j = rq.itemsJson('documents', [s.organization, k, v, { after: null, limit: 5 }]);
      if (j?.value?.next) rq.itemsJson('documents', [s.organization, k, v, { after: j.value.next, limit: 5 }]);
      rq.itemsJson('sessions', [s.organization, k, v, { after: null, limit: 5 }]);
    }
  }
  rq.invalidate();
}
const busiest = rm.prepare('SELECT body FROM adoptions GROUP BY body ORDER BY count(*) DESC LIMIT 1').pluck().get() as string | undefined;
const early = busiest === undefined ? null : (rm.prepare('SELECT known_from FROM adoptions INDEXED BY adoptions_i4 WHERE body = ? ORDER BY known_from LIMIT 1 OFFSET 300').pluck().get(busiest) as string | undefined) ?? null;
const captured = captureStatements(rm);
const sites = sitesOf(rm);
exerciseQueries(rm, sample);
moreQuestions(rm, sample, early);
const where = (caller: string, site: string | undefined): string => `${site ?? caller.replace(/^\S+ /, '')} ${caller.replace(/ \S+$/, '')}`;
for (const c of captured.values()) if (boundsOf(c.sql).length) cases.push({ where: where(c.caller, sites.get(c.sql)), sql: c.sql, args: c.params, db: rm });

// Branches the record has no data for (it has one adopting body, no considerations, no
// adoption with an end): their statements are captured on a small rich history (test
// fixtures, rebuilt in a temporary directory) and planned here on the record's file.
if (!process.env['BENCH_NO_FIXTURE']) {
  const tmp = await mkdtemp(join(tmpdir(), 'annals-limit-plans-'));
  try {
    const log = new TestLog();
    recordRichHistory(log, 4000, 5, { offices: 12, people: 40 });
    const path = join(tmp, 'readmodels.db');
    await rebuildReadModels({ store: log, path, log: pino({ level: 'silent' }) });
    const fx = new Database(path);
    const k = log.events.at(-1)?.recordedAt as string;
    const fs = sampleOf(fx, k);
    const firstKnown = fx.prepare('SELECT min(known_from) FROM adoptions').pluck().get() as string;
    const seen = captureStatements(fx);
    const fxSites = sitesOf(fx);
    exerciseQueries(fx, fs);
    moreQuestions(fx, fs, firstKnown);
    const have = new Set(cases.map((c) => c.sql));
    for (const c of seen.values()) if (boundsOf(c.sql).length && !have.has(c.sql)) cases.push({ where: `${where(c.caller, fxSites.get(c.sql))} (a branch captured on the fixture)`, sql: c.sql, args: c.params, db: rm });
    fx.close();
  } finally {
    await rm_(tmp, { recursive: true, force: true });
  }
}

// The store (events.db): src/store/sqlite-rows.ts and the writer's log read (projections/writer-apply.ts).
const ev = open('events.db');
const sel = 'SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events';
const [maxPos, busy] = [ev.prepare('SELECT max(position) FROM events').pluck().get() as number, ev.prepare('SELECT stream FROM events WHERE position = (SELECT max(position) FROM events) / 2').pluck().get() as string];
const mid = Math.floor(maxPos / 2);
const types = ev.prepare('SELECT DISTINCT type FROM events WHERE position > ? LIMIT 3').pluck().all(mid) as string[];
cases.push(
  { where: 'src/store/sqlite-rows.ts:streamForwards', sql: `${sel} WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT +?`, args: [busy, 0, 100], db: ev },
  { where: 'src/store/sqlite-rows.ts:streamBackwards', sql: `${sel} WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT +?`, args: [busy, 1_000_000, 100], db: ev },
  { where: 'src/store/sqlite-rows.ts:allAfter (and writer-apply.ts page)', sql: `${sel} WHERE position > ? ORDER BY position LIMIT +?`, args: [mid, 500], db: ev },
  { where: 'src/store/sqlite-rows.ts:allAfterUpTo', sql: `${sel} WHERE position > ? AND position <= ? ORDER BY position LIMIT +?`, args: [mid, maxPos, 500], db: ev },
  { where: `src/store/sqlite-rows.ts:typed(1)`, sql: `${sel} WHERE position > ? AND position <= ? AND type IN (?) ORDER BY position LIMIT +?`, args: [mid, maxPos, types[0], 500], db: ev },
  { where: `src/store/sqlite-rows.ts:typed(${types.length})`, sql: `${sel} WHERE position > ? AND position <= ? AND type IN (${types.map(() => '?').join(', ')}) ORDER BY position LIMIT +?`, args: [mid, maxPos, ...types, 500], db: ev },
);

// The audit log (audit.db): src/audit/storage.ts.
const au = open('audit.db');
const cols = 'tree_size, root_hash, last_position, timestamp, key_id, signature';
const size = (au.prepare('SELECT max(tree_size) FROM heads').pluck().get() as number | null) ?? 0;
cases.push(
  { where: 'src/audit/storage.ts:heads', sql: `SELECT ${cols} FROM heads WHERE tree_size BETWEEN ? AND ? ORDER BY seq LIMIT +?`, args: [Math.floor(size / 2), size, 100], db: au },
  { where: 'src/audit/storage.ts:leafRange', sql: 'SELECT idx, position, hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT +?', args: [Math.floor(size / 2), 1000], db: au },
);
if (au.prepare("SELECT 1 FROM sqlite_master WHERE name = 'parked'").get()) cases.push({ where: 'src/audit/storage.ts:parked', sql: 'SELECT position, event_id AS eventId, type, reason, detail, seen_at AS seenAt FROM parked ORDER BY position LIMIT +?', args: [100], db: au });

// The terms index's temporary tables (projections/offices/terms-index.ts), read by rowid: made here in memory.
const mem = new Database(':memory:');
mem.exec('CREATE TEMP TABLE terms_apps (office, person, fact_id); CREATE TEMP TABLE terms_deps (office, person, fact_id);');
mem.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO terms_apps SELECT 'o' || (i / 7), 'p' || i, 'f' || i FROM n; INSERT INTO terms_deps SELECT * FROM terms_apps;");
cases.push(
  { where: 'projections/offices/terms-index.ts:apps', sql: 'SELECT rowid AS n, * FROM temp.terms_apps WHERE rowid > ? ORDER BY rowid LIMIT +?', args: [5000, 1000], db: mem },
  { where: 'projections/offices/terms-index.ts:deps', sql: 'SELECT rowid AS n, * FROM temp.terms_deps WHERE rowid > ? ORDER BY rowid LIMIT +?', args: [5000, 1000], db: mem },
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
for (const db of [rm, ev, au, mem, control]) db.close();
