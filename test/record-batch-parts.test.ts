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
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { NO_METRICS, type MetricsSink } from '../src/metrics/sink.js';
import { StoreUnavailableError, WrongExpectedRevisionError } from '../src/store/errors.js';
import { createMemoryStore } from '../src/store/memory.js';
import { appendWaves as appendWavesOn } from '../src/store/waves.js';
import type { AppendRequest, EventStore, StoredEvent, WaveOutcome } from '../src/store/port.js';
import { openSqliteStore, type SqliteEventStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

const ctx = { principal: 'recorder:test0000', correlationId: 'req-1' };
const dir = mkdtempSync(join(tmpdir(), 'annals-batch-parts-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The store, with each appendWaves call counted (a part is one call) and the `fail`-th call (from 1) refused as a lost race, once.
 * `faults.reads`: after the first appendWaves call, that many stream reads fail (StoreUnavailableError), one after the other.
 */
function counted(store: EventStore, fail?: number, faults: { reads: number } = { reads: 0 }): { store: EventStore; calls: () => number } {
  let calls = 0;
  const readStream = async (...args: Parameters<EventStore['readStream']>) => {
    if (calls >= 1 && faults.reads > 0) {
      faults.reads--;
      throw new StoreUnavailableError('injected: a read of the store failed');
    }
    return store.readStream(...args);
  };
  const appendWaves = async (waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]> => {
    calls++;
    if (calls === fail) {
      const reason = new WrongExpectedRevisionError(waves[0]?.[0]?.stream ?? '', 'no_stream', '0');
      return waves.map((wave) => wave.map((): WaveOutcome => ({ status: 'rejected', reason })));
    }
    return appendWavesOn(store, waves);
  };
  const wrapped = new Proxy(store, {
    get: (target, name) => {
      if (name === 'appendWaves') return appendWaves;
      if (name === 'readStream') return readStream;
      const v = Reflect.get(target, name, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped as unknown as EventStore, calls: () => calls };
}

/** A metrics sink that counts factRecorded by type. */
function counting(): { sink: MetricsSink; recorded: Map<string, number> } {
  const recorded = new Map<string, number>();
  return { sink: { ...NO_METRICS, factRecorded: (type) => void recorded.set(type, (recorded.get(type) ?? 0) + 1) }, recorded };
}

function open(
  t: { teardown(fn: () => unknown): void },
  fail?: number,
  options: { faults?: { reads: number }; metrics?: MetricsSink } = {},
): { recorder: Recorder; log: () => Promise<StoredEvent[]>; calls: () => number } {
  const sqlite: SqliteEventStore = openSqliteStore(join(dir, `${randomUUID()}.db`), { writer: 'inline' });
  t.teardown(() => sqlite.close());
  const { store, calls } = counted(sqlite, fail, options.faults);
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100, ...(options.metrics ? { metrics: options.metrics } : {}) });
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

/** Persons with keys and factIds (a client's retry sends the same ones): their streams are read when decided. */
const personsWithIds = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => f.person(`${prefix}-${i}`, `Person ${i}`, f.newFactId()));

t.test('a store read failing after a committed part: the stored part is answered, the batch stops at the first fact not stored; a retry records nothing twice', async (t) => {
  const faults = { reads: 1 };
  const { sink, recorded } = counting();
  const { recorder, log, calls } = open(t, undefined, { faults, metrics: sink });
  const batch = personsWithIds('s', 1_200);
  const out = await recorder.recordBatch(batch, ctx);
  t.equal(calls(), 1, 'the first part committed, then the read failed');
  t.equal(faults.reads, 0);
  t.equal(out.recorded, 499, 'the first part (499 persons) is answered as recorded');
  t.match(out.error, { index: 499 });
  t.ok(out.error?.error instanceof StoreUnavailableError, 'the store\'s error, at the first fact not stored');
  sameAsLog(t, out, await log(), 499);
  t.same(out.results.map((r) => r.factId), batch.slice(0, 499).map((b) => b['factId']));
  // The same request again (the store answers now): the 499 are found recorded, the rest recorded once.
  const again = await recorder.recordBatch(batch, ctx);
  t.equal(again.recorded, 1_200);
  t.equal(again.error, undefined);
  sameAsLog(t, again, await log(), 1_200);
  t.same(again.results.slice(0, 499), out.results.map((r) => ({ ...r, created: false })), 'the stored part: the same results');
  t.equal(recorded.get('PersonRegistered'), 1_200, 'each fact counted once');
});

t.test('a store read failing before anything of the batch is stored: the error, nothing stored (as before parts)', async (t) => {
  const sqlite = openSqliteStore(join(dir, `${randomUUID()}.db`), { writer: 'inline' });
  t.teardown(() => sqlite.close());
  let failing = true;
  const store = new Proxy(sqlite, {
    get: (target, name) => {
      if (name === 'readStream' && failing) {
        return async () => {
          failing = false;
          throw new StoreUnavailableError('injected');
        };
      }
      const v = Reflect.get(target, name, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as EventStore;
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100 });
  await t.rejects(recorder.recordBatch(personsWithIds('n', 600), ctx), StoreUnavailableError);
  t.equal((await sqlite.readAll()).length, 0);
});

t.test('metrics: every fact of a batch counted once when a part is decided again (a lost race, a refusal)', async (t) => {
  const raced = counting();
  const a = open(t, 2, { metrics: raced.sink });
  t.equal((await a.recorder.recordBatch(persons('m', 1_200), ctx)).recorded, 1_200);
  t.equal(raced.recorded.get('PersonRegistered'), 1_200, 'made-up factIds: the first part counted when stored, not again when the store answers it as the original');
  // Given factIds: the decision again finds the first part recorded (created: false), which was counted when stored.
  const given = counting();
  const c = open(t, 2, { metrics: given.sink });
  t.equal((await c.recorder.recordBatch(personsWithIds('g', 1_200), ctx)).recorded, 1_200);
  t.equal(given.recorded.get('PersonRegistered'), 1_200, 'given factIds: the first part counted when stored, not again when found recorded');
  const refused = counting();
  const b = open(t, undefined, { metrics: refused.sink });
  const out = await b.recorder.recordBatch([...persons('q', 1_100), f.appointed('no-such-office', 'q-0', { from: '2020' })], ctx);
  t.equal(out.recorded, 1_100);
  t.equal(refused.recorded.get('PersonRegistered'), 1_100);
});

t.test('HTTP: a store fault after a committed part answers 200 with the stored facts and the 503 at its index; /metrics counts each fact once', async (t) => {
  const faults = { reads: 0 };
  const { store } = counted(createMemoryStore(), undefined, faults);
  const a = await startTestApp(t, { store });
  const batch = personsWithIds('h', 1_200);
  faults.reads = 1;
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: batch });
  t.equal(res.statusCode, 200);
  const body = res.json() as { recorded: number; results: { factId: string }[]; error?: { index: number; status: number } };
  t.equal(body.recorded, 499);
  t.same(body.results.map((r) => r.factId), batch.slice(0, 499).map((b) => b['factId']));
  t.match(body.error, { index: 499, status: 503 });
  t.notOk('alsoRecorded' in body, 'one transaction a part: nothing stored after the index, no alsoRecorded');
  t.equal(res.headers['retry-after'], '1');
  const again = await a.app.inject({ method: 'POST', url: '/v1/facts/batch', headers: a.auth('recorder'), payload: batch });
  t.equal(again.statusCode, 200);
  t.equal((again.json() as { recorded: number }).recorded, 1_200);
  t.equal((again.json() as { error?: unknown }).error, undefined);
  const registered = (await a.runtime.store.readAll()).filter((e) => e.type === 'PersonRegistered');
  t.equal(registered.length, 1_200, 'nothing recorded twice');
  const metrics = await a.app.inject({ url: '/metrics', headers: a.auth('admin') });
  const family = parsePrometheusTextFormat(metrics.body).find((x) => x.name === 'annals_facts_recorded_total');
  const sample = family?.metrics.find((m) => m.labels?.['type'] === 'PersonRegistered') as { value?: string } | undefined;
  t.equal(Number(sample?.value), 1_200, 'each fact counted once');
});
