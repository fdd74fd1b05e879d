/**
 * An adoption's stored item (documents/stored.ts: `item_head`, `item_tail`, the item's text up
 * to its body and from its session, as known when the row was written, and `item_to`, until when
 * they hold): corrections and retractions of the documents and sessions a page of documents
 * shows, a correction of a correction, a session named before it is registered, a correction at
 * the same instant as an adoption, at every moment of the log and 1 ms before each. Every page
 * equals the page made as objects (the entities read at k, not the stored texts); the rows'
 * item_to is the first close of a version they show; a rebuild makes the same rows as the live
 * writer, whether the live one applied the log at once or an event a batch.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { Test } from 'tap';
import type { ReadQueries } from '../projections/queries.js';
import type { StoredEvent } from '../src/store/port.js';
import { TestLog, namedLog, sameAsRebuilt, startReadApp, testUlid, type NamedLog } from './fixtures/history.js';

const id = (e: StoredEvent): string => e.metadata['factId'] as string;

function history(): NamedLog {
  const named = namedLog();
  const { at, ids, put } = named;
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  put('council', 'SessionHeld', { key: 'council', body: ids['org'], title: 'Council', held: { from: '2001-03-01', to: '2001-03-05' } });
  put('summit', 'SessionHeld', { body: ids['org'], title: 'Summit', held: { from: '2001-06-01' } });
  put('plan', 'DocumentAdopted', { key: 'plan', title: 'Plan', kind: 'plan', summary: 'A "plan"\n\u00e9t\u00e9', body: ids['org'], session: ids['council'], adoptedOn: '2001-03-02' });
  put('treaty', 'DocumentConsidered', { title: 'Treaty', kind: 'treaty', period: { from: '2001', to: '2010' }, body: ids['org'], session: ids['council'] });
  put('treatyAdopted', 'DocumentAdopted', { document: ids['treaty'], body: ids['org'], session: ids['summit'], adoptedOn: '2001-06-01', effective: { from: '2001-06', to: '2003' } });
  // A session named before its registration (a log made by hand: the service refuses it).
  const later = testUlid(900);
  put('early', 'DocumentAdopted', { title: 'Early', kind: 'statute', body: ids['org'], session: later, adoptedOn: '2001-01' });
  // No session: the session shown is the one it was considered at, which is not stored.
  put('memo', 'DocumentAdopted', { title: 'Memo', kind: 'memo', body: ids['org'], adoptedOn: '2001' });
  put('councilCorrected', 'FactCorrected', { fact: ids['council'], data: { key: 'council', body: ids['org'], title: 'Spring Council', held: { from: '2001-03-01', to: '2001-03-05' } }, reason: 'title' });
  put('treatyCorrected', 'FactCorrected', { fact: ids['treaty'], data: { title: 'Treaty of Friendship', kind: 'treaty', period: { from: '2001', to: '2010' }, body: ids['org'], session: ids['council'] }, reason: 'title' });
  put('registeredLate', 'SessionHeld', { body: ids['org'], title: 'Late Session', held: { from: '2001-01-01' } }, { factId: later });
  // An adoption and a correction of the session it names at the same instant, the adoption first in the log.
  put('pact', 'DocumentAdopted', { title: 'Pact', kind: 'pact', body: ids['org'], session: ids['summit'], adoptedOn: '2001-06-02' });
  put('summitCorrected', 'FactCorrected', { fact: ids['summit'], data: { body: ids['org'], title: 'Great Summit', held: { from: '2001-06-01' } }, reason: 'title' }, { at: at['pact'] as string });
  put('planCorrected', 'FactCorrected', { fact: ids['plan'], data: { key: 'plan', title: 'Plan of Action', kind: 'plan', body: ids['org'], session: ids['council'], adoptedOn: '2001-03-02' }, reason: 'title' });
  put('treatyAgain', 'FactCorrected', { fact: ids['treatyCorrected'], data: { title: 'Treaty of Peace', kind: 'treaty', period: { from: '2001', to: '2010' }, body: ids['org'], session: ids['council'] }, reason: 'again' });
  put('summitRetracted', 'FactRetracted', { fact: ids['summit'], reason: 'never held' });
  put('earlyRetracted', 'FactRetracted', { fact: ids['early'], reason: 'never adopted' });
  return named;
}

/** Every moment of the log, 1 ms before and after each. */
function moments(log: TestLog): string[] {
  const out = new Set<string>();
  for (const e of log.events) for (const d of [-1, 0, 1]) out.add(new Date(Date.parse(e.recordedAt) + d).toISOString());
  return [...out].sort();
}

