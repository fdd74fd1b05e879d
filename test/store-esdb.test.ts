/**
 * The EventStoreDB adapter: the shared store contract against the in-process protocol double
 * (always) and against a real server when ANNALS_TEST_ESDB holds a connection string; then
 * what only this adapter has: resubscription across a server restart, driver error
 * translation, the position encoding, and the non-batch append path.
 */
import { once } from 'node:events';
import { status } from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { DuplicateEventError, StoreAccessDeniedError, StoreUnavailableError, WrongExpectedRevisionError } from '../src/store/errors.js';
import { openEsdbStore, type EsdbStoreOptions } from '../src/store/esdb.js';
import { decodeEsdbPosition, encodeEsdbPosition } from '../src/store/esdb-position.js';
import type { EventStore, NewEvent, StoredEvent } from '../src/store/port.js';
import { startEsdbDouble, type EsdbDouble, type EsdbDoubleOptions } from './fixtures/esdb-double.js';
import { storeContract } from './fixtures/store-contract.js';

const fast: EsdbStoreOptions = { retry: { initialDelayMs: 20, maxDelayMs: 200 } };

function ev(type: string, data: unknown = {}): NewEvent {
  return { id: crypto.randomUUID(), type, data, metadata: { by: 'test' } };
}

async function withDouble(t: Test, options: EsdbDoubleOptions = {}): Promise<{ double: EsdbDouble; store: EventStore }> {
  const double = await startEsdbDouble(options);
  const store = await openEsdbStore(double.connectionString, fast);
  t.teardown(async () => {
    await store.close();
    await double.close();
  });
  return { double, store };
}

t.test('contract on the protocol double', async (t) => {
  storeContract(t, 'esdb-double', async () => {
    const double = await startEsdbDouble();
    const stores: EventStore[] = [await openEsdbStore(double.connectionString, fast)];
    return {
      store: stores[0]!,
      startsEmpty: true,
      reopen: async () => {
        await stores.at(-1)!.close();
        stores.push(await openEsdbStore(double.connectionString, fast));
        return stores.at(-1)!;
      },
      dispose: async () => {
        for (const s of stores) await s.close();
        await double.close();
      },
    };
  });
});

t.test('contract on a real EventStoreDB', async (t) => {
  const connection = process.env.ANNALS_TEST_ESDB;
  if (!connection) {
    t.skip('ANNALS_TEST_ESDB not set: contract suite not run against a real EventStoreDB', () => {});
    return;
  }
  storeContract(t, 'esdb', async () => {
    const stores: EventStore[] = [await openEsdbStore(connection, fast)];
    return {
      store: stores[0]!,
      reopen: async () => {
        await stores.at(-1)!.close();
        stores.push(await openEsdbStore(connection, fast));
        return stores.at(-1)!;
      },
      dispose: async () => {
        for (const s of stores) await s.close();
      },
    };
  });
});

t.test('a subscription survives a server restart: every event once, in order', async (t) => {
  const { double, store } = await withDouble(t);
  const before = await store.append('restart-a', [ev('A'), ev('B'), ev('C')], 'no_stream');
  const sub = store.subscribe();
  const it = sub[Symbol.asyncIterator]();
  const got: StoredEvent[] = [];
  const take = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await Promise.race([it.next(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 10_000))]);
      if (r.done) throw new Error('subscription ended');
      got.push(r.value);
    }
  };
  await take(3);

  await double.stop();
  await t.rejects(store.append('restart-a', [ev('X')], 2), StoreUnavailableError, 'appends while down are unavailable');
  await t.rejects(store.readAll(), StoreUnavailableError, 'reads while down are unavailable');
  await double.start();

  // Others write while the subscriber is reconnecting; then the adapter writes again.
  const others = await openEsdbStore(double.connectionString, fast);
  const during = await others.append('restart-b', [ev('D'), ev('E')], 'no_stream');
  await others.close();
  const after = await retryUnavailable(() => store.append('restart-a', [ev('F')], 2));
  await take(3);

  t.same(
    got.map((e) => e.position),
    [...before.events, ...during.events, ...after.events].map((e) => e.position),
    'no event skipped, none repeated, global order',
  );
  t.same(got.map((e) => e.type), ['A', 'B', 'C', 'D', 'E', 'F']);
  await sub.close();
  t.same(await it.next(), { done: true, value: undefined });
});

