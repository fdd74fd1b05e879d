/**
 * GET /v1/feed?organization=: the facts about an organization, its bodies, offices, sessions
 * and documents, with the corrections and retractions of such facts (feed-organization.ts).
 * The record below is built so that each way in or out of the scope happens once, and each
 * fact is marked by hand as about the organization or not. The same list must come from a
 * catch-up from the start, a stream that follows live, a resumption at every position of the
 * log (key reservations included), with types= too, and across a restart of the server.
 * An organization retracted while followed: a resumed stream goes on with it (the session-46
 * review of the following side found it answered 404, so the follower missed the retraction).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isFactType } from '../events/index.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { appointed, considered, corrected, leftOffice, membership, office, organization, person, retracted, session, type FactBody } from './fixtures/facts.js';
import { OrganizationFilter } from '../src/http/routes/feed-organization.js';
import { listen } from './fixtures/raw-http.js';
import { factsOf, followSse, openSse, type SseReader } from './fixtures/sse.js';

interface Recorded {
  factId: string;
  position: string;
  type: string;
  about: boolean;
  label: string;
}

async function record(a: TestApp, body: FactBody): Promise<{ factId: string; position: string }> {
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: body as object });
  if (res.statusCode !== 201) throw new Error(`record ${body.type}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** The data of a fact as it stands (ids, not keys), to build a correction from. */
async function current(a: TestApp, factId: string): Promise<Record<string, unknown>> {
  return (await a.app.inject({ url: `/v1/facts/${factId}` })).json().current;
}

/** Records the story; `about` is what the feed must decide for each fact. */
async function story(a: TestApp, out: Recorded[], registered: () => Promise<void> = async () => undefined): Promise<void> {
  const add = async (label: string, body: FactBody, about: boolean): Promise<string> => {
    const r = await record(a, body);
    out.push({ factId: r.factId, position: r.position, type: body.type, about, label });
    return r.factId;
  };
  const org = await add('the organization', organization('o-org'), true);
  await registered();
  const x = await add('another organization', organization('o-x'), false);
  await add('an office of it', office('o-sg', 'o-org'), true);
  const xsg = await add("the other's office", office('o-xsg', 'o-x'), false);
  await add("the other's second office", office('o-x2', 'o-x'), false);
  const body = await add('a body of it (parent)', organization('o-body', { parent: 'o-org' }), true);
  await add('a person', person('o-alice', 'Alice'), false);
  await add('another person', person('o-bob', 'Bob'), false);
  const s1 = await add("a session of the body", session(undefined, 'o-body', { from: '2025-01-10' }), true);
  await add("a document of the body's session", considered(undefined, 'o-body', s1), true);
  const a1 = await add('an appointment to its office', appointed('o-sg', 'o-alice', { from: '2020-01-01' }), true);
  const a2 = await add("an appointment to the other's office", appointed('o-xsg', 'o-bob', { from: '2021-01-01' }), false);
  const m = await add("a membership of the other, naming it as member (the other's stream)", membership('o-x', 'o-org', '2019-05-01'), true);
  await add('a correction of a fact about it', corrected(a1, { ...(await current(a, a1)), term: { from: '2020-02-01' } }), true);
  await add('a correction of a fact not about it', corrected(a2, { ...(await current(a, a2)), term: { from: '2021-02-01' } }), false);
  await add('a retraction of a fact about it', retracted(m), true);
  const xsgData = await current(a, xsg);
  await add("a correction moving the other's office under its body", corrected(xsg, { ...xsgData, organization: body }), true);
  await add('a correction of an appointment to that office, now in scope', corrected(a2, { ...(await current(a, a2)), term: { from: '2021-03-01' } }), true);
  await add('a correction moving the office back (a version named the body)', corrected(xsg, { ...xsgData, organization: x }), true);
  await add('a departure from that office after (nothing leaves the scope)', leftOffice('o-xsg', 'o-bob', '2023-12-31'), true);
  await add('a correction making the other a body of it', corrected(x, { ...(await current(a, x)), parent: org }), true);
  await add("an appointment to the other's second office (in scope through its organization)", appointed('o-x2', 'o-bob', { from: '2022-01-01' }), true);
  const y = await add('a third organization', organization('o-y'), false);
  await add('a membership in the other, now a body of it', membership('o-x', y, '2023-01-01'), true);
  await add('a third person', person('o-carol', 'Carol'), false);
}