/** A page's items as the read worker writes them (runs of items joined by ','), as one text. */
const page = (q: ReadQueries, k: string, validAt: string | undefined, limit = 10): string => `[${(q.itemsJson('documents', ['org', k, validAt, { after: null, limit }]) as { items: string[] }).items.join(',')}]`;
/** The same page made as objects. */
const objects = (q: ReadQueries, k: string, validAt: string | undefined, limit = 10): string => JSON.stringify(q.documents('org', k, validAt, { after: null, limit })?.items ?? []);

t.test('a page of documents before and after corrections of the documents and sessions it shows, at every moment, equals the objects', async (t) => {
  const { log, at, ids } = history();
  const { readModels, path, dir } = await startReadApp(t, log);
  await readModels.caughtUp();
  const q = readModels.queries as ReadQueries;
  let compared = 0;
  for (const k of moments(log)) {
    for (const validAt of [undefined, '2001', '2002', '2001-03-02']) {
      for (const limit of [10, 1]) {
        const expected = objects(q, k, validAt, limit);
        t.equal(page(q, k, validAt, limit), expected, `at ${k}, validAt ${validAt}, limit ${limit}`);
        compared += (JSON.parse(expected) as unknown[]).length;
      }
    }
  }
  t.ok(compared > 100, `${compared} items compared`);

  const just = (name: string): string => new Date(Date.parse(at[name] as string) - 1).toISOString();
  const item = (k: string, doc: string): Record<string, unknown> | undefined => (JSON.parse(page(q, k, undefined)) as Record<string, unknown>[]).find((i) => i['id'] === doc);
  t.match(item(just('councilCorrected'), ids['plan'] as string), { title: 'Plan', session: { name: 'Council' } }, 'before the corrections: as first recorded');
  t.match(item(at['councilCorrected'] as string, ids['plan'] as string), { title: 'Plan', session: { name: 'Spring Council' } }, "at the session's correction: its new title");
  t.match(item(at['planCorrected'] as string, ids['plan'] as string), { title: 'Plan of Action', correctedBy: { factId: ids['planCorrected'] } }, "at the document's correction: the new title, and who corrected it");
  t.match(item(at['treatyCorrected'] as string, ids['treaty'] as string), { title: 'Treaty of Friendship', session: { name: 'Summit' } }, 'a document considered, then adopted, corrected');
  t.match(item(at['treatyAgain'] as string, ids['treaty'] as string), { title: 'Treaty of Peace' }, 'a correction of the correction');
  t.same(item(just('registeredLate'), ids['early'] as string)?.['session'], { id: testUlid(900), key: null, name: null }, 'a session not yet registered: the id alone');
  t.same(item(at['registeredLate'] as string, ids['early'] as string)?.['session'], { id: testUlid(900), key: null, name: 'Late Session' }, 'once registered: the view');
  t.match(item(at['pact'] as string, ids['pact'] as string), { session: { name: 'Great Summit' } }, 'an adoption at the instant of its session\'s correction, before it in the log: the session as known at that instant');
  t.same(item(at['summitRetracted'] as string, ids['pact'] as string)?.['session'], { id: ids['summit'], key: null, name: null }, "the session retracted: its id alone");
  t.equal(item(at['earlyRetracted'] as string, ids['early'] as string), undefined, 'a document retracted: not listed');
  t.match(item(at['earlyRetracted'] as string, ids['memo'] as string), { session: null }, 'no session: none');

  // The rows: each item holds until the first close of a version it shows.
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.prepare('SELECT count(*) FROM parked').pluck().get(), 0, 'no event parked');
  const row = (fact: string): { item_head: string | null; item_tail: string | null; item_to: string | null } =>
    db.prepare('SELECT item_head, item_tail, item_to FROM adoptions WHERE fact_id = ? ORDER BY known_from LIMIT 1').get(fact) as { item_head: string | null; item_tail: string | null; item_to: string | null };
  t.equal(row(ids['plan'] as string).item_to, at['councilCorrected'], "the plan's item holds until its session's correction");
  t.equal(row(ids['treatyAdopted'] as string).item_to, at['treatyCorrected'], "the treaty's until its document's correction");
  t.same(row(ids['early'] as string), { item_head: null, item_tail: null, item_to: null }, 'a session not known at the adoption: none stored, and none once it is registered');
  t.same(row(ids['memo'] as string), { item_head: null, item_tail: null, item_to: null }, 'no session: none stored');
  t.same(row(ids['pact'] as string), { item_head: null, item_tail: null, item_to: null }, 'its session corrected at the same instant, later in the log: none stored');
  t.equal(db.prepare('SELECT item_to FROM adoptions WHERE corrected_by = ?').pluck().get(ids['planCorrected']), null, 'a version a correction wrote (correctedBy): none stored');
  t.match(row(ids['plan'] as string).item_head, /^\{"id":"[0-9A-Z]{26}","key":"plan","title":"Plan","kind":"plan","status":"adopted"/, 'the head: the item up to its body');
  t.match(row(ids['plan'] as string).item_tail, /^,"session":\{"id":"[0-9A-Z]{26}","key":"council","name":"Council"\},"factId":"[0-9A-Z]{26}"$/, 'the tail: its session and factId');

  // A rebuild makes the same rows (adoptions apart: their stored items included).
  await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['adoptions'] });
});

