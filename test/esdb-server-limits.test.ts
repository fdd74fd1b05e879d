/**
 * EventStoreDB's limits and answers, as the protocol double models them from the 24.10 source,
 * and what the adapter and the recorder make of them: MaxAppendSize (split and chained),
 * writes committed but answered Timeout or lost (sent again, found, answered once), the empty
 * event id, positions inside a record or past the end, tombstones, `$all` denied, the 100
 * streams of one connection. Each test is named after the server behaviour it exercises.
 */
import { EventStoreDBClient, MaxAppendSizeExceededError, UnknownError, WrongExpectedVersionError, jsonEvent } from '@eventstore/db-client';
import t, { type Test } from 'tap';
import { AppendTooLargeError, PositionNotInLogError, StoreAccessDeniedError } from '../src/store/errors.js';
import { openEsdbStore } from '../src/store/esdb.js';
import { encodeEsdbPosition } from '../src/store/esdb-position.js';
import type { EventStore, NewEvent } from '../src/store/port.js';
import { appendWaves } from '../src/store/waves.js';
import { startTestApp } from './fixtures/app.js';
import { DoubleLog } from './fixtures/esdb-double-log.js';
import { startEsdbDouble, type EsdbDouble, type EsdbDoubleOptions } from './fixtures/esdb-double.js';

// Servers, clusters and child processes make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 20-30; a hang is still caught at 600 s.
t.setTimeout(600_000);

const SOURCE = { title: 'Server limits test', publisher: 'tests' };
const fast = { retry: { initialDelayMs: 20, maxDelayMs: 200 } };

async function double(t: Test, options: EsdbDoubleOptions = {}): Promise<{ double: EsdbDouble; client: EventStoreDBClient }> {
  const d = await startEsdbDouble(options);
  const client = EventStoreDBClient.connectionString(d.connectionString);
  t.teardown(async () => {
    await client.dispose();
    await d.close();
  });
  return { double: d, client };
}

async function app(t: Test, d: EsdbDouble) {
  const store = await openEsdbStore(d.connectionString, fast);
  return startTestApp(t, { store });
}

const ev = (type: string, data: unknown = {}): NewEvent => ({ id: crypto.randomUUID(), type, data, metadata: {} });
const ulid = (n: number) => `01KB19R5${String(n).padStart(18, '0')}`;

t.test('MaxAppendSize: EventStoreDB refuses an append over 1 MiB of event data, whole (MaximumAppendSizeExceeded), batch and unary', async (t) => {
  for (const batchAppend of [true, false]) {
    const { double: d, client } = await double(t, { batchAppend });
    const big = Array.from({ length: 3 }, () => jsonEvent({ type: 'Big', data: { s: 'x'.repeat(400_000) } }));
    const err = await client.appendToStream('big', big).catch((e: unknown) => e);
    t.ok(err instanceof MaxAppendSizeExceededError, `${batchAppend ? 'BatchAppend' : 'Append'}: MaxAppendSizeExceededError`);
    t.equal((err as MaxAppendSizeExceededError).maxAppendSize, 1024 * 1024, 'it names the limit');
    t.equal(d.log.streamRecords('big'), undefined, 'nothing stored');
    t.equal((await client.appendToStream('big', big.slice(0, 2))).success, true, '800 KB of data fit');
  }
});

