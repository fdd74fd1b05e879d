/**
 * Time is injected: the stores stamp `recordedAt` from the clock they are given, the
 * embedded store at commit (one stamp a transaction, never before the last stored event,
 * whatever the clock says), and the recorder dates the factIds it makes up by its clock.
 * Tests move such a clock by hand instead of sleeping for the wall clock to move.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decodeTime } from 'ulid';
import { createRecorder, parseFactRequest } from '../src/record/index.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { EventStore, NewEvent } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { manualClock } from './fixtures/clock.js';

const ev = (type = 'A'): NewEvent => ({ id: randomUUID(), type, data: {}, metadata: {} });

async function stamps(t: Test, open: (clock: () => Date) => EventStore | Promise<EventStore>): Promise<void> {
  const clock = manualClock('2025-11-27T12:00:00.000Z');
  const store = await open(clock.now);
  t.teardown(() => store.close());
  const first = await store.append('s-1', [ev(), ev()], 'no_stream');
  t.same(first.events.map((e) => e.recordedAt), ['2025-11-27T12:00:00.000Z', '2025-11-27T12:00:00.000Z'], 'the clock it was given, one stamp for one commit');
  clock.advance(1500);
  t.equal((await store.append('s-1', [ev()], 1)).events[0]?.recordedAt, '2025-11-27T12:00:01.500Z', 'the clock moved: so did recordedAt');
  clock.advance(-60_000);
  t.equal((await store.append('s-2', [ev()], 'no_stream')).events[0]?.recordedAt, '2025-11-27T12:00:01.500Z', 'a clock gone back leaves recordedAt where the last event is');
  clock.advance(120_000);
  t.equal((await store.append('s-2', [ev()], 0)).events[0]?.recordedAt, '2025-11-27T12:01:01.500Z');
  t.same((await store.readAll()).map((e) => e.recordedAt), ['2025-11-27T12:00:00.000Z', '2025-11-27T12:00:00.000Z', '2025-11-27T12:00:01.500Z', '2025-11-27T12:00:01.500Z', '2025-11-27T12:01:01.500Z'], 'as stored');
}

t.test('the embedded store (inline writer) stamps recordedAt from its clock, monotonic', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-clock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await stamps(t, (clock) => openSqliteStore(join(dir, 'events.db'), { writer: 'inline', clock }));
});

t.test('the in-memory store stamps recordedAt from its clock, monotonic', async (t) => {
  await stamps(t, (clock) => createMemoryStore({ clock }));
});

t.test('the embedded store reads the clock at commit, not when the append is asked for', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-clock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clock = manualClock('2025-11-27T12:00:00.000Z');
  let reads = 0;
  const store = openSqliteStore(join(dir, 'events.db'), { writer: 'inline', clock: () => (reads++, clock.now()) });
  t.teardown(() => store.close());
  // Appends asked for in one turn of the event loop are committed together on the next.
  const a = store.append('s-a', [ev()], 'no_stream');
  const b = store.append('s-b', [ev()], 'no_stream');
  clock.advance(250);
  const [ra, rb] = await Promise.all([a, b]);
  t.equal(ra.events[0]?.recordedAt, '2025-11-27T12:00:00.250Z', 'the time of the commit');
  t.equal(rb.events[0]?.recordedAt, ra.events[0]?.recordedAt, 'one commit, one recordedAt');
  t.equal(reads, 1, 'the clock is read once a transaction');
});

t.test('the writer thread reads its own clock: a clock is refused there rather than ignored', async (t) => {
  t.throws(() => openSqliteStore(join(tmpdir(), `${randomUUID()}.db`), { clock: () => new Date() }), RangeError);
  t.throws(() => openSqliteStore(join(tmpdir(), `${randomUUID()}.db`), { writer: 'thread', clock: () => new Date() }), /inline writer only/);
});

t.test('the recorder dates the factIds it makes up by its clock', async (t) => {
  const clock = manualClock('2025-11-27T12:00:00.000Z');
  const store = createMemoryStore({ clock: clock.now });
  const { monotonicFactory } = await import('ulid');
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, clock: clock.now, newId: monotonicFactory() });
  t.teardown(() => recorder.close());
  const source = { title: 'clock test' };
  const first = await recorder.record(parseFactRequest({ type: 'PersonRegistered', data: { name: 'Ana' }, source }), { principal: 'recorder:t', correlationId: 'c1' });
  clock.advance(60_000);
  const second = await recorder.record(parseFactRequest({ type: 'PersonRegistered', data: { name: 'Bo' }, source }), { principal: 'recorder:t', correlationId: 'c2' });
  t.equal(decodeTime(first.factId), Date.parse('2025-11-27T12:00:00.000Z'), "the factId's time is the clock's");
  t.equal(decodeTime(second.factId), Date.parse('2025-11-27T12:01:00.000Z'));
  t.equal(second.recordedAt, '2025-11-27T12:01:00.000Z', "and the store's stamp is the same clock's");
});
