/**
 * Pages whose items SQLite writes as JSON text (projections/json-sql.ts, sessions/json.ts,
 * documents/json.ts; what a read worker hands over): for random histories of everything a
 * session and a document can hold (corrections and retractions of sessions, their items and
 * documents, and of the people, states and offices they show; names with quotes, backslashes, control characters and other scripts; places,
 * chairs, talks' participants present or not), every page at random knownAt, validAt, page
 * sizes and nested limits equals, byte for byte, JSON.stringify of the items the queries
 * build as objects (`more` apart, as the worker sends it). A page that needs a `more` is
 * answered as objects (null here).
 */
import t from 'tap';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../src/store/port.js';
import { OPEN_END } from '../events/index.js';
import { TestLog, prng, startReadApp } from './fixtures/history.js';
import { NAMES, recordSessions } from './fixtures/session-history.js';
import type { ReadQueries } from '../projections/queries.js';

/** Each item as a read worker sends it made from objects: JSON.stringify without `more`. */
const asObjects = (items: unknown[]): string[] =>
  items.map((i) => {
    const { more, ...rest } = i as { more?: unknown };
    return JSON.stringify(rest);
  });

/** The read models of `log` caught up, for `ask`; closed after it, whatever it throws. */
async function withQueries(log: TestLog, ask: (q: ReadQueries) => void): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  try {
    const { readModels } = await startReadApp({ teardown: (fn) => teardowns.push(fn) }, log);
    await readModels.caughtUp();
    ask(readModels.queries as ReadQueries);
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

t.test('json_quote escapes every ASCII character and other scripts as JSON.stringify does', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  const quote = db.prepare('SELECT json_quote(?) AS q').pluck();
  const strings = [...Array.from({ length: 128 }, (_, c) => `a${String.fromCharCode(c)}b`), ...NAMES];
  t.same(strings.filter((s) => quote.get(s) !== JSON.stringify(s)), [], 'the same text for each');
});

t.test('sessions written by SQLite equal the objects serialized, page by page, on both time axes', async (t) => {
  let pages = 0;
  let items = 0;
  let asObjectsOnly = 0;
  const seen = new Set<string>();
  // Adoptions at a session whose item is stored (documents/stored.ts), which a page of sessions
  // writes from the row while item_to > k (sessions/json.ts documents), and of them those a
  // correction or retraction closed: pages before and after their item_to are both compared.
  const stored = { open: 0, closed: 0 };
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 150, max: 350 }), async (seed, size) => {
      const log = new TestLog();
      recordSessions(log, size, seed);
      await withQueries(log, (q) => {
        const rows = q.q.get<{ open: number; closed: number }>(`SELECT count(*) FILTER (WHERE item_to = @end) AS open, count(*) FILTER (WHERE item_to < @end) AS closed FROM adoptions WHERE session IS NOT NULL`, { end: OPEN_END });
        stored.open += rows?.open ?? 0;
        stored.closed += rows?.closed ?? 0;
        const rnd = prng(seed);
        const last = log.events.length - 1;
        for (let probe = 0; probe < 12; probe++) {
          const at = log.events[Math.floor(rnd() * (last + 1))] as StoredEvent;
          // A moment of the log, the same instant, or just before it.
          const k = new Date(Date.parse(at.recordedAt) - (probe % 3 === 0 ? 1 : 0)).toISOString();
          const validAt = probe % 4 === 0 ? undefined : ['2001', '2001-03', '2001-03-02', '1999', '2004-06-15'][probe % 5];
          const limit = [1, 2, 3, 10, 50][probe % 5] as number;
          const nested = [1, 2, 50][probe % 3] as number;
          for (const org of ['org', 'council', 'no-such-org']) {
            let after: readonly string[] | null = null;
            do {
              const page = { after, limit };
              const objects = q.sessions(org, k, validAt, page, nested);
              const text = q.itemsJson('sessions', [org, k, validAt, page, nested]);
              pages += 1;
              if (text === null) {
                asObjectsOnly += 1;
                t.ok(objects?.items.some((s) => s.more !== undefined), 'answered as objects only when a list goes on (more)');
              } else {
                if (objects === null) t.equal(text.value, null, 'an unknown organization: null');
                else {
                  t.same(text.value, { items: [], next: objects.next }, 'the same next key');
                  const expected = asObjects(objects.items);
                  if (text.items.join('\n') !== expected.join('\n')) t.same(text.items, expected, `${org} at ${k}, validAt ${validAt}, limit ${limit}, nested ${nested}`);
                  items += expected.length;
                  for (const s of expected) for (const part of ['correctedBy', '"place":null', '"chairedBy":null', '"participants"', '"status":"considered"', '"status":"adopted"', '\\n', '\\u0001', '"key":null,"name":null']) if (s.includes(part)) seen.add(part);
                }
              }
              after = objects?.next ?? null;
            } while (after !== null);
          }
        }
      });
    }),
    { numRuns: 6, seed: 2026 },
  );
  t.ok(items > 200, `${items} sessions compared on ${pages} pages (${asObjectsOnly} answered as objects only)`);
  t.ok(asObjectsOnly > 0, 'some pages needed a more');
  t.ok(stored.open > 20 && stored.closed > 0, `adoptions at a session with a stored item: ${stored.open} open, ${stored.closed} closed by a correction or retraction`);
  t.same([...seen].sort(), ['"chairedBy":null', '"key":null,"name":null', '"participants"', '"place":null', '"status":"adopted"', '"status":"considered"', '\\n', '\\u0001', 'correctedBy'].sort(), 'the shapes compared include every kind of field');
});

