/**
 * A large batch is committed in parts as it is decided (recorder.ts, PART_APPENDS): each part
 * one unit of the embedded store (one transaction). The answer is the one a batch committed at
 * the end gave: every fact in order, with what the log holds; a refusal after a committed part
 * answers the facts before it (the batch is decided again on fresh reads, and the parts' events
 * are found stored) and records nothing twice; a part that loses a race makes the batch decide
 * again, and the parts stored before are its results.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { monotonicFactory } from 'ulid';
import { keyStream } from '../events/index.js';
import { createRecorder, type BatchOutcome, type Recorder } from '../src/record/index.js';
import { WrongExpectedRevisionError } from '../src/store/errors.js';
import type { AppendRequest, EventStore, StoredEvent, WaveOutcome } from '../src/store/port.js';
import { openSqliteStore, type SqliteEventStore } from '../src/store/sqlite.js';
import * as f from './fixtures/facts.js';

const ctx = { principal: 'recorder:test0000', correlationId: 'req-1' };
const dir = mkdtempSync(join(tmpdir(), 'annals-batch-parts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The store, with each appendWaves call counted (a part is one call) and the `fail`-th call (from 1) refused as a lost race, once. */
function counted(store: SqliteEventStore, fail?: number): { store: EventStore; calls: () => number } {
  let calls = 0;
  const appendWaves = async (waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]> => {
    calls++;
    if (calls === fail) {
      const reason = new WrongExpectedRevisionError(waves[0]?.[0]?.stream ?? '', 'no_stream', '0');
      return waves.map((wave) => wave.map((): WaveOutcome => ({ status: 'rejected', reason })));
    }
    return store.appendWaves(waves);
  };
  const wrapped = new Proxy(store, { get: (target, name) => (name === 'appendWaves' ? appendWaves : Reflect.get(target, name, target)) });
  return { store: wrapped as unknown as EventStore, calls: () => calls };
}

function open(t: { teardown(fn: () => unknown): void }, fail?: number): { recorder: Recorder; log: () => Promise<StoredEvent[]>; calls: () => number } {
  const sqlite = openSqliteStore(join(dir, `${randomUUID()}.db`), { writer: 'inline' });
  t.teardown(() => sqlite.close());
  const { store, calls } = counted(sqlite, fail);
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100 });
  t.teardown(() => recorder.close());
  return { recorder, log: () => sqlite.readAll(), calls };
}

/** Persons with keys and no factId (the recorder makes theirs up): two appends each, the key's and the person's. */
const persons = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => f.person(`${prefix}-${i}`, `Person ${i}`));

/** Each result is the registration the log holds, in the batch's order, and nothing is stored twice. */
function sameAsLog(t: Test, out: BatchOutcome, log: StoredEvent[], n: number): void {
  const registrations = log.filter((e) => e.type === 'PersonRegistered');
  t.equal(registrations.length, n, 'each person registered once');
  t.equal(log.filter((e) => e.stream.startsWith('key-')).length, n, 'each key reserved once');
  t.equal(out.results.length, n);
  const bad = out.results.filter((r, i) => {
    const e = registrations[i] as StoredEvent;
    return r.factId !== (e.metadata as { factId?: string }).factId || r.stream !== e.stream || r.revision !== e.revision || r.position !== e.position;
  });
  t.same(bad, [], 'every result is its stored event, in the batch order');
}

t.test('a batch of 1,200 persons is committed in three parts, answered as one', async (t) => {
  const { recorder, log, calls } = open(t);
  const out = await recorder.recordBatch(persons('p', 1_200), ctx);
  t.equal(out.recorded, 1_200);
  t.equal(out.error, undefined);
  t.equal(calls(), 3, '499 persons (998 appends) a part');
  sameAsLog(t, out, await log(), 1_200);
  const keys = (await log()).filter((e) => e.stream === keyStream('p-1199'));
  t.equal(keys.length, 1);
});

t.test('a refusal after committed parts: the facts before it answered (decided again on fresh reads), nothing twice', async (t) => {
  const { recorder, log, calls } = open(t);
  const batch = [...persons('r', 1_100), f.appointed('no-such-office', 'r-0', { from: '2020' }), f.person('r-after', 'Never')];
  const out = await recorder.recordBatch(batch, ctx);
  t.equal(out.recorded, 1_100);
  t.match(out.error, { index: 1_100, error: { kind: 'not_found' } });
  t.ok(calls() >= 3, `the first attempt's two parts, then the retry's commit (${calls()} calls)`);
  const stored = await log();
  sameAsLog(t, out, stored, 1_100);
  t.notOk(stored.some((e) => e.stream === keyStream('r-after')), 'nothing after the refused fact');
});

t.test('a part that loses a race: the batch is decided again, the parts stored before are its results', async (t) => {
  const { recorder, log, calls } = open(t, 2);
  const out = await recorder.recordBatch(persons('w', 1_200), ctx);
  t.equal(out.recorded, 1_200);
  t.equal(out.error, undefined);
  t.ok(calls() >= 4, `the first part, the refused one, then the retry's (${calls()} calls)`);
  sameAsLog(t, out, await log(), 1_200);
});

t.test('a batch that ends on a part boundary commits nothing more at its end', async (t) => {
  const { recorder, log, calls } = open(t);
  const out = await recorder.recordBatch(persons('e', 499), ctx);
  t.equal(out.recorded, 499);
  t.equal(calls(), 1);
  sameAsLog(t, out, await log(), 499);
  // Sent again: every fact is found recorded (generated factIds: new ones, refused by their keys).
  const again = await recorder.recordBatch(persons('e', 2), ctx);
  t.match(again.error, { index: 0, error: { kind: 'conflict' } });
});
