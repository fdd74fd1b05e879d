/**
 * Corrections and retractions resolved and evolved on the rebuild's decoding thread
 * (bulk-rows.ts AmendmentResolver): the same rows, `facts` rows, parked events and logged
 * errors as the writer resolving them against its `facts` table (a build on one thread),
 * including the amendments it parks (an unknown fact, a retracted one, a replacement its
 * projection throws on, one SQLite cannot bind), one naming a correction, one whose own id is the fact's, facts of the first
 * page (applied by the writer before the thread starts), a knownAt cut, and an amendment the
 * thread cannot follow (a fact named by a number), handed to the writer with every one after it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import type { SqliteEventStore } from '../src/store/sqlite.js';
import { UNBINDABLE } from '../projections/bulk-rows.js';
import { buildFresh } from '../projections/index.js';
import { dumpTables, storeWithHistory, type TestLog } from './fixtures/history.js';

/** A logger keeping its lines (JSON), as the service's would write them. */
function keptLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

const parked = (file: string): unknown[][] => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT event_id, fact_id, error FROM parked ORDER BY position').raw().all() as unknown[][];
  } finally {
    db.close();
  }
};
const parkedErrors = (lines: Record<string, unknown>[]): unknown[] =>
  lines.filter((l) => l['msg'] === 'projection failed on an event; parked it and went on').map((l) => [l['factId'], (l['err'] as { type: string }).type, (l['err'] as { message: string }).message]);
const counted = (lines: Record<string, unknown>[]): { resolved: number; handed: number } | undefined => {
  const l = lines.find((x) => String(x['msg']).startsWith('corrections and retractions of the decoded log'));
  return l === undefined ? undefined : { resolved: l['resolved'] as number, handed: l['handed'] as number };
};

const person = '01JAMEND0PERSON00000000001';
const other = '01JAMEND0PERSON00000000002';
const ids = (n: number): string => `00000000-0000-4000-8000-9000000002${String(n).padStart(2, '0')}`;

/** Amendments the writer parks or resolves in unusual ways, appended after the 1,500th event; `unfollowed`: one naming a fact by a number among them. */
function amendments(unfollowed: boolean) {
  return async (store: SqliteEventStore, log: TestLog): Promise<void> => {
    const attended = log.events.filter((x) => x.type === 'DelegateAttended');
    const [a1, a2] = [attended[3], attended[10]] as [(typeof attended)[number], (typeof attended)[number]];
    const fixA1 = { ...(a1.data as Record<string, unknown>), representing: null };
    // A fact of the first page (applied by the writer before the thread starts, pages of 500).
    const early = log.events.slice(0, 400).find((x) => x.type === 'DelegateAttended') as (typeof attended)[number];
    let n = 0;
    const put = (stream: string, type: string, data: unknown, factId: string | number) =>
      store.append(stream, [{ id: ids(++n), type, data, metadata: { ...a1.metadata, factId } }], 'any');
    const fid = (e: (typeof attended)[number]) => (e.metadata as { factId: string }).factId;
    await put(`person-${person}`, 'PersonRegistered', { key: 'amend-p', name: 'P' }, person);
    await put(`person-${person}`, 'FactCorrected', { fact: '01JAMEND0NOSUCHFACT0000001', data: { key: 'x', name: 'X' }, reason: 'unknown' }, '01JAMEND0FIXUNKNOWN0000001');
    await put(`person-${person}`, 'FactCorrected', { fact: person, data: { key: 'amend-p', name: 'P corrected' }, reason: 'r' }, '01JAMEND0FIXP000000000001');
    if (unfollowed) await put(`person-${person}`, 'FactCorrected', { fact: 12345, data: { key: 'amend-p', name: 'By number' }, reason: 'a number' }, '01JAMEND0FIXNUMBER0000001');
    // Retracting the correction retracts the fact it corrected; a later correction of it is parked.
    await put(`person-${person}`, 'FactRetracted', { fact: '01JAMEND0FIXP000000000001', reason: 'gone' }, '01JAMEND0GONEP00000000001');
    await put(`person-${person}`, 'FactCorrected', { fact: person, data: { key: 'amend-p', name: 'Too late' }, reason: 'r' }, '01JAMEND0FIXLATE000000001');
    await put(`person-${person}`, 'FactRetracted', { fact: person, reason: 'again' }, '01JAMEND0GONEAGAIN0000001');
    // A replacement SQLite cannot bind; a correction whose own id is the fact's; a fact of the first page.
    await put(`person-${other}`, 'PersonRegistered', { key: 'amend-q', name: 'Q' }, other);
    await put(`person-${other}`, 'FactCorrected', { fact: other, data: { key: 'amend-q', name: true }, reason: 'bad' }, '01JAMEND0FIXBAD0000000001');
    const held = log.events.find((x) => x.type === 'SessionHeld') as (typeof attended)[number];
    await put(held.stream, 'FactCorrected', { fact: fid(held), data: { ...(held.data as Record<string, unknown>), place: { city: true } }, reason: 'unbindable' }, '01JAMEND0FIXCITY000000001');
    await put(a1.stream, 'FactCorrected', { fact: fid(a1), data: fixA1, reason: 'fine' }, '01JAMEND0FIXA1000000000001');
    await put(a2.stream, 'FactCorrected', { fact: fid(a2), data: { ...(a2.data as Record<string, unknown>), representing: null }, reason: 'own id' }, fid(a2));
    await put(early.stream, 'FactCorrected', { fact: fid(early), data: { ...(early.data as Record<string, unknown>), representing: null }, reason: 'early' }, '01JAMEND0FIXEARLY00000001');
    await put(early.stream, 'FactCorrected', { fact: '01JAMEND0FIXEARLY00000001', data: { ...(early.data as Record<string, unknown>) }, reason: 'back' }, '01JAMEND0FIXEARLY00000002');
    await put(early.stream, 'FactRetracted', { fact: fid(early), reason: 'early gone' }, '01JAMEND0GONEEARLY0000001');
  };
}