/** The latest correction of each fact known at k, folded from the log (a correction naming a correction names the fact it corrected). */
function correctionsAt(events: readonly StoredEvent[], k: string): Map<string, { factId: string; reason: string | null; recordedAt: string }> {
  const target = new Map<string, string>();
  const out = new Map<string, { factId: string; reason: string | null; recordedAt: string }>();
  for (const e of events) {
    if (e.type !== 'FactCorrected' && e.type !== 'FactRetracted') continue;
    const d = e.data as { fact: string; reason?: string };
    const id = e.metadata['factId'] as string;
    const t = target.get(d.fact) ?? d.fact;
    target.set(id, t);
    if (e.type === 'FactCorrected' && e.recordedAt <= k) out.set(t, { factId: id, reason: d.reason ?? null, recordedAt: e.recordedAt });
  }
  return out;
}

/** Every object with a `factId` in an answer's items, at any depth. */
function factItems(x: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(x)) for (const v of x) factItems(v, out);
  else if (x !== null && typeof x === 'object') {
    if ('factId' in x) out.push(x as Record<string, unknown>);
    for (const v of Object.values(x)) factItems(v, out);
  }
  return out;
}

t.test('a session whose adoption names a document not known at k (the adoption that made it retracted) is written by SQLite, not left to objects', async (t) => {
  const log = new TestLog();
  const id = (e: StoredEvent): string => e.metadata['factId'] as string;
  const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }));
  const first = id(log.record('SessionHeld', { body: org, held: { from: '2001-01-01' } }));
  const second = id(log.record('SessionHeld', { body: org, held: { from: '2002-01-01' } }));
  const made = id(log.record('DocumentAdopted', { title: 'Made', kind: 'plan', body: org, session: first, adoptedOn: '2001' }));
  // Adopted again at the second session (as an older log may hold), beside a document of its own; then the first adoption retracted.
  log.record('DocumentAdopted', { document: made, body: org, session: second, adoptedOn: '2002' });
  log.record('DocumentAdopted', { title: 'Other', kind: 'plan', body: org, session: second, adoptedOn: '2002' });
  log.record('FactRetracted', { fact: made, reason: 'test' });
  await withQueries(log, (q) => {
    const k = log.events.at(-1)?.recordedAt as string;
    const objects = q.sessions('org', k, undefined, { after: null, limit: 10 }, 1);
    const text = q.itemsJson('sessions', ['org', k, undefined, { after: null, limit: 10 }, 1]);
    t.same(objects?.items.map((s) => [s.documents.length, s.more]), [[0, undefined], [1, undefined]], 'objects: the second session lists one document, no more');
    t.same(text?.items, asObjects(objects?.items ?? []), 'SQLite writes the page (one document known: not more than nested), as the objects serialize');
  });
});

