/**
 * A replay's fold builds only what its read-out reads (BuildOptions.readOutOnly,
 * projections/read-out.ts): on the embedded store's real file, with corrections and retractions,
 *   - the read-out's entities from that fold equal those from a whole fold (what a rebuild
 *     makes), at several knownAt, with the log decoded on a thread of its own and on the
 *     writer's thread;
 *   - every statement the read-out runs reads, in its plan, only the indexes the fold keeps
 *     (READ_OUT_INDEXES) or a table's own key, and no table the fold leaves empty;
 *   - the tables kept hold the same rows as the whole fold's, and the left-out ones are empty
 *     or not made.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { ReadQueries, buildFresh } from '../projections/index.js';
import { READ_OUT_INDEXES, READ_OUT_SKIPPED_TABLES } from '../projections/read-out.js';
import { SUCCESSION_SQL } from '../projections/offices/holder-json.js';
import { SUCCESSIONS_TABLE, makeSuccessions } from '../projections/offices/successions-pass.js';
import { PROJECTIONS } from '../projections/registry.js';
import { entitiesAt, entityUnits, replayLines, replayTo, unitLines, type Entity } from '../src/cli/state.js';
import { TestLog, storeWithHistory } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

/** The read-out's entities of the fold at `path`, its lines as `annals replay` writes them (unitLines), and the SQL of every statement either ran. */
function readOut(path: string, k: string): { entities: Entity[]; lines: string; statements: Set<string> } {
  const db = new Database(path, { readonly: true });
  const statements = new Set<string>();
  const prepare = db.prepare.bind(db);
  // Each statement the read-out prepares on this connection, kept once it runs.
  (db as { prepare: (sql: string) => unknown }).prepare = (sql: string) => {
    const stmt = prepare(sql) as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const m of ['all', 'get', 'iterate', 'run']) {
      const f = stmt[m] as (...a: unknown[]) => unknown;
      stmt[m] = (...a: unknown[]) => {
        statements.add(sql);
        return f.apply(stmt, a);
      };
    }
    return stmt;
  };
  try {
    const entities = [...entitiesAt(new ReadQueries(db), db, k)];
    const queries = new ReadQueries(db);
    let lines = '';
    for (const unit of entityUnits(queries, db, k)) lines += unitLines(queries, k, unit).texts.join('');
    return { entities, lines, statements };
  } finally {
    db.close();
  }
}

/** The indexes and tables a statement's plan reads on `db` (its parameters all NULL). */
function planOf(db: Db, sql: string): string[] {
  const names = [...new Set([...sql.matchAll(/[@:$]([A-Za-z_]\w*)/g)].map((m) => m[1] as string))];
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (names.length > 0 ? stmt.all(Object.fromEntries(names.map((n) => [n, null]))) : stmt.all(...Array.from(sql.matchAll(/\?/g), () => null))) as { detail: string }[];
  return rows.map((r) => r.detail);
}

/** The rows of `table`, every column, ordered by all of them. */
function rowsOf(db: Db, table: string, columns: readonly string[]): unknown[][] {
  return db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${columns.map((_, i) => i + 1).join(', ')}`).raw().all() as unknown[][];
}

/**
 * Every office's succession made in one pass (successions-pass.ts, into a file of its own with the
 * fold attached, as the read-out's thread makes it) equals SUCCESSION_SQL's, office by office,
 * for every office the fold holds (known at k or not).
 */
function checkSuccessions(t: Test, fold: string, k: string): void {
  const path = `${fold}.successions`;
  makeSuccessions(path, fold, k);
  const db = new Database(fold, { readonly: true });
  const s = new Database(path, { readonly: true });
  try {
    const offices = db.prepare("SELECT DISTINCT id FROM entities WHERE kind = 'office'").pluck().all() as string[];
    const one = db.prepare(SUCCESSION_SQL).pluck();
    const made = s.prepare(`SELECT j FROM ${SUCCESSIONS_TABLE} WHERE office = ?`).pluck();
    let differ = 0;
    let items = 0;
    for (const office of offices) {
      const want = one.get({ office, k }) as string;
      const got = (made.get(office) as string | undefined) ?? '';
      if (got !== want && differ++ < 3) t.equal(got, want, `at ${k}: office ${office}'s succession`);
      items += want === '' ? 0 : (JSON.parse(`[${want}]`) as unknown[]).length;
    }
    t.equal(differ, 0, `at ${k}: ${offices.length} offices' successions (${items} items) made in one pass equal SUCCESSION_SQL's`);
    t.ok(items > 100, `at ${k}: items to compare`);
  } finally {
    db.close();
    s.close();
  }
}

