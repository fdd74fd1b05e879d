/**
 * The writer hands what it commits to the log's followers (src/store/sqlite-writer-feed.ts):
 * a follower's subscription takes the handed batches instead of reading the rows back, reads
 * the log for what it was not handed (events before it was connected, another connection's
 * commits, a batch that starts past its next position), and never misses or repeats one,
 * across a restart of the writer thread.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import type { StoredEvent, Subscription } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { ChangeNotifier, PagingSubscription, type PageSource } from '../src/store/sqlite-subscription.js';
import { CommittedFeed, encodeCommitted, postCommitted, storedText } from '../src/store/sqlite-writer-feed.js';
import type { StoredRow } from '../src/store/sqlite-writer.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { until } from './fixtures/when.js';

const ev = (n: number) => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'Tested', data: { n, b: 'x', a: [n] }, metadata: { by: 'test' } });

/** Collects what a subscription yields, and waits until it has `n` events. */
function collector(sub: Subscription): { got: StoredEvent[]; until(n: number): Promise<void> } {
  const got: StoredEvent[] = [];
  let want = Infinity;
  let wake = null as (() => void) | null;
  void (async () => {
    for await (const e of sub) {
      got.push(e);
      if (got.length >= want) wake?.();
    }
  })();
  return {
    got,
    until: (n) =>
      got.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            want = n;
            const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${n} events after 10 s`)), 10_000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  };
}

t.test('a follower takes the handed commits, reads the rest from the log, in order, none twice', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-feed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'events.db');
  const sealKey = randomBytes(32);
  // Five events before any follower is connected.
  const early = openSqliteStore(path, { writer: 'inline', sealKey });
  for (let i = 1; i <= 5; i++) await early.append('s-early', [ev(i)], i === 1 ? 'no_stream' : i - 2);
  await early.close();

  const writer = openSqliteStore(path, { writer: 'thread', sealKey });
  const feed = new CommittedFeed();
  const follower = openSqliteStore(path, { readOnly: true, sealKey, feed });
  t.teardown(async () => {
    await follower.close();
    await writer.close();
  });
  t.ok(writer.handCommitted('test', (port) => feed.attach(port)), 'the writer thread can hand its commits');
  t.notOk(follower.handCommitted('test', () => undefined), 'a store without a writer thread cannot');
  const c = collector(follower.checked().subscribe());
  await c.until(5);
  t.ok(c.got.every((e) => storedText(e) === undefined), 'what was committed before the feed is read from the log');

  // Concurrent appends: several commits, each handed.
  await Promise.all(Array.from({ length: 10 }, (_, k) => writer.append(`s-${k}`, [ev(100 + 2 * k), ev(101 + 2 * k)], 'no_stream')));
  await c.until(25);
  const handed = c.got.slice(5);
  t.ok(handed.every((e) => storedText(e) !== undefined), 'every later event came from the writer, none read back');
  t.ok(handed.every((e) => e.integrity === 'sealed'), 'sealed by the writer that handed it');
  const fromLog = await follower.checked().readAll({ after: c.got[4]!.position });
  t.same(handed, fromLog, 'the same events as the log holds, field by field');

  // Another connection commits: nobody hands that; it is read from the log.
  const other = openSqliteStore(path, { writer: 'inline', sealKey });
  await other.append('s-other', [ev(500)], 'no_stream');
  await other.close();
  await c.until(26);
  t.equal(storedText(c.got[25]!), undefined, "another connection's commit is read from the log");
  await writer.append('s-after', [ev(501)], 'no_stream');
  await c.until(27);
  t.not(storedText(c.got[26]!), undefined, 'and the next handed batch is taken again');

  // The writer thread dies: the next append starts one, connected again.
  const thread = [...runningWorkers()].find(([, label]) => label === 'store writer')?.[0];
  t.ok(thread, 'the writer thread runs');
  await thread!.terminate();
  await writer.append('s-restart', [ev(600)], 'no_stream').catch(() => writer.append('s-restart', [ev(600)], 'no_stream'));
  await c.until(28);
  t.not(storedText(c.got[27]!), undefined, 'a restarted writer thread hands its commits too');

  const positions = c.got.map((e) => Number(e.position));
  t.same(positions, Array.from({ length: 28 }, (_, i) => i + 1), 'positions 1..28, in order, none missing, none twice');
});

t.test('a batch past the next position is a gap to read; one already had is dropped', async (t) => {
  const feed = new CommittedFeed();
  const { port1, port2 } = new MessageChannel();
  feed.attach(port2);
  t.teardown(() => {
    feed.close();
    port1.close();
  });
  t.ok(feed.live);
  const rows = (from: number, to: number): StoredRow[] => Array.from({ length: to - from + 1 }, (_, i) => [from + i, `id-${from + i}`, 's', from + i, 'T', '{"b":1,"a":2}', '{}', '2026-01-01T00:00:00.000Z']);
  const ports = new Map([['t', port1]]);
  for (const [a, b] of [[1, 3], [4, 6], [8, 9], [10, 12]] as const) {
    const arrived = feed.arrival().wait;
    postCommitted(ports, encodeCommitted(rows(a, b), false));
    await arrived;
  }
  const positions = (x: ReturnType<CommittedFeed['take']>) => (x === null || x === 'gap' ? x : x.events.map((e) => Number(e.position)));
  t.same(positions(feed.take(2, false)), [3], 'a batch the follower partly has: only what follows');
  t.same(positions(feed.take(3, false)), [4, 5, 6]);
  t.equal(feed.take(6, false), 'gap', 'position 7 was never handed: read the log');
  t.same(positions(feed.take(8, false)), [9], 'after reading up to 8 from the log, the rest of the batch');
  t.same(positions(feed.take(12, false)), null, 'a batch it already has is dropped');
  const gone = feed.arrival().wait;
  port1.close();
  await gone;
  t.notOk(feed.live, 'the writer gone, the follower reads the log');
});

t.test('while handed batches follow on, the log is looked at once per FEED_GRACE_MS, not once per batch; a commit not handed is still read', async (t) => {
  const feed = new CommittedFeed();
  const { port1, port2 } = new MessageChannel();
  feed.attach(port2);
  const ports = new Map([['t', port1]]);
  // The log: what the writer committed (and handed), and what another connection committed (not handed).
  let logHead = 0;
  const looks = { head: 0, dataVersion: 0 };
  const stored = (n: number): StoredEvent => ({ id: `id-${n}`, stream: 's', revision: n, position: String(n).padStart(20, '0'), type: 'T', data: {}, metadata: {}, recordedAt: '2026-01-01T00:00:00.000Z' });
  const source: PageSource = {
    readPage: (after, limit) => {
      const events: StoredEvent[] = [];
      for (let n = after + 1; n <= logHead && events.length < limit; n++) events.push(stored(n));
      return { events, scannedTo: events.length > 0 ? after + events.length : after };
    },
    dataVersion: () => {
      looks.dataVersion++;
      return logHead;
    },
    head: () => {
      looks.head++;
      return logHead;
    },
  };
  const notifier = new ChangeNotifier(() => logHead, 10);
  const sub = new PagingSubscription(source, notifier, { after: 0, types: undefined, pageSize: 100, feed: { feed, checksSeals: false } }, () => undefined);
  t.teardown(async () => {
    await sub.close();
    notifier.stop();
    feed.close();
    port1.close();
  });
  const c = collector(sub);
  const row = (n: number): StoredRow => [n, `id-${n}`, 's', n, 'T', '{}', '{}', '2026-01-01T00:00:00.000Z'];
  // Caught up on an empty log, then 30 commits handed one after the other, each within the grace.
  await until('the subscription looked at the empty log once', () => looks.head > 0 || looks.dataVersion > 0);
  const before = looks.head;
  const started = Date.now();
  for (let n = 1; n <= 30; n++) {
    logHead = n;
    postCommitted(ports, encodeCommitted([row(n)], false));
    await c.until(n);
  }
  // At most one look per 100 ms (FEED_GRACE_MS) that passed, plus the first; once per batch before.
  const allowed = Math.ceil((Date.now() - started) / 100) + 1;
  t.ok(looks.head - before <= allowed, `the head was read ${looks.head - before} times for 30 handed batches in ${Date.now() - started} ms (at most ${allowed})`);
  t.ok(c.got.every((e) => storedText(e) !== undefined), 'every event came from the handed batches');
  // Another connection commits 31; nothing is handed: it is read from the log after the grace.
  logHead = 31;
  await c.until(31);
  t.equal(storedText(c.got[30]!), undefined, 'the commit nobody handed is read from the log');
  t.same(c.got.map((e) => Number(e.position)), Array.from({ length: 31 }, (_, i) => i + 1), 'in order, none missing, none twice');
});