t.test('wrong expected version: EventStoreDB answers it as ALREADY_EXISTS in a batch append and with the 20.6 fields in a unary one; the client reads the revisions from either', async (t) => {
  for (const batchAppend of [true, false]) {
    const { client } = await double(t, { batchAppend });
    const call = batchAppend ? 'BatchAppend' : 'Append';
    await client.appendToStream('wev', jsonEvent({ type: 'A', data: {} }));
    const err = await client.appendToStream('wev', jsonEvent({ type: 'B', data: {} }), { expectedRevision: 5n }).catch((e: unknown) => e);
    t.ok(err instanceof WrongExpectedVersionError, `${call}: WrongExpectedVersionError`);
    t.match(err, { streamName: 'wev', expectedVersion: 5n, actualVersion: 0n }, `${call}: the stream, the revision expected and the one found`);
    const none = await client.appendToStream('wev-none', jsonEvent({ type: 'B', data: {} }), { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
    t.match(none, { constructor: WrongExpectedVersionError, expectedVersion: 'stream_exists', actualVersion: 'no_stream' }, `${call}: stream_exists on no stream`);
  }
});

t.test('MaxAppendSize: the adapter refuses before sending what cannot fit, and learns a lower limit from the server', async (t) => {
  const { double: d } = await double(t, { maxAppendSize: 10_000, countsAs25: true });
  const store = await openEsdbStore(d.connectionString, fast);
  t.teardown(() => store.close());
  t.equal(store.appendLimit?.maxBytes, 1024 * 1024, 'the default until told otherwise');
  const err = await store.append('s', [ev('A', { s: 'x'.repeat(20_000) })], 'no_stream').catch((e: unknown) => e);
  t.ok(err instanceof AppendTooLargeError, 'the server refused: AppendTooLargeError');
  t.equal(store.appendLimit?.maxBytes, 10_000, 'the server taught its limit');
  const alone = await store.append('s', [ev('A', { s: 'x'.repeat(20_000) })], 'no_stream').catch((e: unknown) => e);
  t.match(alone, { constructor: AppendTooLargeError, eventBytes: Number }, 'one event over the limit: refused before sending, naming its size');
  const events = Array.from({ length: 10 }, (_, i) => ev('A', { i, s: 'y'.repeat(3_000) }));
  const outcome = (await appendWaves(store, [[{ stream: 'split', events, expected: 'no_stream' }]]))[0]?.[0];
  t.equal(outcome?.status, 'fulfilled', 'appendWaves splits an append over the limit into parts that fit, chained');
  t.same((await store.readStream('split')).map((e) => e.id), events.map((e) => e.id), 'all of it, in order, once');
});

// Counted as 25.0 counts (data, metadata and type): the 5,000 make over 1 MiB, so one append
// is refused and the recorder must split. Under 24.10's count (data alone) they make ~650 KB and
// fit unsplit; the adapter counts as 25.0 does either way, so the split it sends is the same.
{
  t.test('5,000 DelegateAttended on one session through POST /v1/facts/batch under MaxAppendSize (counted as 25.0 does): each answered once, none lost or doubled, no 5xx', async (t) => {
    const { double: d } = await double(t, { countsAs25: true });
    const { app: server, auth } = await app(t, d);
    const setup = await server.inject({
      method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'),
      payload: [
        { type: 'OrganizationRegistered', data: { key: 'big-org', name: 'Big' }, source: SOURCE },
        { type: 'PersonRegistered', data: { key: 'big-person', name: 'Delegate' }, source: SOURCE },
        { type: 'SessionHeld', data: { key: 'big-session', body: 'big-org', held: { from: '2025-11-27' } }, source: SOURCE },
      ],
    });
    t.equal(setup.json().recorded, 3);
    const facts = Array.from({ length: 5_000 }, (_, i) => ({ type: 'DelegateAttended', factId: ulid(i + 1), data: { session: 'big-session', person: 'big-person', representing: 'big-org' }, source: { ...SOURCE, quote: `attendance ${i}` } }));
    const res = await server.inject({ method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'), payload: facts });
    t.equal(res.statusCode, 200, 'no 5xx');
    const body = res.json() as { recorded: number; results: { factId: string }[]; error?: unknown };
    t.equal(body.error, undefined, 'nothing refused');
    t.same(body.results.map((r) => r.factId), facts.map((f) => f.factId), 'every fact answered once, in order');
    const session = setup.json().results[2].stream as string;
    const ids = (d.log.streamRecords(session) ?? []).filter((r) => r.type === 'DelegateAttended').map((r) => r.id);
    t.equal(ids.length, 5_000, 'the log holds 5,000 attendances');
    t.equal(new Set(ids).size, 5_000, 'none twice');
  });
}

t.test('a write that outlasts the write timeout is answered Timeout and committed anyway: the recorder sends it again, finds it, answers 201 once', async (t) => {
  const { double: d } = await double(t, { writeTimeoutMs: 100 });
  const { app: server, auth } = await app(t, d);
  const post = (payload: Record<string, unknown>) => server.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload });
  t.equal((await post({ type: 'OrganizationRegistered', data: { key: 'slow-org', name: 'Slow' }, source: SOURCE })).statusCode, 201);
  for (const fault of ['timeout', 'lost reply'] as const) {
    // Every write of the next fact (its id reservation, then the fact) commits late or loses its reply.
    if (fault === 'timeout') d.delayCommits(300, 2);
    else d.dropRepliesAfterCommit(2);
    const factId = ulid(fault === 'timeout' ? 9_001 : 9_002);
    const res = await post({ type: 'PersonRegistered', factId, data: { name: `After a ${fault}` }, source: SOURCE });
    t.equal(res.statusCode, 201, `${fault}: 201, recorded by this request`);
    await d.settled(); // the late commits of the writes answered Timeout have landed
    const copies = d.log.records.filter((r) => r.type === 'PersonRegistered' && r.stream.endsWith(factId));
    t.equal(copies.length, 1, `${fault}: in the log once`);
    t.equal((await post({ type: 'PersonRegistered', factId, data: { name: `After a ${fault}` }, source: SOURCE })).statusCode, 200, `${fault}: a client retry is the original`);
  }
});

t.test("EventStoreDB's idempotency: by position for an expected revision, and for `any` only while the id cache holds the ids", async (t) => {
  const log = new DoubleLog(28 + 2 * 's'.length);
  const e = { id: crypto.randomUUID(), type: 'A', contentType: 'application/json', data: new Uint8Array(1), customMetadata: new Uint8Array() };
  const other = { ...e, id: crypto.randomUUID() };
  t.match(log.append('s', { kind: 'no_stream' }, [e]), { ok: true, currentRevision: 0n });
  t.match(log.append('s', { kind: 'any' }, [e]), { ok: true, currentRevision: 0n }, 'any: the id is in the cache: idempotent');
  log.append('s', { kind: 'any' }, [other]);
  t.match(log.append('s', { kind: 'no_stream' }, [e]), { ok: true, currentRevision: 0n }, 'an expected revision: found by position, however old');
  t.match(log.append('s', { kind: 'no_stream' }, [e, other]), { ok: true, currentRevision: 1n }, 'several, one for one');
  t.match(log.append('s', { kind: 'no_stream' }, [e, e]), { ok: false, reason: 'wrong_expected_version' }, 'a later id that differs: wrong expected version');
  t.match(log.append('s', { kind: 'any' }, [e]), { ok: true, currentRevision: 2n }, 'any, the id evicted from the cache: written again');
  t.equal(log.streamRecords('s')?.filter((r) => r.id === e.id).length, 2, 'a duplicate, as the server would store it');
});

t.test('an all-zero event id is refused by EventStoreDB ("Empty eventId provided."); a factId of 26 zeros is a 400 on every store', async (t) => {
  const { double: d, client } = await double(t);
  const zero = jsonEvent({ id: '00000000-0000-0000-0000-000000000000', type: 'Z', data: {} });
  t.ok((await client.appendToStream('zero', zero).catch((e: unknown) => e)) instanceof UnknownError, 'BatchAppend: BadRequest, which the client reports as UnknownError');
  const unary = EventStoreDBClient.connectionString(d.connectionString);
  t.teardown(() => unary.dispose());
  t.ok((await unary.appendToStream('zero', zero, { credentials: { username: 'u', password: 'p' } }).catch((e: unknown) => e)) instanceof UnknownError, 'Append: the handler throws, UnknownError');
  t.equal(d.log.streamRecords('zero'), undefined, 'nothing stored');
  for (const store of ['sqlite', 'memory', 'esdb'] as const) {
    const { app: server, auth } = store === 'esdb' ? await app(t, d) : await startTestApp(t, { store });
    const res = await server.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'OrganizationRegistered', factId: '0'.repeat(26), data: { key: `zero-${store}`, name: 'Zero' }, source: SOURCE } });
    t.equal(res.statusCode, 400, `${store}: 400`);
    t.match(res.json().errors, [{ path: 'factId', message: /26 zeros/ }], `${store}: names the factId`);
  }
});