t.test('a replay fold of what the read-out reads: the same entities as a whole fold, read through the indexes it keeps', async (t) => {
  const { log, store, dir } = await storeWithHistory(t, 2500, 23);
  t.ok(log.events.some((e) => e.type === 'FactCorrected') && log.events.some((e) => e.type === 'FactRetracted'), 'corrections and retractions in the log');
  // The store's own recording times (it records each event when appended, not the history's).
  const times = (await store.readAll({ limit: 100_000 })).map((e) => e.recordedAt);
  const moments = [times[Math.floor(times.length / 2)], times.at(-1)] as string[];
  let statementsChecked = 0;
  for (const [i, k] of moments.entries()) {
    const whole = join(dir, `whole-${i}.db`);
    await buildFresh(store, whole, silent, undefined, undefined, { knownAt: k, tempOnDisk: true, pageSize: 500 });
    const want = readOut(whole, k);
    t.ok(want.entities.length > 100, `at ${k}: ${want.entities.length} entities`);
    t.equal(want.lines, want.entities.map((e) => `${JSON.stringify(e)}\n`).join(''), `at ${k}: the lines written (offices' successions as SQLite writes them) are JSON.stringify of the entities`);
    const holders = want.entities.flatMap((e) => (e.entity === 'office' ? (e.holders as { correctedBy?: unknown; basis: string }[]) : []));
    t.ok(holders.some((h) => h.basis === 'attested') && holders.some((h) => h.basis === 'appointed'), `at ${k}: offices' holders appointed and attested among the lines`);
    t.ok(holders.some((h) => h.correctedBy !== undefined), `at ${k}: a corrected holder among the lines`);
    // The sessions' lines (written by SQLite, sessions/json.ts) are compared above with their objects' (sessionsByRef), session by session: with every list among them
    // (test/replay-read-out-sessions.test.ts: on histories with corrections of sessions, their items and documents).
    const sessions = want.entities.filter((e) => e.entity === 'session') as unknown as Record<'attendees' | 'reports' | 'documents' | 'talks', unknown[]>[];
    for (const list of ['attendees', 'reports', 'documents', 'talks'] as const) t.ok(sessions.some((s) => s[list].length > 0), `at ${k}: sessions with ${list} among the lines`);
    for (const decodeThread of [true, false]) {
      const lean = join(dir, `lean-${i}-${decodeThread}.db`);
      await buildFresh(store, lean, silent, undefined, undefined, { knownAt: k, tempOnDisk: true, readOutOnly: true, decodeThread, pageSize: 500 });
      const got = readOut(lean, k);
      t.equal(got.entities.map((e) => JSON.stringify(e)).join('\n'), want.entities.map((e) => JSON.stringify(e)).join('\n'), `at ${k}, decoded ${decodeThread ? 'on a thread' : 'here'}: the same lines as a whole fold's`);
      t.equal(got.lines, want.lines, `at ${k}, decoded ${decodeThread ? 'on a thread' : 'here'}: the same lines written as a whole fold's`);
      t.same([...got.statements].sort(), [...want.statements].sort(), `at ${k}: the same statements run`);
      if (decodeThread) checkSuccessions(t, lean, k);

      const a = new Database(lean, { readonly: true });
      const b = new Database(whole, { readonly: true });
      try {
        // What the fold made: the kept indexes (and `_fact`, the writer's), no temporal index, no spans.
        const indexes = (a.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").pluck().all() as string[]).filter((n) => !n.endsWith('_fact')).sort();
        t.same(indexes, [...READ_OUT_INDEXES].sort(), 'only the indexes the read-out reads');
        t.same(a.prepare("SELECT name FROM sqlite_master WHERE name IN ('spans', 'terms_rt', 'attestations_rt')").pluck().all(), [], 'no spans, no temporal index');
        for (const table of READ_OUT_SKIPPED_TABLES) {
          t.equal(a.prepare(`SELECT count(*) FROM ${table}`).pluck().get(), 0, `${table}: no rows`);
          t.ok((b.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number) > 0, `${table}: rows in a whole fold`);
        }
        // Every kept table the same, row for row (its columns but those the read-out does not read and the fold leaves NULL: stored items, derived texts).
        for (const spec of PROJECTIONS.flatMap((p) => p.tables)) {
          if (READ_OUT_SKIPPED_TABLES.includes(spec.name)) continue;
          const columns = (a.prepare(`SELECT * FROM ${spec.name} LIMIT 0`).columns() as { name: string }[]).map((c) => c.name).filter((c) => !(spec.stored ?? []).includes(c) && !(spec.derived?.columns ?? []).includes(c));
          t.same(rowsOf(a, spec.name, columns), rowsOf(b, spec.name, columns), `${spec.name}: the same rows`);
        }
        for (const table of ['facts', 'terms']) {
          const columns = (a.prepare(`SELECT * FROM ${table} LIMIT 0`).columns() as { name: string }[]).map((c) => c.name);
          t.same(rowsOf(a, table, ['rowid', ...columns].filter((c) => table === 'terms' || c !== 'rowid')), rowsOf(b, table, ['rowid', ...columns].filter((c) => table === 'terms' || c !== 'rowid')), `${table}: the same rows`);
        }
        // Each statement's plan on the whole fold (every index there to choose from) reads only what the lean fold keeps.
        const skipped = new RegExp(`\\b(${READ_OUT_SKIPPED_TABLES.join('|')}|spans|terms_rt|attestations_rt)\\b`);
        for (const sql of want.statements) {
          t.notOk(skipped.test(sql), `no statement names a table left out: ${sql.slice(0, 60)}`);
          for (const detail of planOf(b, sql)) {
            const index = /USING (?:COVERING )?INDEX (\w+)/.exec(detail)?.[1];
            if (index !== undefined && !index.startsWith('sqlite_autoindex') && !READ_OUT_INDEXES.has(index)) t.fail(`${sql.slice(0, 80)}: its plan reads ${index}, which a replay's fold does not build`);
            statementsChecked++;
          }
          // And its plan on the lean fold: the same.
          t.same(planOf(a, sql), planOf(b, sql), `the same plan: ${sql.slice(0, 60)}`);
        }
      } finally {
        a.close();
        b.close();
      }
    }
  }
  t.ok(statementsChecked > 20, `${statementsChecked} plan steps checked`);
});

t.test('replayTo and replayLines fold what the read-out reads by default; readOutOnly false: the whole fold, the same lines', async (t) => {
  const { log, store, dir } = await storeWithHistory(t, 900, 5);
  t.ok(log.events.length >= 900, 'the history recorded');
  const k = (await store.readAll({ limit: 100_000 })).at(-1)?.recordedAt as string;
  const lines = async (readOutOnly?: boolean): Promise<string> => {
    let text = '';
    for await (const u of replayLines(store, k, { tmpDir: dir, ...(readOutOnly === undefined ? {} : { readOutOnly }) })) text += u.text;
    return text;
  };
  const stages: string[] = [];
  for await (const e of replayTo(store, k, { tmpDir: dir, onProgress: (p) => p.stage !== undefined && stages.push(p.stage) })) t.ok(e.id);
  t.ok(stages.some((s) => s.startsWith('adoptions: no stored items')), 'the default fold is the read-out\'s');
  t.notOk(stages.some((s) => s.startsWith('terms_rt')), 'no temporal index made');
  const lean = await lines();
  t.ok(lean.split('\n').length > 50, 'lines out');
  t.equal(lean, await lines(false), 'the same lines as from the whole fold');
});

t.test("the successions pass keeps an item whose person is NULL, as SUCCESSION_SQL does (a fact naming none, as an older log may hold)", async (t) => {
  const dir = t.testdir();
  const log = new TestLog();
  const org = log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }).metadata['factId'] as string;
  const office = log.record('OfficeEstablished', { key: 'chair', organization: org, title: 'Chair', multipleHolders: false }).metadata['factId'] as string;
  const ann = log.record('PersonRegistered', { key: 'ann', name: 'Ann' }).metadata['factId'] as string;
  log.record('OfficialAppointed', { office, person: ann, term: { from: '2001', to: '2002' } });
  // Neither names a person: an appointment (which makes no term: no item) and a delegate's capacity at a session (an item).
  log.record('OfficialAppointed', { office, term: { from: '2003', to: '2004' } });
  const session = log.record('SessionHeld', { body: org, held: { from: '2006-05-01' } }).metadata['factId'] as string;
  log.record('DelegateAttended', { session, office });
  const k = log.events.at(-1)?.recordedAt as string;
  const fold = join(dir, 'fold.db');
  await buildFresh(log, fold, silent, undefined, undefined, { knownAt: k, tempOnDisk: true, readOutOnly: true, pageSize: 100 });
  const path = `${fold}.successions`;
  makeSuccessions(path, fold, k);
  const db = new Database(fold, { readonly: true });
  const s = new Database(path, { readonly: true });
  try {
    const want = db.prepare(SUCCESSION_SQL).pluck().get({ office, k }) as string;
    const got = s.prepare(`SELECT j FROM ${SUCCESSIONS_TABLE} WHERE office = ?`).pluck().get(office) as string | undefined;
    const items = JSON.parse(`[${want}]`) as { person: { id: string | null }; basis: string }[];
    t.same(items.map((i) => [i.person.id, i.basis]), [[ann, 'appointed'], [null, 'attested']], 'SUCCESSION_SQL: the attested item naming no person kept, its person all null');
    t.equal(got, want, 'the pass: the same text');
  } finally {
    db.close();
    s.close();
  }
});