t.test('the live writer keeps the stored items as each change comes, an event a batch', async (t) => {
  const { log } = history();
  const live = new TestLog();
  const { readModels, path, dir } = await startReadApp(t, live);
  await readModels.caughtUp();
  for (const e of log.events) {
    live.push(e);
    t.ok(await readModels.waitFor(e.position, 10_000), `applied ${e.type}`);
  }
  await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['adoptions'], whole: false, what: 'one event a batch' });
});

/** Every page (limits 10 and 1, every validAt used above) at every moment of the log ±1 ms equals the objects; how many items compared. */
function pagesEqualObjects(t: Test, q: ReadQueries, log: TestLog, what: string): number {
  let compared = 0;
  for (const k of moments(log)) {
    for (const validAt of [undefined, '2001', '2002', '2001-03-02']) {
      for (const limit of [10, 1]) {
        const expected = objects(q, k, validAt, limit);
        const got = page(q, k, validAt, limit);
        if (got !== expected) t.equal(got, expected, `${what}: at ${k}, validAt ${validAt}, limit ${limit}`);
        compared += (JSON.parse(expected) as unknown[]).length;
      }
    }
  }
  t.pass(`${what}: ${compared} items compared, every page equal to the objects`);
  return compared;
}

/** A log made by hand whose recording times go back: an adoption recorded before corrections of its session and document, later in the log. */
function goingBack(): NamedLog {
  const named = namedLog();
  const { ids, put } = named;
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }, { at: '2024-01-01T00:00:01.000Z' });
  put('council', 'SessionHeld', { key: 'council', body: ids['org'], title: 'Council', held: { from: '2001-03-01' } }, { at: '2024-01-01T00:00:02.000Z' });
  put('treaty', 'DocumentConsidered', { title: 'Treaty', kind: 'treaty', body: ids['org'], session: ids['council'] }, { at: '2024-01-01T00:00:03.000Z' });
  put('councilCorrected', 'FactCorrected', { fact: ids['council'], data: { key: 'council', body: ids['org'], title: 'Spring Council', held: { from: '2001-03-01' } }, reason: 'title' }, { at: '2024-01-01T00:00:10.000Z' });
  put('treatyCorrected', 'FactCorrected', { fact: ids['treaty'], data: { title: 'Treaty of Peace', kind: 'treaty', body: ids['org'], session: ids['council'] }, reason: 'title' }, { at: '2024-01-01T00:00:12.000Z' });
  // Recorded before both corrections, later in the log.
  put('adopted', 'DocumentAdopted', { document: ids['treaty'], body: ids['org'], session: ids['council'], adoptedOn: '2001-03-02' }, { at: '2024-01-01T00:00:05.000Z' });
  put('plan', 'DocumentAdopted', { title: 'Plan', kind: 'plan', body: ids['org'], session: ids['council'], adoptedOn: '2001-03-03' }, { at: '2024-01-01T00:00:06.000Z' });
  put('later', 'DocumentAdopted', { title: 'Later', kind: 'plan', body: ids['org'], session: ids['council'], adoptedOn: '2001-03-04' }, { at: '2024-01-01T00:00:20.000Z' });
  return named;
}