const positionsAfter = (facts: Recorded[], after: string | null): string[] => facts.filter((f) => f.about && (after === null || f.position > after)).map((f) => f.position);

t.test('organization=: exactly the facts about it, from the log, live, and resumed at every position', async (t) => {
  const a = await startTestApp(t);
  const port = await listen(a.app);
  const url = (q: string): string => `http://127.0.0.1:${port}/v1/feed?${q}`;
  t.equal((await a.app.inject({ url: '/v1/feed?organization=o-org' })).statusCode, 404, 'an organization not known now: 404');
  const facts: Recorded[] = [];
  // A stream that follows live from the organization's registration on: every decision it
  // makes after that is made on the hub's live path (or by leaving it for an amendment).
  let live: SseReader | null = null;
  await story(a, facts, async () => {
    live = await openSse(url('organization=o-org'));
  });
  const about = facts.filter((f) => f.about);
  const org = facts.find((f) => f.label === 'the organization')!;

  const fromStart = await openSse(url('after=0&organization=o-org'));
  await fromStart.until(() => fromStart.events.length >= about.length);
  t.same(
    factsOf(fromStart).map((f) => f.position),
    about.map((f) => f.position),
    'from the start: exactly the facts marked about it, in log order',
  );
  t.same(factsOf(fromStart).map((f) => f.type), about.map((f) => f.type));
  const byKey = await openSse(url(`after=0&organization=${org.factId}`));
  await byKey.until(() => byKey.events.length >= about.length);
  t.same(byKey.events.map((e) => e.id), about.map((f) => f.position), 'by id as by key');

  const following = live as SseReader | null;
  t.equal(following?.status, 200);
  const liveWant = positionsAfter(facts, org.position);
  await following!.until(() => following!.events.filter((e) => e.id !== org.position).length >= liveWant.length);
  t.same(
    following!.events.map((e) => e.id).filter((id) => id !== org.position),
    liveWant,
    'live from its registration on (amendments leave the hub and catch up): the same facts, in order',
  );

  const withTypes = await openSse(url('after=0&organization=o-org&types=FactCorrected,FactRetracted,OfficialAppointed'));
  const typed = about.filter((f) => ['FactCorrected', 'FactRetracted', 'OfficialAppointed'].includes(f.type));
  await withTypes.until(() => withTypes.events.length >= typed.length);
  t.same(withTypes.events.map((e) => e.id), typed.map((f) => f.position), 'with types=: both apply (the scope still grows through facts types= leaves out)');

  // Resumed at every position of the log, key reservations included: then one last fact.
  const log = (await a.runtime.store.readAll()).map((e) => e.position);
  t.ok(log.length > facts.length, 'the log holds bookkeeping events between the facts');
  const resumed = await Promise.all(log.map((p) => openSse(url('organization=o-org'), { 'last-event-id': p })));
  const end = await record(a, office('o-end', 'o-body'));
  for (const [i, r] of resumed.entries()) {
    await r.until(() => r.events.at(-1)?.id === end.position);
    t.same(r.events.map((e) => e.id), [...positionsAfter(facts, log[i]!), end.position], `resumed after ${log[i]}`);
  }
  t.pass(`${resumed.length} resumptions`);
  for (const r of [following!, fromStart, byKey, withTypes, ...resumed]) r.close();

  for (const [query, status] of [
    ['organization=', 400],
    ['organization=nobody', 404],
  ] as const) {
    const res = await a.app.inject({ url: `/v1/feed?${query}` });
    t.equal(res.statusCode, status, query);
    t.match(res.headers['content-type'], /application\/problem\+json/);
  }
});

