/**
 * GET /v1/feed under load and across a restart: N subscribers follow the feed from the start
 * while W writers record F facts; halfway the server is stopped and a new runtime opened on the
 * same data dir (another port); the subscribers reconnect with Last-Event-ID as EventSource
 * does. Each must end with exactly the log's facts, in order: none missed, none repeated.
 * Sizes: ANNALS_TEST_FEED_SUBSCRIBERS (default 20), ANNALS_TEST_FEED_WRITERS (4),
 * ANNALS_TEST_FEED_FACTS (600); the size is 200, 16, 20000 (README, "Tests").
 * Also: the npm `eventsource` client resuming with Last-Event-ID.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import t from 'tap';
import { isFactType } from '../events/index.js';
import { startTestApp, type TestApp } from './fixtures/app.js';
import { organization, person } from './fixtures/facts.js';
import { listen } from './fixtures/raw-http.js';
import { followSse } from './fixtures/sse.js';
import { until as waitUntil } from './fixtures/when.js';

const size = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${process.env[name]}`);
  return v;
};

async function record(a: TestApp, body: unknown): Promise<Record<string, unknown>> {
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: body as object });
  if (res.statusCode !== 201) throw new Error(`record: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** An app whose closing the test decides (the restart), not the test's teardown. */
async function startApp(dataDir: string): Promise<{ a: TestApp; port: number; close: () => Promise<void> }> {
  let close: () => Promise<void> = async () => undefined;
  const a = await startTestApp({ teardown: (fn) => (close = async () => void (await fn())) }, { dataDir });
  return { a, port: await listen(a.app), close: () => close() };
}

t.test('N subscribers, W writers, one restart: every subscriber gets exactly the log, in order', async (t) => {
  const subscribers = size('ANNALS_TEST_FEED_SUBSCRIBERS', 20);
  const writers = size('ANNALS_TEST_FEED_WRITERS', 4);
  const facts = size('ANNALS_TEST_FEED_FACTS', 600);
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-feed-restart-'));
  let server = await startApp(dataDir);
  t.teardown(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const started = performance.now();
  const feedUrl = (): string => `http://127.0.0.1:${server.port}/v1/feed`;
  // Half follow from the start; the other half start from after=0 at a quarter and at three
  // quarters of the run, so they catch up from the log while writes go on and then join live.
  const followers = Array.from({ length: Math.ceil(subscribers / 2) }, () => followSse(feedUrl, 'after=0'));
  const late = (): void => {
    for (let k = 0; k < Math.floor(subscribers / 4); k++) followers.push(followSse(feedUrl, 'after=0'));
  };

  // Writers take numbers from one counter; halfway, they wait at the gate while the server restarts.
  let next = 0;
  let gate: Promise<void> | null = null;
  const inFlight = new Set<Promise<unknown>>();
  let restartedAt = -1;
  const restart = async (): Promise<void> => {
    await Promise.all([...inFlight]);
    await server.close();
    server = await startApp(dataDir);
  };
  const writer = async (): Promise<void> => {
    while (next < facts) {
      if (gate) await gate;
      if (next >= facts) break;
      const i = next++;
      if (i === Math.floor(facts / 4)) late();
      if (i === Math.floor((3 * facts) / 4)) {
        late();
        while (followers.length < subscribers) followers.push(followSse(feedUrl, 'after=0'));
      }
      if (i === Math.floor(facts / 2)) {
        restartedAt = i;
        gate = restart();
        await gate;
        gate = null;
      }
      const p = record(server.a, i % 2 === 0 ? organization(`r-${i}`) : person(`r-${i}`, `Person ${i}`));
      inFlight.add(p);
      await p.finally(() => inFlight.delete(p));
    }
  };
  await Promise.all(Array.from({ length: writers }, () => writer()));
  const wrote = performance.now();

  const log = (await server.a.runtime.store.readAll()).filter((e) => isFactType(e.type)).map((e) => e.position);
  t.equal(log.length, facts, 'the log holds every fact recorded');
  await Promise.all(followers.map((f) => f.until(() => f.ids().length >= log.length, 30_000 + facts * 10)));
  const done = performance.now();
  let exact = 0;
  for (const f of followers) {
    f.stop();
    if (JSON.stringify(f.ids()) === JSON.stringify(log)) exact++;
    else t.same(f.ids(), log, 'a subscriber got exactly the log');
  }
  t.equal(exact, subscribers, `all ${subscribers} subscribers got exactly the log's ${facts} facts in order`);
  t.equal(followers.length, subscribers);
  t.ok(restartedAt >= 0 && followers.slice(0, Math.ceil(subscribers / 2) + Math.floor(subscribers / 4)).every((f) => f.reconnects >= 1), 'the server restarted once mid-run and every subscriber connected before it reconnected');
  t.comment(`${subscribers} subscribers, ${writers} writers, ${facts} facts, restart at fact ${restartedAt}: written in ${((wrote - started) / 1000).toFixed(1)} s, all delivered ${((done - started) / 1000).toFixed(1)} s after the start`);
});

t.test('the eventsource client from npm resumes with Last-Event-ID', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'annals-feed-es-'));
  let server = await startApp(dataDir);
  t.teardown(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const before = [];
  for (let i = 0; i < 5; i++) before.push((await record(server.a, organization(`e-${i}`)))['position'] as string);
  const got: string[] = [];
  const sentIds: Array<string | null> = [];
  let opens = 0;
  // The client's own fetch, watched: what Last-Event-ID it sends on each (re)connection.
  const es = new EventSource(`http://127.0.0.1:${server.port}/v1/feed?after=0`, {
    fetch: (input, init) => {
      sentIds.push(new Headers(init?.headers).get('last-event-id'));
      // The restarted server listens on another port: the client follows it there (a proxy in front would, in production).
      const url = new URL(String(input));
      url.port = String(server.port);
      return fetch(url, init);
    },
  });
  es.onopen = () => opens++;
  es.onmessage = (m) => got.push(m.lastEventId);
  const until = (pred: () => boolean): Promise<void> =>
    waitUntil('the client to see the events', pred, 20_000).catch(() => {
      throw new Error(`timed out: ${got.length} events, ${opens} opens`);
    });
  await until(() => got.length === 5);
  t.same(got, before, 'the log so far, ids the positions');

  // The server restarts; facts are recorded while the client is away.
  await server.close();
  server = await startApp(dataDir);
  const after = [];
  for (let i = 0; i < 3; i++) after.push((await record(server.a, person(`e-p${i}`, `P ${i}`)))['position'] as string);
  await until(() => got.length === 8);
  es.close();
  t.same(got, [...before, ...after], 'after reconnecting: the rest, nothing repeated');
  t.ok(opens >= 2, 'it reconnected on its own');
  t.equal(sentIds[0], null, 'the first connection sent no Last-Event-ID');
  t.equal(sentIds.at(-1), before.at(-1), 'the reconnection sent Last-Event-ID: the last position it had');
});