t.test('recording times that go back: an adoption recorded before a correction later in the log stores the versions known at its moment, as a rebuild does', async (t) => {
  for (const batches of [false, true]) {
    const { log, at, ids } = goingBack();
    const live = batches ? new TestLog() : log;
    const { readModels, path, dir } = await startReadApp(t, live);
    await readModels.caughtUp();
    if (batches) {
      for (const e of log.events) {
        live.push(e);
        if (!(await readModels.waitFor(e.position, 10_000))) t.fail(`applied ${e.type}`);
      }
    }
    const what = batches ? 'an event a batch' : 'the whole log';
    const q = readModels.queries as ReadQueries;
    t.ok(pagesEqualObjects(t, q, log, what) > 10, `${what}: items compared`);
    const item = (k: string, doc: string): Record<string, unknown> | undefined => (JSON.parse(page(q, k, undefined)) as Record<string, unknown>[]).find((i) => i['id'] === doc);
    t.match(item(at['adopted'] as string, ids['treaty'] as string), { title: 'Treaty', session: { name: 'Council' } }, `${what}: at the adoption, before the corrections: as first recorded`);
    t.match(item(at['councilCorrected'] as string, ids['treaty'] as string), { title: 'Treaty', session: { name: 'Spring Council' } }, `${what}: at the session's correction: its new title`);
    t.match(item(at['treatyCorrected'] as string, ids['treaty'] as string), { title: 'Treaty of Peace' }, `${what}: at the document's correction: its new title`);
    const db = new Database(path, { readonly: true });
    const row = (fact: string): unknown => db.prepare('SELECT item_to FROM adoptions WHERE fact_id = ?').pluck().get(fact);
    t.equal(row(ids['adopted'] as string), at['councilCorrected'], `${what}: the treaty's item holds until its session's correction, the first close after its moment`);
    t.equal(row(ids['plan'] as string), at['councilCorrected'], `${what}: the plan's too`);
    t.match(db.prepare('SELECT item_tail FROM adoptions WHERE fact_id = ?').pluck().get(ids['plan']), /"name":"Council"/, `${what}: the session as known at its moment`);
    t.equal(row(ids['later'] as string), '\uffff', `${what}: an adoption after both: the open versions, held`);
    db.close();
    await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['adoptions'], what });
  }
});

t.test('lone surrogates in the texts an item shows: written as json_quote writes the stored column, live as rebuilt, pages as the objects', async (t) => {
  const log = new TestLog();
  const fid = (e: StoredEvent): string => id(e);
  const org = fid(log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }));
  const session = fid(log.record('SessionHeld', { key: 'k\ud800', body: org, title: 'Council \udc00', held: { from: '2001-03-01' } }));
  const lone = fid(log.record('DocumentAdopted', { key: 'plan\udbff', title: 'Plan \ud800', kind: 'plan\udc01', summary: 'lone \ud800 and a pair 😀', body: org, session, adoptedOn: '2001-03-02' }));
  const considered = fid(log.record('DocumentConsidered', { title: 'Treaty', kind: 'treaty', summary: 'its own \udfff', body: org, session }));
  const adopted = fid(log.record('DocumentAdopted', { document: considered, body: org, session, adoptedOn: '2001-03-03', summary: 'as adopted \ud801' }));
  const plain = fid(log.record('DocumentAdopted', { document: considered, body: org, session, adoptedOn: '2001-03-04' }));
  const { readModels, path, dir } = await startReadApp(t, log);
  await readModels.caughtUp();
  const q = readModels.queries as ReadQueries;
  t.ok(pagesEqualObjects(t, q, log, 'surrogates') >= 3, 'items compared');
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.prepare('SELECT count(*) FROM parked').pluck().get(), 0, 'no event parked');
  const head = (fact: string): string => db.prepare('SELECT item_head FROM adoptions WHERE fact_id = ?').pluck().get(fact) as string;
  const column = (fact: string): string => db.prepare('SELECT summary FROM adoptions WHERE fact_id = ?').pluck().get(fact) as string;
  t.ok(head(lone).includes(`"summary":"${column(lone)}"`), 'the summary as its column reads (a lone surrogate as SQLite keeps it), the pair kept');
  t.notMatch(head(lone), /\\ud8/, 'no escaped lone surrogate');
  t.ok(head(adopted).includes(`"summary":"${column(adopted)}"`), "an adoption's own summary");
  t.ok(head(plain), 'the summary of the considered document: stored too');
  await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['adoptions'] });
  // The same bytes too (a lone surrogate is stored as bytes that read back as U+FFFDs).
  const bytes = (file: string): unknown => {
    const b = new Database(file, { readonly: true });
    const r = b.prepare('SELECT fact_id, hex(item_head), hex(item_tail), item_to FROM adoptions ORDER BY 1').raw().all();
    b.close();
    return r;
  };
  t.same(bytes(path), bytes(join(dir, 'rebuilt.db')), 'rebuilt: the stored items byte for byte');
});