t.test('positions: EventStoreDB refuses a $all position inside a record, and a subscription from past the end skips until the log passes it', async (t) => {
  const { double: d, client } = await double(t);
  const store = await openEsdbStore(d.connectionString, fast);
  t.teardown(() => store.close());
  const written = await store.append('pos', [ev('A', { s: 'x'.repeat(50) }), ev('B')], 'no_stream');
  const first = d.log.records.find((r) => r.stream === 'pos')!;
  const inside = { commit: first.commit + 1n, prepare: first.commit + 1n };
  t.ok((await collect(client.readAll({ fromPosition: inside, maxCount: 10 })).catch((e: unknown) => e)) instanceof UnknownError, 'readAll: InvalidPosition (UnknownError)');
  await t.rejects(store.readAll({ after: encodeEsdbPosition(inside) }), PositionNotInLogError, 'the adapter: the position is not in this log');
  const sub = store.subscribe({ after: encodeEsdbPosition(inside) });
  await t.rejects(sub[Symbol.asyncIterator]().next(), PositionNotInLogError, 'a subscription from it too');
  t.same((await store.readAll({ after: written.events[0]!.position })).map((e) => e.type), ['B'], 'a record boundary is fine');

  const beyond = { commit: d.log.end + 10_000n, prepare: d.log.end + 10_000n };
  const seen: string[] = [];
  const live = client.subscribeToAll({ fromPosition: beyond });
  const firstSeen = new Promise<void>((resolve) => live.on('data', (r) => r.event && !r.event.type.startsWith('$') && resolve()));
  live.on('data', (r) => r.event && seen.push(r.event.type));
  await store.append('pos-later', [ev('C')], 'no_stream');
  // Then events until the log passes the checkpoint: the first the subscription gives is past it.
  for (let i = 0; !d.log.records.some((r) => r.commit > beyond.commit); i++) await store.append(`pos-past-${i}`, [ev(`D${i}`, { s: 'x'.repeat(2_000) })], 'no_stream');
  await firstSeen;
  const past = d.log.records.filter((r) => r.commit > beyond.commit && !r.type.startsWith('$')).map((r) => r.type);
  const given = seen.filter((s) => !s.startsWith('$'));
  t.notOk(given.includes('C'), 'an event before the checkpoint is skipped, silently');
  t.same(given, past.slice(0, given.length), `the first given is the first past the checkpoint (${past[0]})`);
  await live.unsubscribe();

  await d.reset();
  t.equal(await store.head(), null, 'reset(): an empty log at the same address');
  t.same(await store.readAll({ after: written.events[0]!.position }), [], "a checkpoint of the old log is past the new log's end: it reads nothing, silently");
});

