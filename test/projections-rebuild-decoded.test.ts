/**
 * A rebuild whose log is read and decoded on a thread of its own (BuildOptions.decodeThread,
 * projections/rebuild-decoder.ts) builds the same rows as the running projections and as a
 * rebuild decoded on the writer's thread, over the embedded store's real file: corrections and
 * retractions (applied by the writer, in their place), a key reservation (not a fact), an
 * event a projection cannot apply (parked, and logged with its error as the writer's thread
 * logs one), and several decoded batches.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { UNBINDABLE, cloneableError } from '../projections/bulk-rows.js';
import { buildFresh, rebuildReadModels } from '../projections/index.js';
import { dumpTables, startReadApp, storeWithHistory } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

/** A logger keeping its lines (JSON), as the service's would write them. */
function keptLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

t.test('decoded on a thread of its own: the same rows as the running projections and as one thread', async (t) => {
  const person = '01JPEND0PERSON000000000001';
  const { log, store, dir } = await storeWithHistory(t, 3000, 11, {
    after: 1500,
    append: async (store, log) => {
      // Not a fact (a key reservation), and a fact without its factId (parked by both builds).
      await store.append('keys-x', [{ id: '00000000-0000-4000-8000-900000000001', type: 'KeyReserved', data: { kind: 'person', key: 'x', factId: 'none' }, metadata: {} }], 'any');
      await store.append('person-y', [{ id: '00000000-0000-4000-8000-900000000002', type: 'PersonRegistered', data: { key: 'y', name: 'Y' }, metadata: { schemaVersion: 1 } }], 'any');
      // A session whose city is no string (past the API's validation): SQLite binds no boolean,
      // so its rows are refused where they are decoded, before any is buffered (parked by both).
      const held = log.events.find((x) => x.type === 'SessionHeld') as (typeof log.events)[number];
      const data = { ...(held.data as Record<string, unknown>), key: 'session-bad', place: { city: true } };
      await store.append('session-bad', [{ id: '00000000-0000-4000-8000-900000000003', type: 'SessionHeld', data, metadata: { ...held.metadata, factId: '01JBADSESSION0000000000000' } }], 'any');
      // A person registered, attending a session, then corrected (twice: the second names the
      // first correction), the attendance corrected and the person retracted, one after the
      // other: a bulk build's `facts` rows wait to be written 32 a statement, so the corrections
      // read their facts from the rows waiting and the retraction writes them first.
      const attended = log.events.find((x) => x.type === 'DelegateAttended') as (typeof log.events)[number];
      const meta = (factId: string) => ({ ...attended.metadata, factId });
      const [attendance, fix1, fix2, fix3, gone] = ['01JPEND0ATTEND000000000002', '01JPEND0FIX10000000000003', '01JPEND0FIX20000000000004', '01JPEND0FIX30000000000005', '01JPEND0GONE0000000000006'];
      const put = (n: number, stream: string, type: string, data: Record<string, unknown>, factId: string) =>
        store.append(stream, [{ id: `00000000-0000-4000-8000-9000000001${String(n).padStart(2, '0')}`, type, data, metadata: meta(factId) }], 'any');
      const attendData = { ...(attended.data as Record<string, unknown>), person };
      await put(1, `person-${person}`, 'PersonRegistered', { key: 'pending', name: 'Pending' }, person);
      await put(2, attended.stream, 'DelegateAttended', attendData, attendance);
      await put(3, `person-${person}`, 'FactCorrected', { fact: person, data: { key: 'pending', name: 'Pending, corrected' }, reason: 'test' }, fix1);
      await put(4, `person-${person}`, 'FactCorrected', { fact: fix1, data: { key: 'pending', name: 'Pending, corrected twice' }, reason: 'test' }, fix2);
      await put(5, attended.stream, 'FactCorrected', { fact: attendance, data: { ...attendData, representing: null }, reason: 'test' }, fix3);
      await put(6, `person-${person}`, 'FactRetracted', { fact: person, reason: 'test' }, gone);
    },
  });
  t.ok(log.events.some((e) => e.type === 'FactCorrected') && log.events.some((e) => e.type === 'FactRetracted'), 'corrections and retractions in the log');

  const { readModels, path } = await startReadApp(t, store, { dir: join(dir, 'app') });
  t.ok(await readModels.waitFor((await store.head()) as string, 20_000), 'live projections reached the head');
  const running = dumpTables(path);

  // The pages the writer's thread reads itself (none when the thread decodes).
  let mainReads = 0;
  const readAll = store.readAll.bind(store);
  store.readAll = (o) => {
    mainReads++;
    return readAll(o);
  };
  const threaded = join(dir, 'threaded.db');
  // 7 pages of 500 events, 3 decoded ahead: the writer takes batches while the thread reads on.
  const shown: number[] = [];
  const threadedLog = keptLog();
  const r1 = await buildFresh(store, threaded, threadedLog.log, (p) => shown.push(p.applied), undefined, { pageSize: 500, decodeThread: true });
  t.equal(shown.at(-1), 3009, 'progress shown, up to every event');
  t.equal(mainReads, 0, 'the thread read every page');
  mainReads = 0;
  const single = join(dir, 'single.db');
  const singleLog = keptLog();
  const r2 = await buildFresh(store, single, singleLog.log, undefined, undefined, { pageSize: 500, decodeThread: false });
  t.equal(mainReads, 7 + 1, 'on the writer’s thread: 7 pages of 500, then the empty one');
  t.equal(r1.events, 3009, 'every event counted, the key reservation too');
  t.equal(r2.events, 3009);
  const a = dumpTables(threaded);
  t.same(a, dumpTables(single), 'same rows as decoded on the writer’s thread');
  t.same(a, running, 'same rows as the running projections');
  const views = (r: typeof r1) => r.phases.find((p) => p.phase.startsWith('session_items: views'))?.phase;
  t.match(views(r1), /the rows naming \d+ ids/, 'the session items’ texts made as the rows were buffered, not every row derived at the end');
  t.match(views(r2), /the rows naming \d+ ids/);
  t.same(new Database(threaded, { readonly: true }).prepare('SELECT name FROM entities WHERE id = ? ORDER BY position').pluck().all(person), ['Pending', 'Pending, corrected', 'Pending, corrected twice'], 'the corrections read the facts waiting to be written');
  t.ok(new Database(threaded, { readonly: true }).prepare('SELECT retracted_at FROM facts WHERE fact_id = ?').pluck().get(person), 'the retraction marked the fact that waited');
  // The first page applied on the writer's thread (annals rebuild's path), then the thread.
  const handed = join(dir, 'handed.db');
  const r5 = await buildFresh(store, handed, silent, undefined, undefined, { pageSize: 500 });
  t.equal(r5.events, 3009);
  t.match(views(r5), /the rows naming \d+ ids/);
  t.same(dumpTables(handed), running, 'the first page on the writer’s thread, the rest decoded: same rows');
  // Pages of 2,500 cut into batches of 1,000 (the writer's thread holds one batch at a time).
  await buildFresh(store, join(dir, 'cut.db'), silent, undefined, undefined, { pageSize: 2500, decodeThread: true });
  t.same(dumpTables(join(dir, 'cut.db')), running, 'pages cut into batches: same rows');
  const parked = (file: string) => {
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT event_id, error FROM parked').raw().all();
    db.close();
    return rows;
  };
  t.same(
    parked(threaded),
    [
      ['00000000-0000-4000-8000-900000000002', 'event has no metadata.factId'],
      ['00000000-0000-4000-8000-900000000003', 'SQLite3 can only bind numbers, strings, bigints, buffers, and null'],
    ],
    'the fact without a factId parked, and the session SQLite cannot bind',
  );
  t.equal(new Database(threaded, { readonly: true }).prepare("SELECT count(*) FROM entities WHERE fact_id = '01JBADSESSION0000000000000'").pluck().get(), 0, 'none of its rows written');
  t.same(parked(threaded), parked(single));
  // Each parked event logged with its error as the writer's thread logs one it parks itself: the
  // error's class, message and stack (pino's err), not its message alone.
  const parkedLines = (lines: Record<string, unknown>[]) => lines.filter((l) => l['msg'] === 'projection failed on an event; parked it and went on');
  const errs = (lines: Record<string, unknown>[]) =>
    parkedLines(lines).map((l) => {
      const e = l['err'] as { type: string; message: string; stack: string };
      return [l['factId'], e.type, e.message, e.stack.split('\n')[0]];
    });
  t.same(errs(threadedLog.lines), [
    [null, 'Error', 'event has no metadata.factId', 'Error: event has no metadata.factId'],
    ['01JBADSESSION0000000000000', 'TypeError', UNBINDABLE, `TypeError: ${UNBINDABLE}`],
  ], 'decoded on the thread: each parked event logged with its error object');
  t.same(errs(threadedLog.lines), errs(singleLog.lines), 'as on the writer’s thread');
  t.match((parkedLines(threadedLog.lines)[1]?.['err'] as { stack: string }).stack, /\n\s+at checkCell .*bulk-rows/, 'the stack of the decoding thread, where the error was thrown');
  t.ok(threadedLog.lines.some((l) => l['msg'] === 'the rest of the log is read and decoded on a thread of its own'), 'the thread said in the log');
  t.notOk(singleLog.lines.some((l) => l['msg'] === 'the rest of the log is read and decoded on a thread of its own'), 'and not when there is none');

  // Only the events known then (a replay's fold): the same on both paths.
  const knownAt = log.events[2000]?.recordedAt as string;
  const r3 = await buildFresh(store, join(dir, 'past-threaded.db'), silent, undefined, undefined, { pageSize: 500, decodeThread: true, knownAt });
  const r4 = await buildFresh(store, join(dir, 'past-single.db'), silent, undefined, undefined, { pageSize: 500, decodeThread: false, knownAt });
  t.equal(r3.events, r4.events, 'the same events kept');
  t.same(dumpTables(join(dir, 'past-threaded.db')), dumpTables(join(dir, 'past-single.db')), 'a past knownAt: same rows');

  // `annals rebuild`'s path: a log shorter than a page (5,000) is read on the writer's thread.
  mainReads = 0;
  const auto = join(dir, 'auto.db');
  await rebuildReadModels({ store, path: auto, log: silent });
  t.equal(mainReads, 2, 'a short first page: no thread (the page, then the empty one)');
  t.same(dumpTables(auto), running, 'rebuildReadModels: same rows');
});

t.test('an error the structured clone refuses crosses to the writer as an Error with its message and stack', async (t) => {
  const plain = new TypeError('a plain error');
  t.equal(cloneableError(plain), plain, 'a built-in error crosses as itself');
  const odd = new Error('with a cause no clone takes', { cause: { f: () => 1 } });
  t.throws(() => structuredClone(odd), { name: 'DataCloneError' }, 'postMessage would refuse it');
  const crossing = cloneableError(odd) as Error;
  t.not(crossing, odd);
  t.match(crossing, { name: 'Error', message: 'with a cause no clone takes', stack: odd.stack });
  t.doesNotThrow(() => structuredClone(crossing));
  t.equal(cloneableError('not an error'), 'not an error', 'a thrown string crosses as itself');
  const fn = () => 1;
  t.match(cloneableError(fn), { name: 'Error', message: String(fn) }, 'a thrown function: an Error of its text');
});
