/**
 * A parked event leaves no row behind: an event whose application fails part-way (a statement
 * failing after earlier statements of the same event wrote rows) is parked whole, the other
 * events of its batch are applied, and a rebuild from the log equals the running read models.
 *
 * The failure is provoked as the other parking tests do, with a fact written to the log past
 * the API's validation (as an import of an older export could): a session whose `place.city`
 * is `true`. SQLite binds no boolean, so the `sessions` row fails, after the `entities` and
 * `names` rows of the same event were written (entities come first in the registry). A
 * correction carrying the same replacement first closes the corrected version's rows, then
 * fails on the new version's: without the undo, the session vanished from current answers.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import { OPEN_END } from '../events/index.js';
import { buildFresh } from '../projections/index.js';
import { TestLog, dumpTables, startReadApp } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

/** The bad session's and the bad correction's facts, and two good ones around them, in one log. */
function history(): { log: TestLog; bad: string[]; good: { session: string; office: string; later: string } } {
  const log = new TestLog();
  const id = (e: { metadata: Record<string, unknown> }) => e.metadata['factId'] as string;
  const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Org', classification: 'organization' }));
  const person = id(log.record('PersonRegistered', { key: 'p', name: 'Pat' }));
  const office = id(log.record('OfficeEstablished', { key: 'sg', organization: org, title: 'Secretary-General', multipleHolders: false }));
  const session = id(log.record('SessionHeld', { key: 's1', body: org, title: 'First session', held: { from: '2025-11-27' }, place: { city: 'Bishkek' }, chairedBy: { person, office } }));
  const badSession = id(log.record('SessionHeld', { key: 's-bad', body: org, title: 'Bad session', held: { from: '2025-11-28' }, place: { city: true }, chairedBy: { person, office } }));
  const badCorrection = id(log.record('FactCorrected', { fact: session, data: { key: 's1', body: org, title: 'First session, corrected', held: { from: '2025-11-27' }, place: { city: true } }, reason: 'a city that is no string' }));
  const later = id(log.record('SessionHeld', { key: 's2', body: org, title: 'Second session', held: { from: '2026-05-01' }, place: { city: 'Minsk' } }));
  return { log, bad: [badSession, badCorrection], good: { session, office, later } };
}

/**
 * Every row of every read-model table (and the fact index) that an event wrote: one naming its
 * factId, or (a correction's rows carry the corrected fact's id) at its position.
 */
function rowsOf(dump: Record<string, unknown[][]>, log: TestLog, factId: string): string[] {
  const position = log.events.find((e) => e.metadata['factId'] === factId)?.position as string;
  const found: string[] = [];
  for (const [table, rows] of Object.entries(dump)) {
    if (table === 'checkpoint') continue;
    for (const r of rows) if (r.some((v) => typeof v === 'string' && (v.includes(factId) || v === position))) found.push(`${table}: ${JSON.stringify(r)}`);
  }
  return found;
}

t.test('an event that fails part-way is parked whole; the rest of its batch is applied; a rebuild equals it', async (t) => {
  const { log, bad, good } = history();
  const { app, readModels, path, dir } = await startReadApp(t, log);
  await readModels.caughtUp();
  t.equal(log.events.length, 7, 'one catch-up page: every event in one batch');
  t.equal(readModels.readiness().parked, 2, 'both bad events parked, each counted once');
  const parked = new Database(path, { readonly: true });
  t.teardown(() => parked.close());
  t.same(parked.prepare('SELECT position FROM parked ORDER BY position').pluck().all(), [log.events[4]?.position, log.events[5]?.position]);
  t.match(parked.prepare('SELECT error FROM parked').pluck().all(), [/can only bind/, /can only bind/]);

  const running = dumpTables(path);
  t.same(rowsOf(running, log, bad[0] as string), [], 'no row of the bad session (its entities and names rows were written before the failure)');
  t.same(rowsOf(running, log, bad[1] as string), [], 'no row of the bad correction');
  const open = (table: string, key: string, id: string) => (parked.prepare(`SELECT count(*) FROM ${table} WHERE ${key} = ? AND known_to = ?`).pluck().get(id, OPEN_END) as number);
  t.equal(open('entities', 'id', good.session), 1, 'the corrected session is still current: the correction closed nothing');
  t.equal(parked.prepare('SELECT name FROM entities WHERE id = ? AND known_to = ?').pluck().get(good.session, OPEN_END), 'First session', 'and wrote no version of its own');
  t.equal(open('sessions', 'id', good.session), 1);
  t.equal(open('sessions', 'id', good.later), 1, 'the event after the bad ones, in the same batch, is applied');
  t.equal(open('entities', 'id', good.office), 1, 'and the ones before them');

  const s1 = await app.inject({ url: '/v1/sessions/s1' });
  t.equal(s1.statusCode, 200);
  t.match(s1.json(), { session: { title: 'First session', place: { city: 'Bishkek' } } }, 'the session answers as before the bad correction');
  t.equal((await app.inject({ url: '/v1/sessions/s-bad' })).statusCode, 404, 'the parked session is unknown, not half-known');

  const fresh = join(dir, 'standalone.db');
  await buildFresh(log, fresh, silent);
  t.same(dumpTables(fresh), running, 'a rebuild (bulk build) equals the running read models');
  const rebuilt = new Database(fresh, { readonly: true });
  t.teardown(() => rebuilt.close());
  t.same(rebuilt.prepare('SELECT position, error FROM parked ORDER BY position').raw().all(), parked.prepare('SELECT position, error FROM parked ORDER BY position').raw().all(), 'and parks the same events with the same errors');
});

t.test('live: a bad event arriving with good ones in one batch is parked whole, the others applied', async (t) => {
  const { log: full, bad, good } = history();
  const live = new TestLog();
  live.push(...full.events.slice(0, 3));
  const { readModels, path } = await startReadApp(t, live);
  await readModels.caughtUp();
  // Appended together, woken once: the subscription hands them to the runner as one batch.
  live.push(...full.events.slice(3));
  t.ok(await readModels.waitFor(full.events.at(-1)?.position as string, 10_000), 'applied to the head');
  t.equal(readModels.readiness().parked, 2);
  const running = dumpTables(path);
  t.same(rowsOf(running, full, bad[0] as string), []);
  t.same(rowsOf(running, full, bad[1] as string), []);
  t.ok(rowsOf(running, full, good.later).length > 0, 'the session after them is applied');
  const fresh = join(path, '..', 'standalone.db');
  await buildFresh(full, fresh, silent);
  t.same(dumpTables(fresh), running, 'rebuild equality');
});
