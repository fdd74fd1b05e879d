/**
 * The recorder below HTTP: ordering of a batch's appends in the log, stale key reservations,
 * corrections of facts recorded by another process, one factId for one fact, and the wait for
 * the read models.
 */
import t from 'tap';
import { monotonicFactory } from 'ulid';
import { derivedEventId, keyStream } from '../events/index.js';
import { DomainError } from '../src/domain/index.js';
import { createRecorder, parseFactRequest, type Recorder } from '../src/record/index.js';
import { NO_METRICS } from '../src/metrics/sink.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { EventStore } from '../src/store/port.js';
import * as f from './fixtures/facts.js';

const ctx = { principal: 'recorder:test0000', correlationId: 'req-1' };

function open(t: { teardown(fn: () => unknown): void }, store: EventStore, waited: string[] = []): Recorder {
  const id = monotonicFactory();
  const recorder = createRecorder({
    store,
    readModels: { waitFor: async (p) => (waited.push(p), true) },
    newId: () => id(),
    readWaitMs: 100,
  });
  t.teardown(() => recorder.close());
  return recorder;
}

t.test('a batch appends in dependency order: keys before registrations, entities before facts naming them', async (t) => {
  const store = createMemoryStore();
  const waited: string[] = [];
  const recorder = open(t, store, waited);
  const out = await recorder.recordBatch([...f.officeGround('w'), f.appointed('w-sg', 'w-alice', { from: '2020' })], ctx);
  t.equal(out.recorded, 5);
  const log = await store.readAll();
  const at = (pred: (type: string, stream: string) => boolean): number => log.findIndex((e) => pred(e.type, e.stream));
  t.ok(at((_, s) => s === keyStream('w-org')) < at((ty) => ty === 'OrganizationRegistered'));
  t.ok(at((ty) => ty === 'OrganizationRegistered') < at((ty) => ty === 'OfficeEstablished'));
  t.ok(at((ty) => ty === 'OfficeEstablished') < at((ty) => ty === 'OfficialAppointed'));
  t.ok(at((ty) => ty === 'PersonRegistered') < at((ty) => ty === 'OfficialAppointed'));
  t.equal(waited.at(-1), log.at(-1)?.position, 'waited for the read models to reach the last position');
});

t.test('a stale key reservation is re-used by a retry of its factId, by nothing else', async (t) => {
  const store = createMemoryStore();
  const recorder = open(t, store);
  const factId = f.newFactId();
  await store.append(
    keyStream('stale'),
    [{ id: derivedEventId(factId, 'key'), type: 'KeyReserved', data: { key: 'stale', entityId: factId, entityKind: 'person', factId }, metadata: { causationId: factId, recordedBy: ctx.principal, schemaVersion: 1 } }],
    'no_stream',
  );
  const other = await recorder.recordBatch([f.person('stale', 'Someone else')], ctx);
  t.match(other.error, { index: 0, error: { kind: 'conflict', extra: { collidesWith: factId } } });
  const retry = await recorder.record(parseFactRequest(f.person('stale', 'The one', factId)), ctx);
  t.equal(retry.created, true);
  t.equal(retry.id, factId);
  t.equal((await store.readStream(keyStream('stale'))).length, 1, 'one reservation');
});

t.test('a correction of a fact recorded by another process finds it through the log', async (t) => {
  const store = createMemoryStore();
  const a = open(t, store);
  const b = open(t, store);
  await b.ready();
  const p = await a.record(parseFactRequest(f.person('p1', 'Jon')), ctx);
  const c = await b.record(parseFactRequest(f.corrected(p.factId, { key: 'p1', name: 'John' })), ctx);
  t.equal(c.stream, p.stream);
  const r = await b.record(parseFactRequest(f.retracted(p.factId)), ctx);
  t.equal(r.revision, 2);
});

t.test('one factId names one fact, whatever stream the new content would go to', async (t) => {
  const store = createMemoryStore();
  const recorder = open(t, store);
  const factId = f.newFactId();
  await recorder.record(parseFactRequest(f.person(undefined, 'Ann', factId)), ctx);
  await t.rejects(recorder.record(parseFactRequest(f.organization('ann-org', {}, factId)), ctx), new DomainError('conflict', ''), 'refused as a conflict');
  t.equal((await store.readAll()).length, 1);
});

