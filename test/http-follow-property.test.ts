/**
 * The following side against brute-force answers (test/fixtures/follow-model.ts, written from
 * the rules of feed-organization.ts's header, src/audit/changes.ts and API.md, not from the
 * code), on the edge histories (test/fixtures/edge-history.ts, growing: bodies registered on the
 * way, moved into and out of an organization's subtree, offices and sessions moved by
 * corrections), recorded through the real app (test/fixtures/follow-rig.ts: POSTed to the
 * embedded store, or a log as an older writer left it; or, asked for, POSTed in bursts to the
 * writer thread that applies the read models), with one restart halfway:
 *
 * - GET /v1/feed, bare and organization= for each organization standing at the end (and a
 *   state): followers connected before the writes (live on the hub, across the restart), a
 *   catch-up from the start, types=, resumptions at random positions (and every position of one
 *   organization's feed) with Last-Event-ID or after=, some opened halfway so they catch up and
 *   then follow live: each exactly the model's list, in log order, each fact as logged;
 * - GET /v1/changes over random windows whose ends sit on a recordedAt or a millisecond either
 *   side (facts share milliseconds), organization= or not, every cursor followed at small
 *   limits: the model's list, each item once, by recordedAt then position, with its before and
 *   after; windows without until too (pinned by the cursor); consecutive windows: unfiltered,
 *   their pages make the whole window's; about an organization, a part of it (each window's
 *   scope is the one known at its end, so a fact brought into the scope by a later correction
 *   is in the whole window and in none of the parts: counted, not refused).
 *
 * The histories' last fact (talks naming every organization checked) ends every stream's list,
 * so a stream is read until it arrives. Sizes: FOLLOW_RUNS (default 4, each way in turn;
 * FOLLOW_THREADS=1 adds `threads`, FOLLOW_MODE=app|log|threads one alone),
 * FOLLOW_SEED (the first history's; default random, printed), FOLLOW_SIZE (default 120-200),
 * FOLLOW_RESUMED (random resumptions per organization, default 4), FOLLOW_EVERY (every position
 * of one feed when the log has at most this many events, default 260), FOLLOW_WINDOWS (default 16).
 */
import t, { type Test } from 'tap';
import { FACT_TYPES } from '../events/index.js';
import { feedHubOf } from '../src/http/routes/feed.js';
import type { StoredEvent } from '../src/store/port.js';
import { recordEdgeHistory } from './fixtures/edge-history.js';
import { changesModel, feedModel, loggedFacts, standingOrganizations, type ChangeModel, type LoggedFact } from './fixtures/follow-model.js';
import { openRig, type Rig, type RigMode } from './fixtures/follow-rig.js';
import { TestLog, prng } from './fixtures/history.js';
import { factsOf, followSse, openSse, type SseFollower, type SseReader } from './fixtures/sse.js';
import { until } from './fixtures/when.js';