t.test('organization= across a restart: a follower resuming with Last-Event-ID misses nothing and repeats nothing', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-feed-org-'));
  let close: () => Promise<void> = async () => undefined;
  const start = async (): Promise<{ a: TestApp; port: number }> => {
    const a = await startTestApp({ teardown: (fn) => (close = async () => void (await fn())) }, { dataDir });
    return { a, port: await listen(a.app) };
  };
  let server = await start();
  t.teardown(async () => {
    await close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const facts: Recorded[] = [];
  await story(server.a, facts);
  const follower = followSse(() => `http://127.0.0.1:${server.port}/v1/feed`, 'after=0&organization=o-org');
  const before = positionsAfter(facts, null);
  await follower.until(() => follower.ids().length >= before.length);

  await close();
  server = await start();
  // After the restart: a fact about it, one not, and a correction that brings a fact of another organization in.
  const more: Recorded[] = [];
  const add = async (label: string, body: FactBody, about: boolean): Promise<string> => {
    const r = await record(server.a, body);
    more.push({ ...r, type: body.type, about, label });
    return r.factId;
  };
  const z = await add('an organization', organization('o-z'), false);
  await add('an office of the body', office('o-late', 'o-body'), true);
  const zm = await add('a membership of it in the organization', membership('o-z', 'o-y', '2024-01-01'), false);
  const data = (await server.a.app.inject({ url: `/v1/facts/${zm}` })).json().current;
  const org = facts.find((f) => f.label === 'the organization')!.factId;
  await add('a correction naming the organization instead', corrected(zm, { ...data, member: org }), true);
  // The last fact of the log is about it: once it arrives, a fact sent that should not have
  // been is already there too (the feed keeps the log's order).
  await add('a last office of the body', office('o-last', 'o-body'), true);
  t.ok(z);
  const want = [...before, ...positionsAfter(more, null)];
  await follower.until(() => follower.ids().at(-1) === want.at(-1));
  follower.stop();
  t.same(follower.ids(), want, 'exactly the facts about it, across the restart');
  t.ok(follower.reconnects >= 1, 'it reconnected after the restart');
  const log = (await server.a.runtime.store.readAll()).filter((e) => isFactType(e.type));
  t.equal(log.length, facts.length + more.length);
});

t.test('read models that do not reach a position in time: the decision fails, once for that event', async (t) => {
  let asked = 0;
  const f = new OrganizationFilter('01KB19R500EXAMP1E000000001', {
    store: { readStream: async () => [] },
    readModels: { queries: undefined as never, waitFor: async () => (asked++, false) },
    waitMs: 5,
  });
  const e = { id: 'e', stream: 'organization-01KB19R500EXAMP1E000000001', revision: 0, position: '00000000000000000001', type: 'OrganizationRegistered' as const, data: { key: 'x', name: 'X' }, metadata: { factId: '01KB19R500EXAMP1E000000001' }, recordedAt: '2025-01-01T00:00:00.000Z' };
  const w = f.wants(e);
  t.ok(w instanceof Promise, 'the first event needs the read models');
  await t.rejects(w as Promise<boolean>, /did not reach position 00000000000000000001 within 5 ms/);
  t.equal(f.wants(e), w, 'the live path and the catch-up after it share one decision');
  t.equal(asked, 1);
});

t.test('an organization retracted while followed: a resumed stream goes on (its retraction, then its bodies), a new live one is a 404', async (t) => {
  const a = await startTestApp(t);
  const port = await listen(a.app);
  const url = (q: string): string => `http://127.0.0.1:${port}/v1/feed?${q}`;
  const org = await record(a, organization('r-org'));
  await record(a, organization('r-body', { parent: 'r-org' }));
  const seen = await record(a, session(undefined, 'r-body', { from: '2025-01-10' }));
  const gone = await record(a, retracted(org.factId));
  const later = await record(a, session(undefined, 'r-body', { from: '2025-02-10' }));
  t.equal((await a.app.inject({ url: '/v1/feed?organization=r-org' })).statusCode, 404, 'not known now: a stream from now on is a 404');
  for (const [how, headers, q] of [
    ['Last-Event-ID, by key', { 'last-event-id': seen.position }, 'organization=r-org'],
    ['after=, by id', {}, `after=${seen.position}&organization=${org.factId}`],
  ] as const) {
    const resumed = await openSse(url(q), headers);
    t.equal(resumed.status, 200, `${how}: resumed after the last fact it got (was a 404: it missed the retraction)`);
    await resumed.until(() => resumed.events.length >= 2);
    t.same(resumed.events.map((e) => e.id), [gone.position, later.position], `${how}: the retraction, then a session of its body`);
    resumed.close();
  }
  const fromStart = await openSse(url('after=0&organization=r-org'));
  await fromStart.until(() => fromStart.events.length >= 5);
  t.equal(fromStart.events.length, 5, 'a catch-up from the start too: every fact about it');
  fromStart.close();
  t.equal((await a.app.inject({ url: '/v1/feed?after=0&organization=r-nobody' })).statusCode, 404, 'a key never registered is still a 404');
});
