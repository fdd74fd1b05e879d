/**
 * A name asked for is matched as written: `%`, `_` and `\` in it are escaped in the LIKE
 * pattern (people/queries.ts peoplePage, search/queries.ts searchNames), which is bound as
 * `LIKE +@pattern` (test/sql-limit.test.ts: a bare bound pattern expires the statement at
 * every run). Unary plus leaves the text as it is, so the escapes hold.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { ReadQueries, rebuildReadModels } from '../projections/index.js';
import { TestLog } from './fixtures/history.js';

t.test('people and search match %, _ and \\ in a name literally', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-name-pattern-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = new TestLog();
  const names = ['Ann_Lee', 'Annxlee', '50% Cohen', '500 Cohen', 'Back\\slash', 'Backslash'];
  names.forEach((name, i) => log.record('PersonRegistered', { key: `p${i}`, name }));
  const path = join(dir, 'readmodels.db');
  await rebuildReadModels({ store: log, path, log: pino({ level: 'silent' }) });
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  const rq = new ReadQueries(db);
  const k = log.events.at(-1)?.recordedAt as string;
  const people = (q: string): (string | null | undefined)[] => rq.people(k, q, { after: null, limit: 50 }).items.map((p) => p.name);
  const search = (q: string): (string | null)[] => rq.search(q, k, null, 50).map((h) => h.name);
  for (const [q, want] of [
    ['ann_', ['Ann_Lee']],
    ['50%', ['50% Cohen']],
    ['k\\s', ['Back\\slash']],
    ['cohen', ['50% Cohen', '500 Cohen']],
  ] as const) {
    t.same(people(q), want, `people ?q=${q}`);
    t.same(search(q), want, `search ${q}`);
  }
});