t.test('a restart before the first event resubscribes from the start', async (t) => {
  const { double, store } = await withDouble(t);
  const held = once(double.log, 'subscribed');
  const sub = store.subscribe({ types: ['Wanted'] });
  const it = sub[Symbol.asyncIterator]();
  const first = it.next();
  await held; // the server holds the subscription: the restart breaks it
  await double.stop();
  await double.start();
  const written = await retryUnavailable(() => store.append('restart-c', [ev('Other'), ev('Wanted')], 'no_stream'));
  const r = await first;
  t.equal(r.done, false);
  t.equal(r.value?.position, written.events[1]?.position, 'only the wanted type, delivered after the restart');
  await sub.close();
});

t.test('driver errors are translated at the adapter', async (t) => {
  t.test('WrongExpectedVersion (batch append) → WrongExpectedRevisionError', async (t) => {
    const { store } = await withDouble(t);
    await store.append('wev', [ev('A')], 'no_stream');
    const err = await store.append('wev', [ev('B')], 'no_stream').catch((e: unknown) => e);
    t.ok(err instanceof WrongExpectedRevisionError);
    t.match(err, { stream: 'wev', expected: 'no_stream', actual: '0' });
    const missing = await store.append('wev-missing', [ev('B')], 'stream_exists').catch((e: unknown) => e);
    t.match(missing, { constructor: WrongExpectedRevisionError, expected: 'stream_exists', actual: 'no_stream' });
  });

  t.test('WrongExpectedVersion (unary append) → WrongExpectedRevisionError', async (t) => {
    const { store } = await withDouble(t, { batchAppend: false });
    const r = await store.append('wev1', [ev('A'), ev('B')], 'no_stream');
    t.same(r.events.map((e) => e.revision), [0, 1], 'the unary Append path appends too');
    const err = await store.append('wev1', [ev('C')], 0).catch((e: unknown) => e);
    t.match(err, { constructor: WrongExpectedRevisionError, stream: 'wev1', expected: '0', actual: '1' });
    t.same(await store.append('wev1', [ev('C')], 1).then((x) => x.nextRevision), 2);
  });

  t.test('StreamNotFound → empty read', async (t) => {
    const { store } = await withDouble(t);
    t.same(await store.readStream('nowhere'), []);
    t.same(await store.readStream('nowhere', { direction: 'backwards', fromRevision: 3 }), []);
  });

  t.test('unavailable → StoreUnavailableError', async (t) => {
    const double = await startEsdbDouble();
    const port = double.port;
    await double.close();
    await t.rejects(openEsdbStore(`esdb://127.0.0.1:${port}?tls=false`), StoreUnavailableError, 'open fails fast');
    const lazy = await openEsdbStore(`esdb://127.0.0.1:${port}?tls=false`, { verify: false });
    await t.rejects(lazy.head(), StoreUnavailableError);
    await t.rejects(lazy.append('s', [ev('A')], 'any'), StoreUnavailableError);
    await lazy.close();
  });

  t.test('deadline exceeded → StoreUnavailableError', async (t) => {
    const { double, store } = await withDouble(t);
    double.failNext('Read', status.DEADLINE_EXCEEDED);
    await t.rejects(store.readStream('d'), StoreUnavailableError);
    double.failNext('Read', status.DEADLINE_EXCEEDED);
    await t.rejects(store.readAll(), StoreUnavailableError);
    double.failNext('BatchAppend', status.DEADLINE_EXCEEDED);
    await t.rejects(store.append('d', [ev('A')], 'any'), StoreUnavailableError);
    t.same((await retryUnavailable(() => store.append('d', [ev('A')], 'any'))).nextRevision, 0, 'the next append succeeds');
  });

  t.test('errors retrying cannot fix pass through, also from subscriptions', async (t) => {
    const { double, store } = await withDouble(t);
    double.failNext('Read', status.PERMISSION_DENIED);
    const err = await store.readStream('p').catch((e: unknown) => e);
    t.ok(err instanceof Error && !(err instanceof StoreUnavailableError), 'not reported as retryable');
    double.failNext('Read', status.UNAUTHENTICATED);
    const sub = store.subscribe();
    const subErr = await sub[Symbol.asyncIterator]().next().catch((e: unknown) => e);
    t.ok(subErr instanceof StoreAccessDeniedError, 'access denied, not StoreUnavailableError');
  });

  t.test('a reused id with other content', async (t) => {
    const { store } = await withDouble(t);
    const e = ev('A', { n: 1 });
    await store.append('dup', [e], 'no_stream');
    await t.rejects(store.append('dup', [{ ...e, data: { n: 2 } }], 0), DuplicateEventError);
  });
});