for (const unfollowed of [false, true]) {
  t.test(unfollowed ? 'an amendment the thread cannot follow: it and every later one handed to the writer, the same rows' : 'resolved on the decoding thread: the same rows, parked events and errors as on the writer', async (t) => {
    const { store, dir } = await storeWithHistory(t, 3000, 13, { after: 1500, append: amendments(unfollowed) });
    const single = join(dir, 'single.db');
    const singleLog = keptLog();
    await buildFresh(store, single, singleLog.log, undefined, undefined, { pageSize: 500, decodeThread: false });
    const expected = dumpTables(single);
    t.ok(expected['facts']?.some((r) => r[0] === '01JAMEND0FIXEARLY00000002'), 'the amendments applied');
    // Every event decoded on the thread, and the first page applied by the writer before it (its facts seeded).
    for (const [name, options] of [['threaded', { decodeThread: true }], ['handed', {}]] as const) {
      const file = join(dir, `${name}.db`);
      const kept = keptLog();
      await buildFresh(store, file, kept.log, undefined, undefined, { pageSize: 500, ...options });
      t.same(dumpTables(file), expected, `${name}: the same rows and facts as the writer resolving them`);
      t.same(parked(file), parked(single), `${name}: the same events parked`);
      t.same(parkedErrors(kept.lines), parkedErrors(singleLog.lines), `${name}: logged with the same errors`);
      const c = counted(kept.lines) as { resolved: number; handed: number };
      t.ok(c.resolved > 0, `${name}: amendments resolved on the thread (${c.resolved})`);
      if (unfollowed) t.ok(c.handed >= 5, `${name}: the one named by a number and those after it handed over (${c.handed})`);
      else t.equal(c.handed, 0, `${name}: none handed over`);
    }
    const errors = new Map(parked(single).map((r) => [r[1], r[2]]));
    t.same([...errors.keys()], ['01JAMEND0FIXUNKNOWN0000001', ...(unfollowed ? ['01JAMEND0FIXNUMBER0000001'] : []), '01JAMEND0FIXLATE000000001', '01JAMEND0GONEAGAIN0000001', '01JAMEND0FIXBAD0000000001', '01JAMEND0FIXCITY000000001'], 'the writer parks these');
    t.equal(errors.get('01JAMEND0FIXUNKNOWN0000001'), 'correction or retraction of an unknown fact 01JAMEND0NOSUCHFACT0000001');
    t.match(errors.get('01JAMEND0FIXLATE000000001'), new RegExp(`^fact ${person} was retracted at `));
    t.equal(errors.get('01JAMEND0FIXBAD0000000001'), 'name.normalize is not a function', 'a projection’s error');
    t.equal(errors.get('01JAMEND0FIXCITY000000001'), UNBINDABLE, 'a cell SQLite cannot bind');
    // A replay's fold: only what was known at a moment among the amendments.
    const all = await store.readAll({ limit: 4000 });
    const knownAt = all[1200]?.recordedAt as string;
    const cut = all.find((e) => (e.metadata as { factId?: string }).factId === '01JAMEND0FIXBAD0000000001')?.recordedAt as string;
    for (const k of [knownAt, cut]) {
      await buildFresh(store, join(dir, 'past-threaded.db'), pino({ level: 'silent' }), undefined, undefined, { pageSize: 500, decodeThread: true, knownAt: k });
      await buildFresh(store, join(dir, 'past-single.db'), pino({ level: 'silent' }), undefined, undefined, { pageSize: 500, decodeThread: false, knownAt: k });
      t.same(dumpTables(join(dir, 'past-threaded.db')), dumpTables(join(dir, 'past-single.db')), `knownAt ${k}: the same rows`);
    }
  });
}
