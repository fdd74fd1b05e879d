/**
 * replayTo (src/cli/state.ts, what `annals replay` prints and `annals diff` compares): for
 * varied histories (every fact type, corrections, retractions, facts in the same millisecond)
 * and knownAt moments taken from the log, the streamed entities
 *   - are exactly the entities a brute-force fold of the log filtered to recordedAt <= knownAt
 *     holds (created, not retracted), each once, kind by kind in the documented order;
 *   - carry what that fold says: a person's name as last corrected, an office's appointments;
 *   - equal the running read models' answers at knownAt (read models fed the whole log, not
 *     cut; the property tests prove those answers equal brute-force folds of their own).
 * replayLines (what `annals replay` prints, read out on this thread and one of its own,
 * src/cli/replay-readout.ts) gives exactly replayTo's entities as JSON lines, in its order.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { createdKind, isFactType } from '../events/index.js';
import Database from 'better-sqlite3';
import { ReadQueries, buildFresh, openReadModels, openReader } from '../projections/index.js';
import { openDb } from '../projections/db.js';
import { readOutWithThread } from '../src/cli/replay-readout.js';
import { ENTITY_ORDER, entitiesAt, replayLines, replayTo, type Entity } from '../src/cli/state.js';
import type { StoredEvent } from '../src/store/port.js';
import { TestLog, recordRichHistory } from './fixtures/history.js';

type Data = Record<string, unknown>;

/** The facts as they stood at `k` (corrections applied, retractions removed). */
function factsAt(events: readonly StoredEvent[], k: string): Map<string, { type: string; data: Data }> {
  const facts = new Map<string, { type: string; data: Data }>();
  for (const e of events) {
    if (e.recordedAt > k) continue;
    const d = e.data as Data;
    if (e.type === 'FactCorrected') {
      const f = facts.get(d['fact'] as string);
      if (f) facts.set(d['fact'] as string, { ...f, data: d['data'] as Data });
    } else if (e.type === 'FactRetracted') facts.delete(d['fact'] as string);
    else facts.set(e.metadata['factId'] as string, { type: e.type, data: d });
  }
  return facts;
}

/** The entities of the fold: kind:id of every fact that creates one (its id is its factId). */
function entitiesOfFold(facts: Map<string, { type: string; data: Data }>): string[] {
  const out: string[] = [];
  for (const [id, f] of facts) {
    if (!isFactType(f.type)) continue;
    const kind = createdKind(f.type);
    // An adoption of a document already considered names it; only one that names none creates it.
    if (kind === undefined || (f.type === 'DocumentAdopted' && f.data['document'])) continue;
    out.push(`${kind}:${id}`);
  }
  return out.sort();
}

async function collect(it: AsyncIterable<Entity>): Promise<Entity[]> {
  const out: Entity[] = [];
  for await (const e of it) out.push(e);
  return out;
}

