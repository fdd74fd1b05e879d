/**
 * A replay's units of sessions and of documents are read out as SQLite writes their JSON text
 * (src/cli/state.ts unitLines: sessions/json.ts, documents/json.ts) on the fold a replay makes
 * (readOutOnly: no stored item texts, so every view is written as known at k): for random
 * histories of sessions and documents with corrections and retractions of them, their items and
 * the entities they show, documents adopted twice among them (as an older log may hold: the first
 * adoption known at k is the one shown), at several knownAt, each unit's lines equal, entity by entity,
 * JSON.stringify of the objects `readUnit` makes of it (sessionsByRef, document).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { ReadQueries, buildFresh } from '../projections/index.js';
import { entityUnits, readUnit, unitLines } from '../src/cli/state.js';
import { TestLog } from './fixtures/history.js';
import { recordSessions } from './fixtures/session-history.js';

const silent = pino({ level: 'silent' });

t.test("a replay's sessions and documents written by SQLite equal their objects serialized, entity by entity", async (t) => {
  const dir = t.testdir();
  const seen = { sessions: 0, documents: 0, corrected: 0, unknown: 0, considered: 0, lists: { attendees: 0, reports: 0, documents: 0, talks: 0 }, twice: { before: 0, after: 0 } };
  let differ = 0;
  for (const seed of [3, 17, 4242]) {
    const log = new TestLog();
    recordSessions(log, 400, seed);
    const times = log.events.map((e) => e.recordedAt);
    // When each document was adopted (the fixture adopts some twice): by its id, the adoptions' recordedAt.
    const adoptions = new Map<string, string[]>();
    for (const e of log.events) {
      if (e.type !== 'DocumentAdopted') continue;
      const doc = ((e.data as { document?: string }).document ?? e.metadata['factId']) as string;
      adoptions.set(doc, [...(adoptions.get(doc) ?? []), e.recordedAt]);
    }
    for (const [i, k] of [times[Math.floor(times.length / 3)], times[Math.floor((2 * times.length) / 3)], times.at(-1)].entries()) {
      const path = join(dir, `fold-${seed}-${i}.db`);
      await buildFresh(log, path, silent, undefined, undefined, { knownAt: k as string, tempOnDisk: true, readOutOnly: true, pageSize: 100 });
      const db = new Database(path, { readonly: true });
      try {
        const queries = new ReadQueries(db);
        for (const unit of entityUnits(queries, db, k as string)) {
          if (unit.kind !== 'session' && unit.kind !== 'document') continue;
          const want = readUnit(queries, k as string, unit).map((e) => `${JSON.stringify(e)}\n`);
          const got = unitLines(queries, k as string, unit).texts.join('');
          // Ids listed but not known at k (a retracted session or document): no line on either side.
          seen.unknown += unit.ids.length - want.length;
          if (got !== want.join('') && differ++ < 3) t.same(got.split(/(?<=\n)/), want, `seed ${seed} at ${k}: a unit of ${unit.kind}s`);
          for (const line of want) {
            const e = JSON.parse(line) as { entity: string; correctedBy?: unknown } & Record<string, unknown>;
            if (e.entity === 'document') seen.documents += 1;
            else seen.sessions += 1;
            if (line.includes('"correctedBy"')) seen.corrected += 1;
            if (e.entity === 'document' && e['status'] === 'considered') seen.considered += 1;
            const second = e.entity === 'document' ? adoptions.get(e['id'] as string)?.[1] : undefined;
            if (second !== undefined) seen.twice[second <= (k as string) ? 'after' : 'before'] += 1;
            for (const list of ['attendees', 'reports', 'documents', 'talks'] as const) if (Array.isArray(e[list]) && (e[list] as unknown[]).length > 0) seen.lists[list] += 1;
          }
        }
      } finally {
        db.close();
      }
    }
  }
  t.equal(differ, 0, `${seen.sessions} sessions' and ${seen.documents} documents' lines equal their objects'`);
  t.ok(seen.sessions > 100 && seen.documents > 50, 'sessions and documents compared');
  t.ok(seen.corrected > 10, `${seen.corrected} lines with a correction among them`);
  t.ok(seen.unknown > 10, `${seen.unknown} ids of a unit not known at their knownAt (no line)`);
  t.ok(seen.considered > 10, `${seen.considered} considered documents`);
  t.ok(seen.twice.before > 5 && seen.twice.after > 5, `documents adopted twice: ${seen.twice.before} read out before their second adoption was known, ${seen.twice.after} after`);
  for (const [list, n] of Object.entries(seen.lists)) t.ok(n > 10, `${n} sessions with ${list}`);
});
