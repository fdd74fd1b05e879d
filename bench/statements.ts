/**
 * The service's read statements with the arguments of a run, for bench:limit-plans and
 * bench:reprepare (a module, not a script). The read models': every statement the read
 * queries prepare while answering every question (test/fixtures/query-plans.ts
 * exerciseQueries, as bench:plans asks them; the documents and sessions pages as a read worker
 * asks them, also at a knownAt early in the adoptions: the INDEXED BY adoptions_i4 statements),
 * each labelled with the line that prepares it. The branches the record has no data for (the
 * 1,000,000-fact record has one adopting body, no considerations, no adoption with an end) are
 * captured on a small rich history rebuilt in a temporary directory and run on the record's
 * file. The store's (events.db) and the audit log's (audit.db) statements with a LIMIT are
 * copies of theirs, below: keep them in step.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database, { type Database as Db } from 'better-sqlite3';
import { pino } from 'pino';
import { ReadQueries, rebuildReadModels } from '../projections/index.js';
import { TestLog, recordRichHistory } from '../test/fixtures/history.js';
import { captureStatements, exerciseQueries, sampleOf, type Sample } from '../test/fixtures/query-plans.js';

export interface ServiceStatement {
  /** file:line (and function) that prepares it. */
  where: string;
  sql: string;
  /** The arguments of one run (an object of named parameters, or positional values). */
  args: unknown[];
  db: Db;
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

/** Questions exerciseQueries leaves out: the documents and sessions pages as a read worker asks them (itemsJson), and the documents at `early` too. */
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

const where = (caller: string, site: string | undefined): string => `${site ?? caller.replace(/^\S+ /, '')} ${caller.replace(/ \S+$/, '')}`;
const isQuery = (sql: string): boolean => /^\s*(SELECT|WITH)\b/i.test(sql);

/** `open(name)`: a file of the data dir, read only. `fixture`: also the branches captured on a rebuilt small history. */
export async function serviceStatements(open: (name: string) => Db, opts: { knownAt?: string | undefined; fixture: boolean }): Promise<{ knownAt: string; sample: Sample; statements: ServiceStatement[]; dbs: Db[] }> {
  const statements: ServiceStatement[] = [];
  const rmDb = open('readmodels.db');
  const knownAt = opts.knownAt ?? (rmDb.prepare('SELECT recorded_at FROM facts ORDER BY recorded_at LIMIT 1 OFFSET (SELECT count(*) * 3 / 4 FROM facts)').pluck().get() as string);
  const sample = sampleOf(rmDb, knownAt);
  const busiest = rmDb.prepare('SELECT body FROM adoptions GROUP BY body ORDER BY count(*) DESC LIMIT 1').pluck().get() as string | undefined;
  const early = busiest === undefined ? null : ((rmDb.prepare('SELECT known_from FROM adoptions INDEXED BY adoptions_i4 WHERE body = ? ORDER BY known_from LIMIT 1 OFFSET 300').pluck().get(busiest) as string | undefined) ?? null);
  const captured = captureStatements(rmDb);
  const sites = sitesOf(rmDb);
  exerciseQueries(rmDb, sample);
  moreQuestions(rmDb, sample, early);
  for (const c of [...captured.values()]) if (isQuery(c.sql)) statements.push({ where: where(c.caller, sites.get(c.sql)), sql: c.sql, args: c.params, db: rmDb });

  if (opts.fixture) {
    const tmp = await mkdtemp(join(tmpdir(), 'annals-statements-'));
    try {
      const log = new TestLog();
      recordRichHistory(log, 4000, 5, { offices: 12, people: 40 });
      const path = join(tmp, 'readmodels.db');
      await rebuildReadModels({ store: log, path, log: pino({ level: 'silent' }) });
      const fx = new Database(path);
      const fs = sampleOf(fx, log.events.at(-1)?.recordedAt as string);
      const firstKnown = fx.prepare('SELECT min(known_from) FROM adoptions').pluck().get() as string;
      const seen = captureStatements(fx);
      const fxSites = sitesOf(fx);
      exerciseQueries(fx, fs);
      moreQuestions(fx, fs, firstKnown);
      const have = new Set(statements.map((c) => c.sql));
      for (const c of [...seen.values()]) if (isQuery(c.sql) && !have.has(c.sql)) statements.push({ where: `${where(c.caller, fxSites.get(c.sql))} (a branch captured on the fixture)`, sql: c.sql, args: c.params, db: rmDb });
      fx.close();
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  // The store (events.db): src/store/sqlite-rows.ts and the writer's log read (projections/writer-apply.ts).
  const ev = open('events.db');
  const sel = 'SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events';
  const maxPos = ev.prepare('SELECT max(position) FROM events').pluck().get() as number;
  const mid = Math.floor(maxPos / 2);
  const busy = ev.prepare('SELECT stream FROM events WHERE position >= ? LIMIT 1').pluck().get(mid) as string;
  const types = ev.prepare('SELECT DISTINCT type FROM events WHERE position > ? LIMIT 3').pluck().all(mid) as string[];
  statements.push(
    { where: 'src/store/sqlite-rows.ts streamForwards', sql: `${sel} WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT +?`, args: [busy, 0, 100], db: ev },
    { where: 'src/store/sqlite-rows.ts streamBackwards', sql: `${sel} WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT +?`, args: [busy, 1_000_000, 100], db: ev },
    { where: 'src/store/sqlite-rows.ts allAfter (and projections/writer-apply.ts page)', sql: `${sel} WHERE position > ? ORDER BY position LIMIT +?`, args: [mid, 500], db: ev },
    { where: 'src/store/sqlite-rows.ts allAfterUpTo', sql: `${sel} WHERE position > ? AND position <= ? ORDER BY position LIMIT +?`, args: [mid, maxPos, 500], db: ev },
    { where: 'src/store/sqlite-rows.ts typed(1)', sql: `${sel} WHERE position > ? AND position <= ? AND type IN (?) ORDER BY position LIMIT +?`, args: [mid, maxPos, types[0], 500], db: ev },
    { where: `src/store/sqlite-rows.ts typed(${types.length})`, sql: `${sel} WHERE position > ? AND position <= ? AND type IN (${types.map(() => '?').join(', ')}) ORDER BY position LIMIT +?`, args: [mid, maxPos, ...types, 500], db: ev },
  );

  // The audit log (audit.db): src/audit/storage.ts.
  const au = open('audit.db');
  const cols = 'tree_size, root_hash, last_position, timestamp, key_id, signature';
  const size = (au.prepare('SELECT max(tree_size) FROM heads').pluck().get() as number | null) ?? 0;
  statements.push(
    { where: 'src/audit/storage.ts heads', sql: `SELECT ${cols} FROM heads WHERE tree_size BETWEEN ? AND ? ORDER BY seq LIMIT +?`, args: [Math.floor(size / 2), size, 100], db: au },
    { where: 'src/audit/storage.ts leafRange', sql: 'SELECT idx, position, hash FROM leaves WHERE idx >= ? ORDER BY idx LIMIT +?', args: [Math.floor(size / 2), 1000], db: au },
  );
  if (au.prepare("SELECT 1 FROM sqlite_master WHERE name = 'parked'").get()) statements.push({ where: 'src/audit/storage.ts parked', sql: 'SELECT position, event_id AS eventId, type, reason, detail, seen_at AS seenAt FROM parked ORDER BY position LIMIT +?', args: [100], db: au });
  return { knownAt, sample, statements, dbs: [rmDb, ev, au] };
}