t.test('a session whose first pairs name documents not known at k still lists the one known after them (objects and SQLite alike)', async (t) => {
  const log = new TestLog();
  const id = (e: StoredEvent): string => e.metadata['factId'] as string;
  const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }));
  const first = id(log.record('SessionHeld', { body: org, held: { from: '2001-01-01' } }));
  const second = id(log.record('SessionHeld', { body: org, held: { from: '2002-01-01' } }));
  // Two documents made first (their ids sort before the third's), adopted again at the second session, then the adoptions that made them retracted.
  const gone = [0, 1].map(() => id(log.record('DocumentAdopted', { title: 'Gone', kind: 'plan', body: org, session: first, adoptedOn: '2001' })));
  const kept = id(log.record('DocumentAdopted', { title: 'Kept', kind: 'plan', body: org, session: second, adoptedOn: '2002' }));
  for (const d of gone) log.record('DocumentAdopted', { document: d, body: org, session: second, adoptedOn: '2002' });
  for (const d of gone) log.record('FactRetracted', { fact: d, reason: 'test' });
  await withQueries(log, (q) => {
    const k = log.events.at(-1)?.recordedAt as string;
    // nested 1: a session's documents are read limit + 1 = 2 pairs at most, which the two unknown ones filled.
    const objects = q.sessions('org', k, undefined, { after: null, limit: 10 }, 1);
    const text = q.itemsJson('sessions', ['org', k, undefined, { after: null, limit: 10 }, 1]);
    t.same(objects?.items.map((s) => [s.documents.map((d) => d.id), s.more]), [[[], undefined], [[kept], undefined]], 'objects: the second session lists the known document, no more');
    t.same(text?.items, asObjects(objects?.items ?? []), 'SQLite writes the same page');
  });
});

t.test('correctedBy read from the rows (db.ts corrected_by) is the latest correction known at k, folded from the log', async (t) => {
  let marked = 0;
  let unmarked = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 150, max: 350 }), async (seed, size) => {
      const log = new TestLog();
      recordSessions(log, size, seed);
      await withQueries(log, (q) => {
        const rnd = prng(seed + 1);
        const last = log.events.length - 1;
        for (let probe = 0; probe < 16; probe++) {
          const at = log.events[Math.floor(rnd() * (last + 1))] as StoredEvent;
          const k = new Date(Date.parse(at.recordedAt) - (probe % 3 === 0 ? 1 : 0)).toISOString();
          const expected = correctionsAt(log.events, k);
          const validAt = probe % 4 === 0 ? undefined : ['2001', '2001-03', '2001-03-02', '1999', '2004-06-15'][probe % 5];
          const limit = [1, 3, 10, 50][probe % 4] as number;
          for (const org of ['org', 'council']) {
            const check = (items: unknown, what: string): void => {
              for (const i of factItems(items)) {
                const want = expected.get(i['factId'] as string);
                if (want) marked += 1;
                else unmarked += 1;
                if (JSON.stringify(i['correctedBy']) !== JSON.stringify(want)) t.same(i['correctedBy'], want, `${what} ${String(i['factId'])} at ${k}`);
              }
            };
            for (let after: readonly string[] | null = null, first = true; first || after !== null; first = false) {
              const page = q.documents(org, k, validAt, { after, limit });
              check(page?.items ?? [], 'document');
              after = page?.next ?? null;
            }
            for (let after: readonly string[] | null = null, first = true; first || after !== null; first = false) {
              const text = q.itemsJson('sessions', [org, k, validAt, { after, limit }, 50]);
              const page = q.sessions(org, k, validAt, { after, limit }, 50);
              if (text) check(text.items.map((s) => JSON.parse(s) as unknown), 'sessions (SQL)');
              check(page?.items ?? [], 'sessions (objects)');
              after = page?.next ?? null;
            }
          }
        }
      });
    }),
    { numRuns: 5, seed: 2027 },
  );
  t.ok(marked > 50, `${marked} items marked corrected, ${unmarked} not`);
});