t.test('a subscription shrugs off a transient read failure', async (t) => {
  const { double, store } = await withDouble(t);
  await store.append('flaky', [ev('A')], 'no_stream');
  double.failNext('Read', status.UNAVAILABLE, 2);
  const sub = store.subscribe();
  const r = await sub[Symbol.asyncIterator]().next();
  t.equal(r.value?.stream, 'flaky');
  await sub.close();
});

t.test('an id reserved by an append that failed can be used in another stream', async (t) => {
  const { store } = await withDouble(t);
  await store.append('stale-x', [ev('A')], 'no_stream');
  const e = ev('B');
  await t.rejects(store.append('stale-x', [e], 5), WrongExpectedRevisionError, 'reserved for stale-x, never written');
  const r = await store.append('stale-y', [e], 'no_stream');
  t.same(r.events.map((x) => x.id), [e.id], 'the stale reservation is taken over');
  await t.rejects(store.append('stale-x', [e], 'any'), DuplicateEventError, 'and now it is taken');
});

t.test('positions encode as fixed-width strings that sort like (commit, prepare)', async (t) => {
  const pairs = [
    { commit: 0n, prepare: 0n },
    { commit: 9n, prepare: 9n },
    { commit: 10n, prepare: 3n },
    { commit: 10n, prepare: 10n },
    { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n },
  ];
  const encoded = pairs.map(encodeEsdbPosition);
  t.same([...encoded].sort(), encoded, 'string order = numeric order');
  t.same(encoded.map(decodeEsdbPosition), pairs, 'round trip');
  t.equal(encoded[2], '00000000000000000010-00000000000000000003');
  t.throws(() => decodeEsdbPosition('00000000000000000042'), RangeError, 'an embedded-store position is refused');
  t.throws(() => encodeEsdbPosition({ commit: -1n, prepare: 0n }), RangeError);
  t.throws(() => encodeEsdbPosition({ commit: 2n ** 64n, prepare: 0n }), RangeError);
});

t.test('system events and id reservations never leave the adapter', async (t) => {
  const { double, store } = await withDouble(t);
  t.ok(double.log.records.some((r) => r.stream.startsWith('$')), 'the double holds system events');
  t.equal(await store.head(), null, 'only system events: no head');
  const r = await store.append('visible', [ev('A')], 'no_stream');
  const all = await store.readAll();
  t.same(all.map((e) => e.stream), ['visible']);
  t.equal(await store.head(), r.events[0]?.position);
  t.match(store.name, /^esdb:esdb:\/\/127\.0\.0\.1:\d+/);
});

t.test('paging: readAll and head cross pages of system events', async (t) => {
  const double = await startEsdbDouble();
  const store = await openEsdbStore(double.connectionString, { ...fast, pageSize: 2 });
  t.teardown(async () => {
    await store.close();
    await double.close();
  });
  const r = await store.append('paged', [ev('A'), ev('B'), ev('C')], 'no_stream');
  // Three more system events after the last user event: head must page backwards past them.
  for (let i = 0; i < 3; i++) double.log.append('$tail', { kind: 'any' }, [{ id: crypto.randomUUID(), type: '$x', contentType: 'application/json', data: Buffer.from('{}'), customMetadata: new Uint8Array() }]);
  t.equal(await store.head(), r.events[2]?.position);
  t.same((await store.readAll()).map((e) => e.type), ['A', 'B', 'C']);
  t.same((await store.readAll({ after: r.events[0]?.position, limit: 1 })).map((e) => e.type), ['B']);
  t.same((await store.readAll({ types: ['C'] })).map((e) => e.type), ['C']);
});

t.test('name hides credentials', async (t) => {
  const double = await startEsdbDouble();
  const store = await openEsdbStore(`esdb://admin:changeit@127.0.0.1:${double.port}?tls=false`, fast);
  t.equal(store.name, `esdb:esdb://127.0.0.1:${double.port}?tls=false`);
  await store.close();
  await double.close();
});

async function retryUnavailable<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50)); // deliberate sleep: "unavailable, retry shortly": a client's pause before it retries
    }
  }
}
