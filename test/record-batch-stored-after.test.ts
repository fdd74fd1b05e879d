/**
 * A batch stopped by a store fault answers every fact that is stored. On the embedded store a
 * part is one transaction, so what is stored is always the batch's first facts. EventStoreDB
 * has no multi-stream transaction: a part's appends go out in waves (a registration after its
 * key's reservation), each wave's appends concurrently, so one append failing can leave facts
 * stored that come after the first one not stored, in an earlier wave or beside it in the same
 * wave. The answer then names the first fact not stored (`error.index`, the facts before it in
 * `results`) and lists the later stored ones in `alsoRecorded` with their index and factId, so
 * a client resuming from `error.index` can leave them out. Faults on EventStoreDB come from the
 * gRPC protocol double: every write to one stream answered "Server Is Not Ready".
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStoreDBClient } from '@eventstore/db-client';
import t, { type Test } from 'tap';
import { monotonicFactory } from 'ulid';
import { createRecorder, type Recorder } from '../src/record/index.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { openEsdbStore } from '../src/store/esdb.js';
import type { AppendRequest, EventStore, StoredEvent } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';
import { startEsdbDouble, type EsdbDouble } from './fixtures/esdb-double.js';
import * as f from './fixtures/facts.js';

// A server and the recorder's commit retries (~2 s each fault) make this file's time follow the load.
t.setTimeout(600_000);

const ctx = { principal: 'recorder:test0000', correlationId: 'req-1' };
const fast = { retry: { initialDelayMs: 20, maxDelayMs: 200 } };
const dir = mkdtempSync(join(tmpdir(), 'annals-stored-after-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function esdb(t: Test): Promise<{ double: EsdbDouble; store: EventStore }> {
  const d = await startEsdbDouble();
  const store = await openEsdbStore(d.connectionString, fast);
  t.teardown(async () => {
    await store.close();
    await d.close();
  });
  return { double: d, store };
}

function recorderOn(t: Test, store: EventStore): Recorder {
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100 });
  t.teardown(() => recorder.close());
  return recorder;
}

const factIdOf = (e: StoredEvent) => (e.metadata as { factId?: string }).factId;

/**
 * An organization with a key (its key's reservation in the first wave, its registration in
 * the second) and two persons without keys (the first wave): with the organization's stream
 * failing, the persons, after it in the batch, are stored before it fails.
 */
function laterWave(prefix: string): { batch: f.FactBody[]; org: string } {
  const org = f.newFactId();
  return { batch: [f.organization(`${prefix}-org`, {}, org), f.person(undefined, 'First after'), f.person(undefined, 'Second after')], org };
}

t.test('EventStoreDB: a later wave failing leaves facts after the first not stored; they are answered in alsoRecorded, and a retry from error.index without them records nothing twice', async (t) => {
  const { double: d, store } = await esdb(t);
  const recorder = recorderOn(t, store);
  const { batch, org } = laterWave('later');
  const lift = d.refuseWrites((s) => s === `organization-${org}`);
  const out = await recorder.recordBatch(batch, ctx);
  lift();
  t.equal(out.recorded, 0, 'nothing before the first fact not stored');
  t.same(out.results, []);
  t.match(out.error, { index: 0 });
  t.ok(out.error?.error instanceof StoreUnavailableError, 'the store\'s error, at the organization');
  const persons = (await store.readAll()).filter((e) => e.type === 'PersonRegistered');
  t.equal(persons.length, 2, 'both persons are stored');
  t.same(
    out.alsoRecorded?.map((r) => ({ index: r.index, factId: r.factId, stream: r.stream, revision: r.revision, position: r.position })),
    persons.map((e, i) => ({ index: i + 1, factId: factIdOf(e), stream: e.stream, revision: e.revision, position: e.position })),
    'every stored fact after the index is answered, with its index and what the log holds',
  );
  t.notOk((await store.readAll()).some((e) => e.type === 'OrganizationRegistered'), 'the organization is not stored');
  // The client resumes at error.index, leaving out what alsoRecorded names.
  const again = await recorder.recordBatch(batch.slice(0, 1), ctx);
  t.equal(again.recorded, 1);
  t.equal(again.error, undefined);
  const log = await store.readAll();
  t.equal(log.filter((e) => e.type === 'PersonRegistered').length, 2, 'each person recorded once');
  t.equal(log.filter((e) => e.type === 'OrganizationRegistered').length, 1);
});

t.test('EventStoreDB: one append of a wave failing while a later fact of the same wave is stored: alsoRecorded names it', async (t) => {
  const { double: d, store } = await esdb(t);
  const recorder = recorderOn(t, store);
  const first = f.newFactId();
  const batch = [f.person(undefined, 'Refused', first), f.person(undefined, 'Stored beside it'), f.person(undefined, 'Stored too')];
  const lift = d.refuseWrites((s) => s === `person-${first}`);
  const out = await recorder.recordBatch(batch, ctx);
  lift();
  t.equal(out.recorded, 0);
  t.match(out.error, { index: 0 });
  const persons = (await store.readAll()).filter((e) => e.type === 'PersonRegistered');
  t.same(out.alsoRecorded?.map((r) => [r.index, r.factId]), persons.map((e, i) => [i + 1, factIdOf(e)]), 'the two persons stored beside it');
  t.equal(persons.length, 2);
});