t.test('documents pages written by SQLite equal the objects serialized, page by page, on both time axes', async (t) => {
  let pages = 0;
  let items = 0;
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 150, max: 350 }), async (seed, size) => {
      const log = new TestLog();
      recordSessions(log, size, seed);
      // Documents considered by a body of `org` and adopted by another organization's body: listed by `org` as adopted.
      const rnd = prng(seed + 2);
      const other = log.record('OrganizationRegistered', { key: 'other', name: 'Other', classification: 'organization' }).metadata['factId'] as string;
      for (const e of log.events.filter((x) => x.type === 'DocumentConsidered')) {
        if (rnd() < 0.5) log.record('DocumentAdopted', { document: e.metadata['factId'] as string, body: other, adoptedOn: '2000', ...(rnd() < 0.5 ? { effective: { from: '2000-06', to: '2003' } } : {}) });
      }
      await withQueries(log, (q) => {
        const last = log.events.length - 1;
        for (let probe = 0; probe < 16; probe++) {
          const at = log.events[Math.floor(rnd() * (last + 1))] as StoredEvent;
          const k = new Date(Date.parse(at.recordedAt) - (probe % 3 === 0 ? 1 : 0)).toISOString();
          const validAt = probe % 4 === 0 ? undefined : ['2001', '2001-03', '2001-03-02', '1999', '2004-06-15', '2000-07'][probe % 6];
          const limit = [1, 2, 3, 10, 50][probe % 5] as number;
          for (const org of ['org', 'council', 'other', 'no-such-org']) {
            let after: readonly string[] | null = null;
            do {
              const page = { after, limit };
              const objects = q.documents(org, k, validAt, page);
              const text = q.itemsJson('documents', [org, k, validAt, page]);
              pages += 1;
              if (objects === null) t.same(text, { value: null, items: [] }, 'an unknown organization: null');
              else {
                t.same(text?.value, { items: [], next: objects.next }, 'the same next key');
                const expected = asObjects(objects.items);
                // The page's text: a page of one statement comes as one run of items (documents/queries.ts singlePage).
                if (text?.items.join(',') !== expected.join(',')) t.same(text?.items.join(',').split(',{"id":"'), expected.join(',').split(',{"id":"'), `${org} at ${k}, validAt ${validAt}, limit ${limit}`);
                items += expected.length;
                for (const s of expected) for (const part of ['correctedBy', '"certainty":"certain"', '"certainty":"possible"', '"status":"considered"', '"status":"adopted"', '"effective":{"from":"2000-06","to":"2003"}', '"session":null', '\\n', '\\u0001']) if (s.includes(part)) seen.add(part);
              }
              after = objects?.next ?? null;
            } while (after !== null);
          }
        }
      });
    }),
    { numRuns: 6, seed: 2028 },
  );
  t.ok(items > 200, `${items} documents compared on ${pages} pages`);
  t.same([...seen].sort(), ['correctedBy', '"certainty":"certain"', '"certainty":"possible"', '"status":"considered"', '"status":"adopted"', '"effective":{"from":"2000-06","to":"2003"}', '"session":null', '\\n', '\\u0001'].sort(), 'the shapes compared include every kind of field');
});