for (const seed of [3, 11, 29]) {
  t.test(`seed ${seed}: the streamed state equals the fold of the log at each knownAt`, async (t) => {
    const log = new TestLog();
    recordRichHistory(log, 260, seed, { offices: 3, people: 6, sameInstant: 0.3 });
    const dir = await mkdtemp(join(tmpdir(), 'annals-replay-test-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'readmodels.db');
    const models = await openReadModels({ store: log, path, log: pino({ level: 'silent' }) });
    await models.caughtUp();
    const reader = openReader(path);
    const live = new ReadQueries(reader);
    t.teardown(async () => {
      reader.close();
      await models.close();
    });
    const times = log.events.map((e) => e.recordedAt);
    const moments = [new Date(Date.parse(times[0] as string) - 1).toISOString(), times[5], times[Math.floor(times.length / 3)], times[Math.floor((2 * times.length) / 3)], times.at(-1)] as string[];
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    for (const k of moments) {
      const got = await collect(replayTo(log, k, { tmpDir: tmp }));
      const facts = factsAt(log.events, k);
      t.same(got.map((e) => `${e.entity}:${e.id}`).sort(), entitiesOfFold(facts), `at ${k}: every entity of the fold, each once`);
      const kinds = got.map((e) => ENTITY_ORDER.indexOf(e.entity));
      t.same(kinds, [...kinds].sort((a, b) => a - b), `at ${k}: kind by kind`);
      for (const p of got.filter((e) => e.entity === 'person')) t.equal(p.name, facts.get(p.id)?.data['name'], `at ${k}: ${p.id}'s name as the fold has it`);
      for (const o of got.filter((e) => e.entity === 'office')) {
        const appointed = (o.holders as Array<{ factId: string; basis: string }>).filter((h) => h.basis === 'appointed').map((h) => h.factId).sort();
        const folded = [...facts].filter(([, f]) => f.type === 'OfficialAppointed' && f.data['office'] === o.id).map(([id]) => id).sort();
        t.same(appointed, folded, `at ${k}: office ${o.id}'s appointments as the fold has them`);
      }
      t.same(got, [...entitiesAt(live, reader, k)], `at ${k}: equal to the running read models' answers`);
      t.same(await readdir(tmp), [], `at ${k}: the temporary file is removed`);
    }
  });
}

t.test('a replay broken off removes its temporary file', async (t) => {
  const log = new TestLog();
  recordRichHistory(log, 80, 5);
  const dir = await mkdtemp(join(tmpdir(), 'annals-replay-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for await (const e of replayTo(log, log.events.at(-1)?.recordedAt as string, { tmpDir: dir })) {
    t.ok(e.id);
    t.equal((await readdir(dir)).length, 1, 'the fold lives in a temporary directory while streaming');
    break;
  }
  t.same(await readdir(dir), []);
});

t.test('replayLines: the lines of replayTo, in its order, read out on two threads', async (t) => {
  const log = new TestLog();
  // Enough entities for many units (100 entities each, an organization one): the thread and this one take turns.
  recordRichHistory(log, 900, 17, { offices: 160, people: 320, sameInstant: 0.2 });
  const dir = await mkdtemp(join(tmpdir(), 'annals-replay-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const times = log.events.map((e) => e.recordedAt);
  for (const k of [times.at(-1)] as string[]) {
    const want = (await collect(replayTo(log, k, { tmpDir: dir }))).map((e) => `${JSON.stringify(e)}\n`);
    let text = '';
    let entities = 0;
    let units = 0;
    for await (const u of replayLines(log, k, { tmpDir: dir })) {
      text += u.text;
      entities += u.entities;
      units += 1;
    }
    t.ok(units > 5, `at ${k}: ${units} units`);
    t.equal(entities, want.length, `at ${k}: every entity counted`);
    t.equal(text, want.join(''), `at ${k}: the same lines in the same order`);
    t.same(await readdir(dir), [], `at ${k}: the temporary file is removed`);
  }
  // Broken off after the first unit: the thread stopped, the file removed.
  for await (const u of replayLines(log, times.at(-1) as string, { tmpDir: dir })) {
    t.ok(u.text.length > 0);
    break;
  }
  t.same(await readdir(dir), [], 'broken off: the temporary file is removed');
});

t.test('readOutWithThread: the same lines with the successions made in one pass or an office at a time, the later units read out to their file first or not', async (t) => {
  const log = new TestLog();
  recordRichHistory(log, 600, 11, { offices: 120, people: 240, sameInstant: 0.2 });
  const dir = await mkdtemp(join(tmpdir(), 'annals-replay-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const times = log.events.map((e) => e.recordedAt);
  for (const k of [times[Math.floor(times.length / 2)], times.at(-1)] as string[]) {
    const path = join(dir, 'fold.db');
    await buildFresh(log, path, pino({ level: 'silent' }), undefined, undefined, { knownAt: k, tempOnDisk: true, readOutOnly: true });
    const db = new Database(path, { readonly: true });
    const want = (await collect(replayTo(log, k, { tmpDir: dir }))).map((e) => `${JSON.stringify(e)}\n`).join('');
    t.ok(want.includes('"entity":"office"') && want.includes('"entity":"person"'), `at ${k}: offices and people among the lines`);
    if (k === times.at(-1)) t.ok(want.includes('"entity":"session"') && want.includes('"entity":"document"'), `at ${k}: sessions and documents among the lines`);
    for (const options of [{ successionsPass: false }, {}, { laterFirst: 3 }, { laterFirst: 1_000_000 }]) {
      let text = '';
      let entities = 0;
      for await (const u of readOutWithThread(db, path, k, options)) {
        text += u.text;
        entities += u.entities;
      }
      t.equal(text, want, `at ${k}, ${JSON.stringify(options)}: the lines of replayTo, in its order`);
      t.equal(entities, want.split('\n').length - 1, `at ${k}, ${JSON.stringify(options)}: every entity counted`);
      t.same((await readdir(dir)).sort(), ['fold.db'], `at ${k}, ${JSON.stringify(options)}: the pass's file and the later units' file removed`);
    }
    db.close();
    await rm(path);
  }
});

t.test('the read-out thread failing: its error, not a hang', async (t) => {
  const log = new TestLog();
  recordRichHistory(log, 300, 5, { offices: 40, people: 80, sameInstant: 0.2 });
  const dir = await mkdtemp(join(tmpdir(), 'annals-replay-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const k = log.events.at(-1)?.recordedAt as string;
  const path = join(dir, 'fold.db');
  await buildFresh(log, path, pino({ level: 'silent' }), undefined, undefined, { knownAt: k, tempOnDisk: true });
  const db = openDb(path);
  t.teardown(() => db.close());
  const drain = async (threadPath: string): Promise<number> => {
    let n = 0;
    for await (const u of readOutWithThread(db, threadPath, k)) n += u.entities;
    return n;
  };
  // The thread cannot open its file: the error it stopped with.
  await t.rejects(drain(join(dir, 'missing', 'fold.db')), /the replay's read-out thread failed: Cannot open database/);
  // The thread's file has no read models: it fails at its start or at the first unit it reads, and says so.
  const empty = join(dir, 'empty.db');
  new Database(empty).close();
  await t.rejects(drain(empty), /the replay's read-out (thread )?failed: ./);
  // The same file on both: every entity (a control for the two above).
  t.ok((await drain(path)) > 100);
});
