/**
 * What share of the (page, session) pairs of bench:read's sessions questions a session's text
 * stored once (valid from the last change to anything it shows, onward) would serve (#12, s40-st):
 * `node --import tsx bench/session-text-share.ts` with BENCH_DB=<a readmodels.db> (read-only).
 * The questions are bench:page-cpu's (organization `org`, validAt uniform over 1990..2030, knownAt
 * uniform over the recording, BENCH_SEED, BENCH_PAGES), each page's sessions found by the read
 * queries; a pair is served when k is at or after the session's last change: the latest
 * known_from or closing known_to of its rows, its items', its documents' adoptions and
 * considerations, and every entity version its text names.
 */
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { prng } from '../test/fixtures/history.js';
import { SESSIONS_PAGE } from '../src/http/paging.js';

const path = process.env['BENCH_DB'] as string;
const PAGES = Number(process.env['BENCH_PAGES'] ?? 2000);
const SEED = Number(process.env['BENCH_SEED'] ?? 2024);
const db = new Database(path, { readonly: true });
db.pragma('cache_size = -262144');
const reads = new ReadQueries(db, false, 60_000);
const [from, to] = db.prepare('SELECT min(recorded_at), max(recorded_at) FROM facts').raw().get() as [string, string];
const OPEN = (db.prepare("SELECT max(known_to) FROM sessions").pluck().get() as string);
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const k0 = Date.parse(from);
const kn = Date.parse(to);
const rnd = prng(SEED);
const asked = Array.from({ length: PAGES }, () => ({ v: new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString().slice(0, 10), k: new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString() }));

const ch = (a: string, b: string): string => `max(${a}, CASE WHEN ${b} = @open THEN '' ELSE ${b} END)`;
const ENT = (ids: string): string => `(SELECT max(${ch('v.known_from', 'v.known_to')}) FROM entities v WHERE v.id IN (${ids}))`;
/** Per session: [own rows, items, documents (adoptions, considerations), entities named]. */
const lastOf = db.prepare(`SELECT
  (SELECT max(${ch('s.known_from', 's.known_to')}) FROM sessions s WHERE s.id = @id) AS own,
  (SELECT max(${ch('i.known_from', 'i.known_to')}) FROM session_items i WHERE i.session = @id) AS items,
  max(coalesce((SELECT max(${ch('a.known_from', 'a.known_to')}) FROM adoptions a WHERE a.session = @id), ''), coalesce((SELECT max(${ch('c.known_from', 'c.known_to')}) FROM considerations c WHERE c.session = @id), '')) AS docs,
  max(coalesce(${ENT(`SELECT body FROM sessions WHERE id = @id UNION SELECT country FROM sessions WHERE id = @id UNION SELECT chair_person FROM sessions WHERE id = @id UNION SELECT chair_office FROM sessions WHERE id = @id`)}, ''),
      coalesce(${ENT(`SELECT person FROM session_items WHERE session = @id UNION SELECT office FROM session_items WHERE session = @id UNION SELECT representing FROM session_items WHERE session = @id UNION SELECT entity FROM talk_participants WHERE session = @id`)}, ''),
      coalesce(${ENT(`SELECT document FROM adoptions WHERE session = @id UNION SELECT document FROM considerations WHERE session = @id UNION SELECT body FROM adoptions WHERE session = @id`)}, '')) AS ents`);
type Last = { own: string; items: string | null; docs: string; ents: string };
const cache = new Map<string, Last>();
let pairs = 0;
let served = 0;
const why = { own: 0, items: 0, docs: 0, ents: 0 };
let emptyPages = 0;
for (const [i, { k, v }] of asked.entries()) {
  reads.invalidate();
  const page = reads.sessions('org', k, v, { after: null, limit: SESSIONS_PAGE });
  const items = page?.items ?? [];
  if (items.length === 0) emptyPages += 1;
  for (const s of items) {
    let l = cache.get(s.id);
    if (!l) {
      l = lastOf.get({ id: s.id, open: OPEN }) as Last;
      cache.set(s.id, l);
    }
    pairs += 1;
    const last = [l.own, l.items ?? '', l.docs, l.ents].reduce((a, b) => (a > b ? a : b));
    if (k >= last) served += 1;
    else for (const w of ['own', 'items', 'docs', 'ents'] as const) if ((l[w] ?? '') > k) why[w] += 1;
  }
  if (i % 200 === 199) process.stdout.write(`\r${i + 1} pages, ${pairs} pairs, served ${((100 * served) / pairs).toFixed(1)}%   `);
}
console.log(`\n${PAGES} pages (${emptyPages} empty), ${pairs} (page, session) pairs; served by a text valid from the session's last change: ${served} (${((100 * served) / pairs).toFixed(1)}%)`);
console.log(`not served, changed after k (a pair may count in several): own row ${why.own}, items ${why.items}, documents ${why.docs}, entities named ${why.ents}`);
