/**
 * A page of sessions at a validAt reads each length class (projections/sessions/length.ts: one
 * day, up to 31 days, longer) from the day asked about minus the longest session the class
 * holds. Sessions of lengths on each side of the classes' bounds (0, 1, 30, 31, 32, 33, 60, 366
 * days after their first), each beginning one day before, on, and one day after the furthest
 * first day that still reaches the day asked about, plus months and years named alone: every
 * page, at every page size, lists exactly the sessions held (possibly) within the validAt, in
 * (first day, id) order. A correction that moves a session to another class, and a retraction,
 * are followed at the moments before and after them.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';
import { lowerBound, upperBound } from '../events/index.js';

const source = { title: 'test source' };
const Q = '2020-03-10';
const LENGTHS = [0, 1, 30, 31, 32, 33, 60, 366];
const plus = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

interface Held {
  from: string;
  to?: string;
}
interface Session {
  key: string;
  factId: string;
  held: Held;
}

/** The sessions held (possibly) within `validAt`, in (first day, id) order: what the page must list. */
function expected(sessions: readonly Session[], validAt: string): string[] {
  const q0 = lowerBound(validAt);
  const q1 = upperBound(validAt);
  return sessions
    .filter((s) => lowerBound(s.held.from) <= q1 && upperBound(s.held.to ?? s.held.from) >= q0)
    .sort((a, b) => (lowerBound(a.held.from) === lowerBound(b.held.from) ? (a.factId < b.factId ? -1 : 1) : lowerBound(a.held.from) < lowerBound(b.held.from) ? -1 : 1))
    .map((s) => s.key);
}