t.test('EventStoreDB: a fact refused at its append (a tombstoned stream) before a fact of an earlier index was stored: the facts before it are recorded, then the refusal', async (t) => {
  const { double: d, store } = await esdb(t);
  const recorder = recorderOn(t, store);
  const setup = await recorder.recordBatch([f.organization('tomb-org'), f.person('tomb-person', 'P'), f.session('tomb-session', 'tomb-org', { from: '2025-11-27' })], ctx);
  t.equal(setup.recorded, 3);
  const client = EventStoreDBClient.connectionString(d.connectionString);
  t.teardown(() => client.dispose());
  await client.tombstoneStream(setup.results[2]!.stream);
  // The person's registration waits for its key's reservation (a second wave); the attendance
  // goes in the first wave and is refused there: the second wave was never sent.
  const out = await recorder.recordBatch([f.person('after-tomb', 'Before the refusal'), f.attended('tomb-session', 'tomb-person')], ctx);
  t.equal(out.recorded, 1, 'the fact before the refused one is recorded');
  t.match(out.error, { index: 1, error: { kind: 'conflict' } });
  t.equal(out.alsoRecorded, undefined);
  const persons = (await store.readAll()).filter((e) => e.type === 'PersonRegistered' && factIdOf(e) === out.results[0]?.factId);
  t.equal(persons.length, 1, 'its result is what the log holds');
});

t.test('the embedded store: the same fault leaves nothing of the part stored (one transaction); after a stored part, the answer is that part and no alsoRecorded', async (t) => {
  const sqlite = openSqliteStore(join(dir, `${randomUUID()}.db`), { writer: 'inline' });
  t.teardown(() => sqlite.close());
  let refused = '';
  const store = new Proxy(sqlite, {
    get: (target, name) => {
      if (name === 'appendWaves') {
        return async (waves: readonly (readonly AppendRequest[])[]) => {
          if (waves.some((w) => w.some((a) => a.stream === refused))) throw new StoreUnavailableError('injected: the commit failed');
          return target.appendWaves(waves);
        };
      }
      const v = Reflect.get(target, name, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as EventStore;
  const recorder = recorderOn(t, store);
  const one = laterWave('one');
  refused = `organization-${one.org}`;
  await t.rejects(recorder.recordBatch(one.batch, ctx), StoreUnavailableError, 'nothing of the batch stored: the request fails whole');
  t.equal((await sqlite.readAll()).length, 0);
  // 499 persons with keys make the first part (998 appends); the fault falls on the second.
  const two = laterWave('two');
  refused = `organization-${two.org}`;
  const batch = [...Array.from({ length: 499 }, (_, i) => f.person(`p-${i}`, `Person ${i}`)), ...two.batch];
  const out = await recorder.recordBatch(batch, ctx);
  t.equal(out.recorded, 499);
  t.match(out.error, { index: 499 });
  t.equal(out.alsoRecorded, undefined, 'nothing stored after the index');
  t.equal((await sqlite.readAll()).filter((e) => e.type === 'PersonRegistered').length, 499, 'the first part alone');
});

t.test('HTTP on EventStoreDB: 200 with the stored facts, the 503 at the first not stored, Retry-After, and alsoRecorded', async (t) => {
  const { double: d, store } = await esdb(t);
  const { app, auth } = await startTestApp(t, { store });
  const { batch, org } = laterWave('http');
  const lift = d.refuseWrites((s) => s === `organization-${org}`);
  const res = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'), payload: batch });
  lift();
  t.equal(res.statusCode, 200);
  t.ok(res.headers['retry-after'], 'Retry-After');
  const body = res.json() as { recorded: number; results: unknown[]; error: { index: number; status: number }; alsoRecorded: { index: number; factId: string; stream: string; revision: number; position: string }[] };
  t.equal(body.recorded, 0);
  t.same(body.results, []);
  t.match(body.error, { index: 0, status: 503 });
  const persons = (await store.readAll()).filter((e) => e.type === 'PersonRegistered');
  t.same(body.alsoRecorded, persons.map((e, i) => ({ index: i + 1, factId: factIdOf(e), stream: e.stream, revision: e.revision, position: e.position })), 'index, factId, stream, revision, position of each');
  // A client sends the batch again with the factIds it was given: nothing twice.
  const resent = batch.map((b, i) => ({ ...b, ...(body.alsoRecorded.find((r) => r.index === i) ? { factId: body.alsoRecorded.find((r) => r.index === i)!.factId } : {}) }));
  const again = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: auth('recorder'), payload: resent });
  t.equal(again.json().recorded, 3);
  t.equal(again.json().alsoRecorded, undefined);
  t.equal((await store.readAll()).filter((e) => e.type === 'PersonRegistered').length, 2, 'each person once');
});
