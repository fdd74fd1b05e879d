/**
 * The service on a three-node EventStoreDB cluster of protocol doubles: discovery through
 * gossip (`esdb+discover://`), a follower's NotLeader, the leader stopped while 16 clients
 * record (503 with Retry-After during the election, every fact in the log exactly once,
 * subscriptions resuming on the new leader without gaps or repeats, read models equal to a
 * rebuild), and scale-out: two API processes, each with its own read models, one answering
 * what the other recorded when asked with the write's minPosition.
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient, NotLeaderError, jsonEvent } from '@eventstore/db-client';
import { pino } from 'pino';
import t from 'tap';
import { rebuildReadModels } from '../projections/index.js';
import { openEsdbStore } from '../src/store/esdb.js';
import type { StoredEvent } from '../src/store/port.js';
import { startTestApp } from './fixtures/app.js';
import { startEsdbCluster } from './fixtures/esdb-double-cluster.js';
import { when } from './fixtures/when.js';
import { dumpTables } from './fixtures/history.js';
import { startServer } from './fixtures/node-child.js';

// Servers, clusters and child processes make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 20-30; a hang is still caught at 600 s.
t.setTimeout(600_000);

const SOURCE = { title: 'Cluster test', publisher: 'tests' };
const fast = { retry: { initialDelayMs: 20, maxDelayMs: 200 } };
// deliberate sleep: a client honouring the server's Retry-After, which is what the cluster test checks
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('esdb+discover:// finds the leader through gossip; a follower answers NotLeader, naming the leader, to what requires-leader', async (t) => {
  const cluster = await startEsdbCluster();
  t.teardown(() => cluster.close());
  const store = await openEsdbStore(cluster.connectionString, fast);
  t.teardown(() => store.close());
  const r = await store.append('discovered', [{ id: crypto.randomUUID(), type: 'A', data: {}, metadata: {} }], 'no_stream');
  t.equal(r.nextRevision, 0, 'written through the discovered leader');
  const follower = cluster.nodes[1]!;
  const direct = EventStoreDBClient.connectionString(follower.connectionString);
  t.teardown(() => direct.dispose());
  const err = await direct.appendToStream('direct', jsonEvent({ type: 'B', data: {} }), { requiresLeader: true }).catch((e: unknown) => e);
  t.ok(err instanceof NotLeaderError, 'a write that requires the leader: NotLeader');
  t.same((err as NotLeaderError).leader, { address: '127.0.0.1', port: cluster.nodes[0]!.port }, "with the leader's endpoint");
  const forwarded = await EventStoreDBClient.connectionString(follower.connectionString).appendToStream('forwarded', jsonEvent({ type: 'C', data: {} }));
  t.equal(forwarded.success, true, 'without requires-leader, a follower forwards the write to the leader');
});

t.test('during an election (no leader: writes are "not ready") a write is a 503 with Retry-After (here the decision\'s read already finds no node to use); the same fact sent again after the election is recorded once', async (t) => {
  const cluster = await startEsdbCluster();
  t.teardown(() => cluster.close());
  const store = await openEsdbStore(`${cluster.connectionString}&maxDiscoverAttempts=2&discoveryInterval=50`, fast);
  const { app, auth } = await startTestApp(t, { store });
  const post = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload });
  const before = await post({ type: 'PersonRegistered', data: { key: 'e-person', name: 'Before the election' }, source: SOURCE });
  t.equal(before.statusCode, 201, before.body);

  let endElection!: () => void;
  const electing = cluster.stopLeader(new Promise<void>((r) => (endElection = r)));
  t.equal(cluster.leader(), null, 'no node leads while the election lasts');
  const fact = { type: 'PersonRegistered', factId: '01KB19R5E1EC710N000000000A', data: { key: 'e-during', name: 'During the election' }, source: SOURCE };
  const during = await post(fact);
  t.equal(during.statusCode, 503, during.body);
  t.equal(during.headers['retry-after'], '1', 'with Retry-After');
  t.equal(during.headers['content-type'], 'application/problem+json; charset=utf-8');

  endElection();
  t.not(await electing, 0, 'another node leads');
  const after = await post(fact);
  t.ok(after.statusCode === 201 || after.statusCode === 200, `the same fact sent again is answered (${after.statusCode}): ${after.body}`);
  const copies = (await store.readAll()).filter((e) => e.metadata['factId'] === fact.factId);
  t.equal(copies.length, 1, 'in the log exactly once, whether or not the write during the election reached it');
});

t.test('the leader stopped while 16 clients record: 503 with Retry-After during the election, every fact once, subscriptions resume without gaps or repeats, read models equal a rebuild', async (t) => {
  // An election longer than the recorder's own resends (about 2.6 s of waits, plus the client's
  // discovery on each: cut to two quick attempts here, 10 x 100 ms by default), so clients see the 503.
  const cluster = await startEsdbCluster({ electionMs: 6_000 });
  t.teardown(() => cluster.close());
  const store = await openEsdbStore(`${cluster.connectionString}&maxDiscoverAttempts=2&discoveryInterval=50`, fast);
  const { app, auth, dataDir, runtime } = await startTestApp(t, { store });
  const watcher = await openEsdbStore(cluster.connectionString, fast);
  t.teardown(() => watcher.close());
  const seen: StoredEvent[] = [];
  const seeing = new EventEmitter();
  const sub = watcher.subscribe();
  const watching = (async () => {
    for await (const e of sub) {
      seen.push(e);
      seeing.emit('event');
    }
  })();

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: auth('recorder'), payload: payload as Record<string, unknown> });
  const setup = await post('/v1/facts/batch', [
    { type: 'OrganizationRegistered', data: { key: 'c-org', name: 'Cluster' }, source: SOURCE },
    { type: 'PersonRegistered', data: { key: 'c-person', name: 'Delegate' }, source: SOURCE },
    { type: 'SessionHeld', data: { key: 'c-session', body: 'c-org', held: { from: '2025-11-27' } }, source: SOURCE },
  ]);
  t.equal(setup.json().recorded, 3);

  let stopped = false;
  const answered = new Map<string, number>();
  const unavailable: (string | undefined)[] = [];
  const clients = Array.from({ length: 16 }, async (_, c) => {
    for (let i = 0; i < 12; i++) {
      const factId = `01KB19R5C${String(c).padStart(2, '0')}${String(i).padStart(15, '0')}`;
      for (;;) {
        const res = await post('/v1/facts', { type: 'DelegateAttended', factId, data: { session: 'c-session', person: 'c-person' }, source: SOURCE });
        if (res.statusCode === 503) {
          unavailable.push(res.headers['retry-after'] as string | undefined);
          await sleep(Number(res.headers['retry-after'] ?? 1) * 1_000); // deliberate sleep: the Retry-After the 503 asked for
          continue;
        }
        if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${res.body}`);
        answered.set(factId, res.statusCode);
        break;
      }
      if (c === 0 && i === 3 && !stopped) {
        stopped = true;
        void cluster.stopLeader();
      }
    }
  });
  await Promise.all(clients);
  t.ok(stopped, 'the leader was stopped mid-run');
  t.not(cluster.leader(), 0, 'another node leads');
  // Not asserted here that a 503 is seen: whether an election of 6 s outlasts the recorder's
  // resends depends on the machine's speed (of two runs one saw 31, the other none). The test
  // above holds an election open and proves the 503 with Retry-After deterministically.
  t.comment(`clients saw ${unavailable.length} 503s during the election`);
  t.ok(unavailable.every((h) => h === '1'), 'any 503 carries Retry-After');
  t.equal(answered.size, 16 * 12, 'every fact answered');

  const log = (await store.readAll()).filter((e) => e.type === 'DelegateAttended');
  const counts = new Map<string, number>();
  for (const e of log) counts.set(e.metadata['factId'] as string, (counts.get(e.metadata['factId'] as string) ?? 0) + 1);
  t.same([...answered.keys()].filter((id) => counts.get(id) !== 1), [], 'every fact in the log exactly once');
  t.equal(counts.size, answered.size, 'nothing else');

  const all = await store.readAll();
  await when(seeing, 'event', () => seen.length >= all.length, `the watcher's subscription reaches the log's ${all.length} events`, 30_000).catch(() => {}); // on time-out, the comparison below says what differs
  t.same(seen.map((e) => e.position), all.map((e) => e.position), 'the subscription resumed on the new leader: no gap, no repeat');
  await sub.close();
  await watching;

  const head = all.at(-1)!.position;
  // A bound against a hang (the read models' subscription follows the same leader change as the
  // watcher's, which had up to 30 s above); 5 s left little room on a loaded machine.
  t.ok(await runtime.readModels.waitFor(head, 30_000), 'the read models applied everything');
  const fresh = join(dataDir, 'fresh.db');
  await rebuildReadModels({ store, path: fresh, log: pino({ level: 'silent' }) });
  t.same(dumpTables(join(dataDir, 'readmodels.db')), dumpTables(fresh), 'the running read models equal a rebuild');
});

const TOKEN = 'cluster-test-recorder-token-01';

t.test('scale-out: two API processes on the cluster, each with its own read models; one answers what the other recorded when asked with its minPosition', async (t) => {
  const cluster = await startEsdbCluster();
  t.teardown(() => cluster.close());
  const dirs = [await mkdtemp(join(tmpdir(), 'annals-scale-a-')), await mkdtemp(join(tmpdir(), 'annals-scale-b-'))];
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  // Shedding off: this test is about minPosition across processes, not load. On a busy machine B's
  // event loop, just started, can go a whole 100 ms sample without a turn, which under-pressure
  // reads as an infinite delay and answers 503 (seen once in CI at load ~8); shedding has its own tests.
  const env = { ANNALS_EVENT_STORE: cluster.connectionString, ANNALS_TOKENS: `recorder:${TOKEN}`, ANNALS_SHED_EVENT_LOOP_DELAY_MS: '0' };
  const [a, b] = await Promise.all(dirs.map((dataDir) => startServer(t, { dataDir, env })));
  const res = await fetch(`${a!.base}/v1/facts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'OrganizationRegistered', data: { key: 'scale-org', name: 'Scaled Out' }, source: SOURCE }),
  });
  t.equal(res.status, 201, 'recorded through A');
  const { position } = (await res.json()) as { position: string };
  const read = await fetch(`${b!.base}/v1/organizations?minPosition=${encodeURIComponent(position)}`);
  t.equal(read.status, 200, 'B waited for that position');
  t.match(JSON.stringify(await read.json()), /Scaled Out/, "B answers with A's fact");
  for (const s of [a!, b!]) {
    s.child.kill('SIGTERM');
    await s.exited;
  }
  const store = await openEsdbStore(cluster.connectionString, fast);
  t.teardown(() => store.close());
  for (const [i, dir] of dirs.entries()) {
    const fresh = join(dir, 'fresh.db');
    await rebuildReadModels({ store, path: fresh, log: pino({ level: 'silent' }) });
    t.same(dumpTables(join(dir, 'readmodels.db')), dumpTables(fresh), `process ${'AB'[i]}'s read models equal a rebuild`);
  }
});