t.test('sessions at a validAt: every length class found from its bound, across pages, before and after corrections', async (t) => {
  const clock = manualClock();
  const { app, auth } = await startTestApp(t, { clock: clock.now });
  const post = async (body: object): Promise<{ factId: string; recordedAt: string }> => {
    clock.advance();
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body });
    t.equal(r.statusCode, 201, r.body.slice(0, 300));
    return r.json() as { factId: string; recordedAt: string };
  };
  await post({ type: 'OrganizationRegistered', data: { key: 'len-body', name: 'Length body', classification: 'body' }, source });

  const helds: [string, Held][] = [];
  for (const length of LENGTHS) {
    for (const off of [-1, 0, 1]) {
      const from = plus(Q, off - length);
      helds.push([`l${length}-o${off}`, length === 0 ? { from } : { from, to: plus(from, length) }]);
    }
  }
  // Months and years named alone (2020 is a leap year: February is 28 days after its first).
  helds.push(['m-2020-02', { from: '2020-02' }], ['m-2020-03', { from: '2020-03' }], ['y-2019', { from: '2019' }], ['y-2020', { from: '2020' }], ['m-2020-02-to-03', { from: '2020-02', to: '2020-03' }]);
  const sessions: Session[] = [];
  for (const [key, held] of helds) sessions.push({ key, held, factId: (await post({ type: 'SessionHeld', data: { key, body: 'len-body', held }, source })).factId });

  const list = async (validAt: string, limit: number, knownAt?: string): Promise<string[]> => {
    const base = `/v1/sessions?organization=len-body&validAt=${validAt}&limit=${limit}${knownAt ? `&knownAt=${encodeURIComponent(knownAt)}` : ''}`;
    const out: string[] = [];
    for (let url: string | null = base; url !== null; ) {
      const r = await app.inject({ url });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 300)}`);
      const body = r.json() as { sessions: { key: string }[]; nextCursor: string | null };
      out.push(...body.sessions.map((s) => s.key));
      url = body.nextCursor ? `${base}&cursor=${body.nextCursor}` : null;
    }
    return out;
  };
  const days = [plus(Q, -367), plus(Q, -33), plus(Q, -32), plus(Q, -31), plus(Q, -30), plus(Q, -1), Q, plus(Q, 1), plus(Q, 2), '2020-02-29', '2020-03', '2020', '2019-12'];
  const check = async (what: string, now: readonly Session[], knownAt?: string): Promise<void> => {
    for (const day of days) {
      const want = expected(now, day);
      for (const limit of [1, 3, 100]) t.same(await list(day, limit, knownAt), want, `${what}: at ${day}, ${limit} a page (${want.length} sessions)`);
    }
  };
  t.ok(expected(sessions, Q).length >= 15, 'the day asked about is reached by sessions of each class');
  await check('as recorded', sessions);
  const before = clock.iso();

  // One day at Q becomes 35 days ending before it (class 0 -> longer); a year that ended the day
  // before Q becomes Q alone (longer -> one day); one of 31 days is retracted.
  const byKey = (key: string): Session => sessions.find((s) => s.key === key) as Session;
  const moved: Held = { from: plus(Q, -40), to: plus(Q, -5) };
  await post({ type: 'FactCorrected', data: { fact: byKey('l0-o0').factId, reason: 'the dates were wrong', data: { key: 'l0-o0', body: 'len-body', held: moved } }, source });
  await post({ type: 'FactCorrected', data: { fact: byKey('l366-o-1').factId, reason: 'one day only', data: { key: 'l366-o-1', body: 'len-body', held: { from: Q } } }, source });
  await post({ type: 'FactRetracted', data: { fact: byKey('l31-o1').factId, reason: 'never held' }, source });
  const after = sessions.filter((s) => s.key !== 'l31-o1').map((s) => (s.key === 'l0-o0' ? { ...s, held: moved } : s.key === 'l366-o-1' ? { ...s, held: { from: Q } } : s));
  await check('after the corrections', after);
  await check('known before them', sessions, before);
});

t.test('an organization of many bodies: their length classes read by several statements (at most 48 ranges each), merged in order', async (t) => {
  const clock = manualClock();
  const { app, auth } = await startTestApp(t, { clock: clock.now });
  const post = async (body: object): Promise<void> => {
    clock.advance();
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body });
    t.equal(r.statusCode, 201, r.body.slice(0, 300));
  };
  await post({ type: 'OrganizationRegistered', data: { key: 'many', name: 'Many', classification: 'organization' }, source });
  // 20 bodies: 60 ranges (three classes each), two statements.
  const held: { key: string; from: string }[] = [];
  for (let b = 0; b < 20; b++) {
    await post({ type: 'OrganizationRegistered', data: { key: `many-${b}`, name: `Body ${b}`, classification: 'body', parent: 'many' }, source });
    for (const [i, length] of [0, 20, 100].entries()) {
      const from = plus(Q, -((b * 7 + i * 3) % 19) - (length > 0 ? 1 : 0));
      const key = `s${b}-${i}`;
      if (length === 0 && from !== Q) continue;
      held.push({ key, from });
      await post({ type: 'SessionHeld', data: { key, body: `many-${b}`, held: length === 0 ? { from } : { from, to: plus(from, length) } }, source });
    }
  }
  const all: string[] = [];
  for (let url: string | null = `/v1/sessions?organization=many&validAt=${Q}&limit=7`; url !== null; ) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 200);
    const body = r.json() as { sessions: { key: string; held: { from: string } }[]; nextCursor: string | null };
    all.push(...body.sessions.map((s) => `${s.held.from} ${s.key}`));
    url = body.nextCursor ? `/v1/sessions?organization=many&validAt=${Q}&limit=7&cursor=${body.nextCursor}` : null;
  }
  t.equal(all.length, held.length, `${held.length} sessions, every one held at ${Q}`);
  t.same(all.map((s) => s.split(' ')[1]).sort(), held.map((s) => s.key).sort(), 'each once');
  t.same(all.map((s) => s.split(' ')[0]), all.map((s) => s.split(' ')[0]).slice().sort(), 'in order of their first day');
});