const knob = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: expected a whole number, got ${process.env[name]}`);
  return v;
};
const RUNS = knob('FOLLOW_RUNS', 4);
/** `threads` (the writer thread's first commit under tap's loader costs ~9 s, at each start) only when asked. */
const MODES: readonly RigMode[] = process.env['FOLLOW_THREADS'] ? ['app', 'log', 'threads'] : ['app', 'log'];
const FIRST_SEED = knob('FOLLOW_SEED', 1 + Math.floor(Math.random() * 1_000_000));
const RESUMED = knob('FOLLOW_RESUMED', 4);
const EVERY = knob('FOLLOW_EVERY', 260);
const WINDOWS = knob('FOLLOW_WINDOWS', 16);

type Json = Record<string, any>;

/** JSON with keys sorted: data read back from two places compares by content. */
const canon = (v: unknown): string => JSON.stringify(v, (_k, x) => (x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

interface Watched {
  what: string;
  org: string | null;
  types: ReadonlySet<string> | null;
  /** Resumed after this position (null: from the start). */
  after: string | null;
  ids(): string[];
  /** The frames as parsed (readers only). */
  frames?: () => { factId: string; type: string; position: string }[];
  close(): void;
}

const ofReader = (r: SseReader, w: Omit<Watched, 'ids' | 'close' | 'frames'>): Watched => ({ ...w, ids: () => r.events.filter((e) => e.event === 'message').map((e) => e.id as string), frames: () => factsOf(r), close: () => r.close() });
const ofFollower = (f: SseFollower, w: Omit<Watched, 'ids' | 'close' | 'frames'>): Watched => ({ ...w, ids: () => f.ids(), close: () => f.stop() });

/** What differs between two lists of positions, said briefly. */
function difference(got: readonly string[], want: readonly string[]): string {
  const g = new Set(got);
  const w = new Set(want);
  const missing = want.filter((p) => !g.has(p));
  const extra = got.filter((p) => !w.has(p));
  const repeated = got.filter((p, i) => got.indexOf(p) !== i);
  const first = want.findIndex((p, i) => got[i] !== p);
  return JSON.stringify({ missing, extra, repeated, firstDifferenceAt: first, got: got.length, want: want.length });
}

async function history(t: Test, mode: RigMode, seed: number, size: number, tally: { streams: number; events: number; windows: number; items: number; partitions: number; short: number }): Promise<void> {
  const gen = new TestLog();
  const world = recordEdgeHistory(gen, size, seed, { growing: true });
  const rnd = prng(seed * 7 + 3);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const [A, B, a1, a2, a11, b1] = world.bodies as [string, string, string, string, string, string];
  const candidates = [...world.bodies, world.states[0] as string];
  const genStanding = new Set(standingOrganizations(loggedFacts(gen.events)));
  const talks = (orgs: readonly string[]): StoredEvent => gen.record('SidelineTalksHeld', { on: '2002-01-01', participants: orgs.map((o) => ({ organization: o })) });
  // With the log as it is, its last fact is known now; the app's is written once it has refused what it refuses.
  if (mode === 'log') talks(candidates.filter((o) => genStanding.has(o)));
  const events = [...gen.events];
  const where = `FOLLOW_SEED=${seed} FOLLOW_SIZE=${size} (${mode})`;
  const rig: Rig = await openRig(mode);
  const watched: Watched[] = [];
  try {
    const feed = (q: string): string => `${rig.url()}/v1/feed${q ? `?${q}` : ''}`;
    const streamsLive = async (n: number): Promise<void> => {
      await until(`${n} streams live`, () => {
        const s = feedHubOf(rig.app())?.stats();
        return s !== undefined && s.streams === n && s.live === n;
      });
    };
    // Before any write: a bare follower.
    watched.push(ofFollower(followSse(() => `${rig.url()}/v1/feed`, ''), { what: 'bare, following from before the first write', org: null, types: null, after: null }));
    await streamsLive(1);
    const registered = events.findIndex((e) => e.metadata['factId'] === b1) + 1;
    await rig.write(events.slice(0, registered));
    // Once the first bodies are registered: a follower of each (and of a state), and one with types=.
    const head = (await rig.head()) as string;
    const early = [A, B, a1, a2, a11, b1, world.states[0] as string].filter((o) => genStanding.has(o));
    for (const o of early) watched.push(ofFollower(followSse(() => `${rig.url()}/v1/feed`, `after=${head}&organization=${o}`), { what: `${o}, following from ${head}`, org: o, types: null, after: head }));
    const liveTypes = new Set(['SidelineTalksHeld', 'OfficeEstablished', 'FactCorrected', 'SessionHeld']);
    watched.push(ofFollower(followSse(() => `${rig.url()}/v1/feed`, `after=${head}&organization=${A}&types=${[...liveTypes].join(',')}`), { what: `${A} types=${[...liveTypes]}, following from ${head}`, org: A, types: liveTypes, after: head }));
    await streamsLive(watched.length);
    // The writes in bursts, a restart halfway.
    const writeInBursts = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; ) {
        const n = 1 + Math.floor(rnd() * 12);
        await rig.write(events.slice(i, Math.min(to, i + n)));
        i += n;
      }
    };
    const half = registered + Math.floor((events.length - registered) / 2);
    await writeInBursts(registered, half);
    await rig.restart();
    // Halfway: streams resumed at random positions, which catch up and then follow the second half live.
    const halfway = await rig.log();
    for (let i = 0; i < RESUMED * 2; i++) {
      const org = rnd() < 0.25 ? null : pick(early);
      const p = pick(['0', ...halfway.map((e) => e.position)]);
      const header = rnd() < 0.5;
      const q = `${org ? `organization=${org}` : ''}${header ? '' : `${org ? '&' : ''}after=${p}`}`;
      watched.push(ofReader(await openSse(feed(q), header ? { 'last-event-id': p } : {}), { what: `${org ?? 'bare'} resumed after ${p} halfway (${header ? 'Last-Event-ID' : 'after='})`, org, types: null, after: p === '0' ? null : p }));
    }
    await writeInBursts(half, events.length);
    let checked: string[];
    if (mode !== 'log') {
      const standing = new Set(standingOrganizations(loggedFacts(await rig.log())));
      checked = candidates.filter((o) => standing.has(o));
      await rig.write([talks(checked)]);
    } else checked = candidates.filter((o) => genStanding.has(o));

    const log = await rig.log();
    const facts = loggedFacts(log);
    const byPosition = new Map(facts.map((f) => [f.position, f]));
    const last = facts.at(-1) as LoggedFact;
    if (last.type !== 'SidelineTalksHeld') t.fail(`${where}: the last fact was refused`);
    // At the end: a catch-up from the start, one with types=, resumptions at random positions; every position of one feed.
    const positions = ['0', ...log.map((e) => e.position)];
    // An organization by its key now and then (as registered: corrections here rename, never re-key).
    const keyOf = new Map(facts.filter((f) => f.type === 'OrganizationRegistered').map((f) => [f.factId, f.data['key'] as string]));
    const named = (org: string): string => (rnd() < 0.3 ? (keyOf.get(org) ?? org) : org);
    // A position as a client may spell it: without the store's left padding, now and then.
    const spelt = (p: string): string => (rnd() < 0.3 ? String(BigInt(p)) : p);
    for (const org of [null, ...checked]) {
      const o = org ? `organization=${named(org)}` : '';
      const and = org ? '&' : '';
      watched.push(ofReader(await openSse(feed(`${o}${and}after=0`)), { what: `${org ?? 'bare'} from the start`, org, types: null, after: null }));
      const types = new Set(['SidelineTalksHeld', ...FACT_TYPES.filter(() => rnd() < 0.35)]);
      watched.push(ofReader(await openSse(feed(`${o}${and}after=0&types=${[...types].join(',')}`)), { what: `${org ?? 'bare'} types=${[...types]} from the start`, org, types, after: null }));
      for (let i = 0; i < RESUMED; i++) {
        const p = pick(positions);
        // Last-Event-ID, with an after= it wins over now and then; or after= alone.
        const header = rnd() < 0.5;
        const both = header && rnd() < 0.3 ? `${and}after=${pick(positions)}` : '';
        const q = header ? `${o}${both}` : `${o}${and}after=${spelt(p)}`;
        watched.push(ofReader(await openSse(feed(q), header ? { 'last-event-id': spelt(p) } : {}), { what: `${q} resumed after ${p} (${header ? 'Last-Event-ID' : 'after='})`, org, types: null, after: p === '0' ? null : p }));
      }
    }
    if (log.length <= EVERY) {
      const org = pick(checked);
      for (const [i, p] of positions.entries()) {
        const header = i % 2 === 0;
        watched.push(ofReader(await openSse(feed(`organization=${org}${header ? '' : `&after=${p}`}`), header ? { 'last-event-id': p } : {}), { what: `${org} resumed after ${p} (every position; ${header ? 'Last-Event-ID' : 'after='})`, org, types: null, after: p === '0' ? null : p }));
      }
    }

    // Every stream is read until the last fact (about every organization checked) arrives.
    const models = new Map<string, string[]>();
    const expected = (w: Watched): string[] => {
      const key = `${w.org}|${w.types ? [...w.types].sort().join(',') : ''}`;
      if (!models.has(key)) models.set(key, feedModel(facts, w.org, w.types));
      return (models.get(key) as string[]).filter((p) => w.after === null || p > w.after);
    };
    const compared = watched.filter((w) => w.org === null || checked.includes(w.org));
    await until('every stream to reach the last fact', () => compared.every((w) => (w.after !== null && w.after >= last.position) || w.ids().includes(last.position)), 60_000, 20).catch(() => undefined);
    const wrong: string[] = [];
    for (const w of compared) {
      const got = w.ids();
      const want = expected(w);
      tally.streams += 1;
      tally.events += got.length;
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        const detail = (p: string) => {
          const f = byPosition.get(p);
          return f ? `${p} ${f.type} ${f.factId} ${JSON.stringify(f.data)}` : p;
        };
        const g = new Set(got);
        const s = new Set(want);
        wrong.push(`${w.what}: ${difference(got, want)}; missing ${want.filter((p) => !g.has(p)).slice(0, 3).map(detail).join(' / ')}; extra ${got.filter((p) => !s.has(p)).slice(0, 3).map(detail).join(' / ')}`);
        continue;
      }
      for (const f of w.frames?.() ?? []) {
        const logged = byPosition.get(f.position);
        if (logged?.factId !== f.factId || logged.type !== f.type) wrong.push(`${w.what}: the frame at ${f.position} is ${f.type} ${f.factId}, the log's ${logged?.type} ${logged?.factId}`);
      }
    }
    t.same(wrong, [], `${where}: ${compared.length} streams equal the model's lists`);

    // GET /v1/changes, every cursor followed.
    const times = [...new Set(facts.map((f) => f.recordedAt))];
    const moment = (): string => new Date(Date.parse(pick(times)) + pick([-1, 0, 0, 0, 1])).toISOString();
    const registeredAt = new Map(facts.filter((f) => f.type === 'OrganizationRegistered').map((f) => [f.factId, f.recordedAt]));
    const shown = (c: Json | ChangeModel): string => (c.kind === 'recorded' ? `${c.factId}:recorded` : `${c.factId}:${c.kind}:${typeof c.fact === 'string' ? c.fact : c.fact?.factId} ${canon(c.before)} ${canon(c.after)}`);
    /** Every page of a window (`until` null: omitted, now, pinned by the cursor); null: 404. */
    const pages = async (since: string, until: string | null, org: string | null): Promise<{ items: Json[]; until: string } | null> => {
      const limit = pick([1, 2, 3, 5, 50]);
      const base = `/v1/changes?since=${since}${until ? `&until=${until}` : ''}${org ? `&organization=${org}` : ''}&limit=${limit}`;
      const items: Json[] = [];
      let echoed = until ?? '';
      for (let url: string | null = base; url !== null; ) {
        const r = await rig.app().inject({ url });
        if (r.statusCode === 404 && items.length === 0) return null;
        if (r.statusCode !== 200) throw new Error(`${where}: ${url}: ${r.statusCode} ${r.body}`);
        const body = r.json() as Json;
        if (body['changes'].length > limit) throw new Error(`${where}: ${url}: ${body['changes'].length} items over the limit ${limit}`);
        items.push(...body['changes']);
        if (body['until'] !== (echoed || body['until'])) throw new Error(`${where}: ${url}: until ${body['until']}, the first page's ${echoed}`);
        echoed = body['until'];
        url = body['nextCursor'] ? `${base}&cursor=${encodeURIComponent(body['nextCursor'])}` : null;
      }
      const keys = items.map((c) => `${c.recordedAt}|${c.position}`);
      for (let i = 1; i < keys.length; i++) if (!((keys[i - 1] as string) < (keys[i] as string))) throw new Error(`${where}: changes in (${since}, ${until}] ${org ?? ''}: out of order or repeated at ${i}: ${keys[i - 1]} then ${keys[i]}`);
      return { items, until: echoed };
    };
    const check = async (since: string, asked: string | null, org: string | null): Promise<Json[] | null> => {
      const got = await pages(since, asked, org);
      const until = got?.until ?? (asked as string);
      const known = org === null || (registeredAt.get(org) ?? '\uffff') <= until;
      const want = known ? changesModel(facts, since, until, org).map(shown) : null;
      tally.windows += 1;
      tally.items += got?.items.length ?? 0;
      t.same(got?.items.map(shown) ?? null, want, `${where}: changes in (${since}, ${asked ?? `now: ${until}`}]${org ? ` about ${org}` : ''}`);
      return got?.items ?? null;
    };
    for (let i = 0; i < WINDOWS; i++) {
      const [since, until] = [moment(), moment()].sort() as [string, string];
      await check(since, rnd() < 0.15 ? null : until, rnd() < 0.3 ? null : pick(checked));
    }
    // Consecutive windows: unfiltered, their pages make the whole window's; about an organization,
    // each is its own (the scope known at its end), and together a part of the whole's.
    for (const org of [null, pick(checked)]) {
      const cuts = [...new Set(Array.from({ length: 3 + Math.floor(rnd() * 4) }, moment))].sort();
      if (cuts.length < 2) continue;
      const whole = await check(cuts[0] as string, cuts.at(-1) as string, org);
      const parts: Json[] = [];
      for (let i = 1; i < cuts.length; i++) parts.push(...((await check(cuts[i - 1] as string, cuts[i] as string, org)) ?? []));
      tally.partitions += 1;
      const ids = parts.map(shown);
      if (org === null) t.same(ids, whole?.map(shown) ?? null, `${where}: consecutive windows ${cuts.join(' ')} make the whole`);
      else {
        const all = (whole ?? []).map(shown);
        let at = 0;
        for (const id of ids) at = all.indexOf(id, at) + 1;
        t.ok(ids.every((id) => all.includes(id)) && at <= all.length, `${where}: ${org}'s consecutive windows are a part of the whole's`);
        if (ids.length < all.length) tally.short += 1;
      }
    }
  } finally {
    for (const w of watched) w.close();
    await rig.close();
  }
}

t.test('the feed and the changes equal the brute-force answers on edge histories, both ways of recording, across a restart', async (t) => {
  const tally = { streams: 0, events: 0, windows: 0, items: 0, partitions: 0, short: 0 };
  t.comment(`FOLLOW_SEED=${FIRST_SEED} (the first history's; the next ones' count on from it)`);
  let runs = 0;
  for (let i = 0; i < RUNS; i++) {
    runs += 1;
    const seed = FIRST_SEED + i;
    const size = knob('FOLLOW_SIZE', 120 + (seed % 81));
    const started = performance.now();
    const mode = (process.env['FOLLOW_MODE'] as RigMode | undefined) ?? MODES[i % MODES.length] as RigMode;
    await history(t, mode, seed, size, tally);
    t.comment(`FOLLOW_SEED=${seed} FOLLOW_SIZE=${size} (${mode}): ${Math.round(performance.now() - started)} ms`);
    if (t.counts.fail > 0) break;
  }
  t.comment(`${runs} histories: ${tally.streams} streams (${tally.events} events), ${tally.windows} windows of changes (${tally.items} items), ${tally.partitions} partitions (${tally.short} about an organization short of the whole window)`);
});