t.test('a tombstoned stream refuses writes and reads (StreamDeleted): recording into it is a 409, never a 500', async (t) => {
  const { double: d, client } = await double(t);
  const { app: server, auth } = await app(t, d);
  const setup = await server.inject({
    method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'),
    payload: [
      { type: 'OrganizationRegistered', data: { key: 'tomb-org', name: 'Tomb' }, source: SOURCE },
      { type: 'PersonRegistered', data: { key: 'tomb-person', name: 'P' }, source: SOURCE },
      { type: 'SessionHeld', data: { key: 'tomb-session', body: 'tomb-org', held: { from: '2025-11-27' } }, source: SOURCE },
    ],
  });
  await client.tombstoneStream(setup.json().results[2].stream as string);
  const attend = { type: 'DelegateAttended', data: { session: setup.json().results[2].factId, person: 'tomb-person' }, source: SOURCE };
  const single = await server.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: attend });
  t.equal(single.statusCode, 409, 'a single fact: 409');
  t.match(single.json().detail, /deleted in the event store/);
  const batch = await server.inject({ method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'), payload: [attend] });
  t.equal(batch.statusCode, 200);
  t.match(batch.json().error, { status: 409, index: 0 }, 'in a batch: that fact refused with 409');
});

t.test('$all denied to a user without the right: the store says what rights the connection needs', async (t) => {
  const { double: d } = await double(t, { userCanReadAll: false });
  const err = await openEsdbStore(d.connectionString, fast).catch((e: unknown) => e);
  t.ok(err instanceof StoreAccessDeniedError, 'StoreAccessDeniedError at open');
  t.match((err as Error).message, /\$admins or \$ops/);
});

t.test('a wave of appends never fills the 100 HTTP/2 streams EventStoreDB allows a connection: the adapter keeps 64 calls in flight', async (t) => {
  const { double: d } = await double(t);
  const store: EventStore = await openEsdbStore(d.connectionString, fast);
  t.teardown(() => store.close());
  const wave = Array.from({ length: 300 }, (_, i) => ({ stream: `wave-${i}`, events: [ev('A')], expected: 'no_stream' as const }));
  const [outcomes] = await appendWaves(store, [wave]);
  t.ok(outcomes?.every((o) => o.status === 'fulfilled'), 'all appended');
  t.ok(d.peakReads <= 64, `at most 64 reads open at once (saw ${d.peakReads})`);
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}


const real = process.env.ANNALS_TEST_ESDB;
t.test('on a real EventStoreDB (ANNALS_TEST_ESDB): MaxAppendSize, the empty event id, and the adapter splitting a 5,000-event append', { skip: real ? false : 'ANNALS_TEST_ESDB not set: not run against a real EventStoreDB' }, async (t) => {
  const client = EventStoreDBClient.connectionString(real!);
  t.teardown(() => client.dispose());
  const stream = `limits-${crypto.randomUUID()}`;
  const big = Array.from({ length: 3 }, () => jsonEvent({ type: 'Big', data: { s: 'x'.repeat(400_000) } }));
  t.ok((await client.appendToStream(stream, big).catch((e: unknown) => e)) instanceof MaxAppendSizeExceededError, 'MaxAppendSizeExceededError');
  const zero = jsonEvent({ id: '00000000-0000-0000-0000-000000000000', type: 'Z', data: {} });
  t.ok((await client.appendToStream(`${stream}-zero`, zero).catch((e: unknown) => e)) instanceof UnknownError, 'the empty event id: UnknownError (BadRequest)');
  const store = await openEsdbStore(real!, fast);
  t.teardown(() => store.close());
  const events = Array.from({ length: 5_000 }, (_, i) => ev('A', { i, s: 'y'.repeat(300) }));
  const outcome = (await appendWaves(store, [[{ stream: `${stream}-split`, events, expected: 'no_stream' }]]))[0]?.[0];
  t.equal(outcome?.status, 'fulfilled', 'split into appends that fit');
  t.equal((await store.readStream(`${stream}-split`)).length, 5_000);
});
