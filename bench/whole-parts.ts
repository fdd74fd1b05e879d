/**
 * What making a documents page whole moved from the event loop to the read worker, in µs of
 * CPU a page, in-process: `node --import tsx bench/whole-parts.ts` with BENCH_DB=<a
 * readmodels.db> (opened read-only: a copy of the read benchmark's record). Real pages first
 * (bench:read's documents@past: organization `org`, a day of 1990..2030, a knownAt of the
 * recording, 50 a page), then, in alternating slices over the same pages (BENCH_ROUNDS, 20):
 * - `worker before`: the items' text into a buffer with room around it (read-worker.ts withRoom);
 * - `loop before`: the rest of the answer written around them, the cursor signed, the Link,
 *   the strong ETag's SHA-1 over the bytes (reads-answer.ts answerBytes, paging.ts nextPage);
 * - `worker now`: all of it in the worker (read-worker.ts wholeOf).
 * Each page's whole bytes are checked equal both ways.
 */
import { hash } from 'node:crypto';
import { loadavg } from 'node:os';
import Database from 'better-sqlite3';
import { ReadQueries } from '../projections/queries.js';
import { prng } from '../test/fixtures/history.js';
import { CURSOR_KEY, CursorSigner, nextLink, type Key } from '../src/cursor-sign.js';
import { encodeCursor, withCursor } from '../src/http/paging.js';

const path = process.env['BENCH_DB'];
if (!path) throw new Error('BENCH_DB=<a readmodels.db> (opened read-only)');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 20);
const db = new Database(path, { readonly: true, fileMustExist: true });
const q = new ReadQueries(db, false);
const span = db.prepare("SELECT min(recorded_at) a, max(recorded_at) b FROM facts").get() as { a: string; b: string } | undefined;
const k0 = Date.parse(span?.a ?? '2026-12-06T12:08:54.324Z');
const kn = Date.parse(span?.b ?? '2026-12-06T12:10:08.185Z');
const rnd = prng(2024);
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
interface P {
  validAt: string;
  knownAt: string;
  items: string;
  next: Key | null;
  url: string;
  filters: Record<string, unknown>;
}
const pages: P[] = [];
while (pages.length < 200) {
  const validAt = new Date(d0 + Math.floor(rnd() * ((dn - d0) / 864e5 + 1)) * 864e5).toISOString().slice(0, 10);
  const knownAt = new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString();
  const t = q.itemsJson('documents', ['org', knownAt, validAt, { after: null, limit: 50 }]);
  if (!t?.value) continue;
  pages.push({ validAt, knownAt, items: `[${t.items.join(',')}]`, next: t.value.next, url: `/v1/documents?organization=org&validAt=${validAt}&knownAt=${encodeURIComponent(knownAt)}`, filters: { organization: 'org', validAt, knownAt } });
}
const encoder = new TextEncoder();
const signer = new CursorSigner(CURSOR_KEY);
const route = '/v1/documents';
const buf = new Uint8Array(256 * 1024);

const workerBefore = (p: P): Uint8Array => {
  const { written } = encoder.encodeInto(p.items, buf.subarray(256));
  return buf.subarray(256, 256 + written);
};
const loopBefore = (p: P, items: Uint8Array): [Buffer, string, string | null] => {
  const cursor = p.next === null ? null : encodeCursor({ route, params: {}, filters: p.filters }, p.knownAt, p.next);
  const link = cursor === null ? null : `<${withCursor(p.url, cursor)}>; rel="next"`;
  const before = `{"validAt":${JSON.stringify(p.validAt)},"knownAt":${JSON.stringify(p.knownAt)},"documents":`;
  const after = `,"nextCursor":${JSON.stringify(cursor)}}`;
  const b = Buffer.byteLength(before);
  const whole = Buffer.from(items.buffer, items.byteOffset - b, b + items.byteLength + Buffer.byteLength(after));
  whole.write(before, 0);
  whole.write(after, b + items.byteLength);
  return [whole, `"${hash('sha1', whole, 'base64url')}"`, link];
};
const workerNow = (p: P): [Uint8Array, string, string | null] => {
  const cursor = p.next === null ? null : signer.encode({ route, params: {}, filters: p.filters }, p.knownAt, p.next);
  const text = `{"validAt":${JSON.stringify(p.validAt)},"knownAt":${JSON.stringify(p.knownAt)},"documents":${p.items},"nextCursor":${cursor === null ? 'null' : JSON.stringify(cursor)}}`;
  const { written } = encoder.encodeInto(text, buf);
  const bytes = buf.subarray(0, written);
  return [bytes, `"${hash('sha1', bytes, 'base64url')}"`, cursor === null ? null : nextLink(p.url, cursor)];
};
// The same bytes, ETag and Link both ways.
for (const p of pages) {
  const [a, ea, la] = loopBefore(p, workerBefore(p));
  const sa = Buffer.from(a).toString('utf8');
  const [b, eb, lb] = workerNow(p);
  if (sa !== Buffer.from(b).toString('utf8') || ea !== eb || la !== lb) throw new Error(`differ at ${p.url}`);
}
const cpu = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const sum = { workerBefore: 0, loopBefore: 0, workerNow: 0 };
let n = 0;
for (let r = 0; r < ROUNDS; r++) {
  let t = cpu();
  const held: Uint8Array[] = [];
  for (const p of pages) held.push(workerBefore(p).slice());
  sum.workerBefore += cpu() - t;
  // loopBefore writes around a copy of the items with the room, as the worker's buffer has.
  const roomy = pages.map((p) => {
    const items = held.shift() as Uint8Array;
    const b = new Uint8Array(256 + items.byteLength + 1024);
    b.set(items, 256);
    return [p, b.subarray(256, 256 + items.byteLength)] as const;
  });
  t = cpu();
  for (const [p, items] of roomy) loopBefore(p, items);
  sum.loopBefore += cpu() - t;
  t = cpu();
  for (const p of pages) workerNow(p);
  sum.workerNow += cpu() - t;
  n += pages.length;
}
const avg = pages.reduce((s, p) => s + Buffer.byteLength(p.items), 0) / pages.length;
console.log(`${pages.length} pages (mean ${avg.toFixed(0)} B of items, ${pages.filter((p) => p.next).length} with a next page), ${ROUNDS} rounds; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`µs of CPU a page: worker before ${(sum.workerBefore / n).toFixed(1)}, event loop before ${(sum.loopBefore / n).toFixed(1)} (the text around the items, cursor, Link, SHA-1), worker now ${(sum.workerNow / n).toFixed(1)}`);
