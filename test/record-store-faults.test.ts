/**
 * The recorder on the embedded store when the store fails as a whole: the write lock held by
 * another connection past the busy timeout, the writer thread dying with a group in flight,
 * the store closed, an adapter throwing. Every request gets an answer (never a hang or a
 * crash), a retry of a recorded fact needs no write, and nothing is recorded twice.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { monotonicFactory } from 'ulid';
import { createRecorder, parseFactRequest, type Recorder } from '../src/record/index.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { EventStore } from '../src/store/port.js';
import { openSqliteStore, type SqliteEventStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import * as f from './fixtures/facts.js';

const ctx = { principal: 'recorder:test0000', correlationId: 'req-1' };
const dir = mkdtempSync(join(tmpdir(), 'annals-record-faults-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function open(t: { teardown(fn: () => unknown): void }, store: EventStore): Recorder {
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100 });
  t.teardown(() => recorder.close());
  return recorder;
}

function sqlite(t: { teardown(fn: () => unknown): void }, options: SqliteStoreOptions = {}): SqliteEventStore {
  const store = openSqliteStore(join(dir, `${randomUUID()}.db`), options);
  t.teardown(() => store.close());
  return store;
}

/**
 * The promise's outcome, or 'pending' if it has none within `ms` (a hang fails the test instead
 * of timing it out). A bound against a hang, not a speed: the outcomes awaited are a 100 ms busy
 * timeout or a refusal at once, and 3 s left little room on a loaded machine.
 */
function within<T>(p: Promise<T>, ms = 20_000): Promise<{ value: T } | { error: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  // Cleared once settled, so the bound does not hold the file open after its last case.
  return Promise.race([
    p.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'pending'>((r) => {
      timer = setTimeout(() => r('pending'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

for (const writer of ['thread', 'inline'] as const) {
  t.test(`${writer} writer: the write lock held past the busy timeout is a StoreUnavailableError; a retry of a recorded fact needs no write`, async (t) => {
    const store = sqlite(t, { writer, busyTimeoutMs: 100 });
    const recorder = open(t, store);
    const first = await recorder.record(parseFactRequest(f.person('lock-p0', 'Zero')), ctx);
    const other = new Database(store.path);
    t.teardown(() => other.close());
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const single = await within(recorder.record(parseFactRequest(f.person('lock-p1', 'One')), ctx));
      t.ok(single !== 'pending' && 'error' in single && single.error instanceof StoreUnavailableError, 'a single fact: StoreUnavailableError, not a hang');
      const batch = await within(recorder.recordBatch([f.person('lock-p2', 'Two')], ctx));
      t.ok(batch !== 'pending' && 'error' in batch && batch.error instanceof StoreUnavailableError, 'a batch: StoreUnavailableError');
      const retry = await within(recorder.recordBatch([f.person('lock-p0', 'Zero', first.factId)], ctx));
      t.ok(retry !== 'pending' && 'value' in retry, 'a retry of the recorded fact answers with the lock held');
      if (retry !== 'pending' && 'value' in retry) t.same(retry.value.results.map((r) => [r.factId, r.created]), [[first.factId, false]]);
      const again = await within(recorder.record(parseFactRequest(f.person('lock-p0', 'Zero', first.factId)), ctx));
      t.ok(again !== 'pending' && 'value' in again && again.value.created === false, 'the same as a single fact');
    } finally {
      other.prepare('ROLLBACK').run();
    }
    const after = await recorder.record(parseFactRequest(f.person('lock-p1', 'One')), ctx);
    t.equal(after.created, true, 'recorded once the lock is released');
    t.same((await store.readAll()).filter((e) => e.type === 'PersonRegistered').length, 2, 'nothing recorded twice or in part');
  });
}

t.test('the writer thread dies with a group in flight: the fact is decided again alone and lands on a new thread', async (t) => {
  const store = sqlite(t);
  const recorder = open(t, store);
  await recorder.record(parseFactRequest(f.person('death-p0', 'Zero')), ctx);
  const thread = (store as unknown as { thread: { appendWaves(...a: unknown[]): Promise<unknown>; worker: { terminate(): Promise<number> } } }).thread;
  const appendWaves = thread.appendWaves.bind(thread);
  let killed = false;
  thread.appendWaves = (...a: unknown[]) => {
    const p = appendWaves(...a);
    if (!killed) {
      killed = true;
      void thread.worker.terminate();
    }
    return p;
  };
  // A new writer thread loads its modules first: seconds at a load average of 15-20, so a longer window than a lock's.
  const answer = await within(recorder.record(parseFactRequest(f.person('death-p1', 'One')), ctx), 30_000);
  t.ok(killed, 'the thread was terminated with the unit in flight');
  t.ok(answer !== 'pending' && 'value' in answer && answer.value.created, 'recorded');
  t.same((await store.readAll()).filter((e) => e.type === 'PersonRegistered').length, 2, 'once');
});

t.test('a closed store: a single fact and a batch are refused with StoreUnavailableError', async (t) => {
  const store = sqlite(t);
  const recorder = open(t, store);
  await recorder.record(parseFactRequest(f.person('closed-p0', 'Zero')), ctx);
  await store.close();
  const single = await within(recorder.record(parseFactRequest(f.person('closed-p1', 'One')), ctx));
  t.ok(single !== 'pending' && 'error' in single && single.error instanceof StoreUnavailableError, 'single: StoreUnavailableError');
  const batch = await within(recorder.recordBatch([f.person('closed-p2', 'Two')], ctx));
  t.ok(batch !== 'pending' && 'error' in batch && batch.error instanceof StoreUnavailableError, 'batch: StoreUnavailableError');
});

t.test('an adapter that throws instead of rejecting: the waiting single facts get the error', async (t) => {
  const memory = createMemoryStore();
  const broken: EventStore = Object.assign(Object.create(memory) as EventStore, {
    append: () => {
      throw new Error('adapter bug');
    },
  });
  const recorder = open(t, broken);
  const answers = await Promise.all([f.person('bug-p0'), f.person('bug-p1')].map((body) => within(recorder.record(parseFactRequest(body), ctx))));
  t.same(answers.map((a) => (a !== 'pending' && 'error' in a ? (a.error as Error).message : a)), ['adapter bug', 'adapter bug']);
  t.same(await memory.readAll(), []);
});