t.test('within a batch: a fact repeated is recorded once; a key taken earlier in the batch is refused', async (t) => {
  const store = createMemoryStore();
  const recorder = open(t, store);
  const p = f.person('twice', 'Twice', f.newFactId());
  const out = await recorder.recordBatch([p, p, f.person('twice', 'Other')], ctx);
  t.equal(out.recorded, 2);
  t.same(out.results[1], { ...out.results[0], created: false });
  t.type(out.error?.error, DomainError);
  t.equal((out.error?.error as DomainError).extra.collidesWith, p.factId);
});

t.test('talks without a session, documents considered then adopted, memberships, reports', async (t) => {
  const store = createMemoryStore();
  const recorder = open(t, store);
  const out = await recorder.recordBatch(
    [
      f.organization('csto'),
      f.state('ru'),
      f.person('tasmagambetov', 'Imangali Tasmagambetov'),
      f.membership('csto', 'ru', '1992-05-15'),
      f.session('csc-2025', 'csto', { from: '2025-11-27' }),
      f.considered('strategy', 'csto', 'csc-2025'),
      f.adopted({ document: 'strategy', body: 'csto', adoptedOn: '2025-11-27', effective: { from: '2026', to: '2030' } }),
      f.adopted({ document: 'strategy', body: 'csto', adoptedOn: '2025-11-28' }),
    ],
    ctx,
  );
  t.equal(out.recorded, 7);
  t.match(out.error, { index: 7, error: { kind: 'conflict' } });
  const more = await recorder.recordBatch(
    [
      f.report('csc-2025', 'tasmagambetov'),
      f.attended('csc-2025', 'tasmagambetov'),
      f.talks({ session: 'csc-2025', participants: [{ person: 'tasmagambetov' }, { organization: 'ru' }] }),
      f.talks({ on: '2025-11-26', participants: [{ organization: 'csto' }] }),
      f.chairmanship('csto', 'ru', { from: '2025-01-01', to: '2025-12-31' }),
    ],
    ctx,
  );
  t.equal(more.recorded, 5, JSON.stringify(more.error));
  t.match(more.results[3]?.stream, /^talks-/);
  const talks = (await store.readStream(more.results[2]?.stream as string)).at(-1);
  t.equal((talks?.data as { on: string }).on, '2025-11-27', "talks take the session's first day");
});

t.test('groupLingerMs: after a group of several, the next waits for as many facts; a lone writer never waits', async (t) => {
  const store = createMemoryStore();
  const id = monotonicFactory();
  const sizes: number[] = [];
  // A linger far longer than the test: a group that waited for its timer instead of its target would time the test out.
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), groupLingerMs: 60_000, metrics: { ...NO_METRICS, groupSize: (n) => void sizes.push(n) } });
  t.teardown(() => recorder.close());
  const first = await Promise.all(['a', 'b', 'c'].map((k) => recorder.record(parseFactRequest(f.person(`linger-${k}`, k)), ctx)));
  t.same(sizes, [3], 'three facts sent in one turn: one group');
  const alone = recorder.record(parseFactRequest(f.person('linger-d', 'd')), ctx);
  await new Promise((resolve) => setTimeout(resolve, 20)); // deliberate sleep: the lone fact sits in its linger a while first, so its group of three shows it waited rather than went alone
  const later = ['e', 'f'].map((k) => recorder.record(parseFactRequest(f.person(`linger-${k}`, k)), ctx));
  const second = await Promise.all([alone, ...later]);
  t.same(sizes, [3, 3], 'the fact sent alone waited for two more: one group of three again');
  t.ok([...first, ...second].every((r) => r.created), 'every fact recorded');
  t.equal((await store.readAll()).length, 12, 'six registrations and their key reservations');

  const lone: number[] = [];
  const single = createRecorder({ store: createMemoryStore(), readModels: { waitFor: async () => true }, newId: () => id(), groupLingerMs: 60_000, metrics: { ...NO_METRICS, groupSize: (n) => void lone.push(n) } });
  t.teardown(() => single.close());
  for (const k of ['g', 'h', 'i']) await single.record(parseFactRequest(f.person(`linger-${k}`, k)), ctx);
  t.same(lone, [1, 1, 1], 'one writer at a time: groups of one, none waiting');
});
