/**
 * An attendance's, a report's and talks' stored text (sessions/stored.ts: `views`, their entity
 * views as known when the row was written, and `views_to`, until when they hold; talks' rows
 * found through talk_participants, each id once a version, closed with it): a correction or
 * retraction of a person, an office or a state a session's attendee, report, talks or document shows,
 * before and after, at past knownAts and at the very moments of the changes. Every page equals
 * the page made as objects (the entities read at k, not the stored texts), names the version
 * known then, and the rows' views_to is the first change after them; a rebuild makes the same
 * rows as the live writer (the registration of a person named before it, in a log made by hand,
 * and changes recorded at the same instant as the row included).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { ReadQueries } from '../projections/queries.js';
import { TestLog, namedLog, sameAsRebuilt, startReadApp, testUlid, type NamedLog } from './fixtures/history.js';

const OPEN = '\uffff';
const later = (): string => testUlid(900);

/** Each item as a read worker sends it made from objects: JSON.stringify without `more`. */
const asObjects = (items: unknown[]): string[] =>
  items.map((i) => {
    const { more, ...rest } = i as { more?: unknown };
    return JSON.stringify(rest);
  });

function history(): NamedLog {
  const named = namedLog();
  const { at, ids, put } = named;
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  put('state', 'OrganizationRegistered', { key: 'ruritania', name: 'Ruritania', classification: 'state' });
  put('office', 'OfficeEstablished', { key: 'envoy', organization: ids['org'], title: 'Envoy', multipleHolders: true });
  put('ann', 'PersonRegistered', { key: 'ann', name: 'Ann' });
  put('bob', 'PersonRegistered', { name: 'Bob' });
  put('session', 'SessionHeld', { body: ids['org'], title: 'Council', held: { from: '2001-03-01', to: '2001-03-05' } });
  put('attended', 'DelegateAttended', { session: ids['session'], person: ids['ann'], representing: ids['state'], office: ids['office'] });
  put('reported', 'ReportDelivered', { session: ids['session'], person: ids['bob'], office: ids['office'], subject: 'Budget' });
  put('adopted', 'DocumentAdopted', { title: 'Plan', kind: 'plan', body: ids['org'], session: ids['session'], adoptedOn: '2001-03-02' });
  put('talked', 'SidelineTalksHeld', { session: ids['session'], participants: [{ person: ids['ann'] }, { organization: ids['state'] }], topics: ['trade'] });
  // The same person twice, beside an organization: each id once in talk_participants.
  put('talkedTwice', 'SidelineTalksHeld', { session: ids['session'], participants: [{ person: ids['bob'], organization: ids['org'] }, { person: ids['bob'] }] });
  // A person named before their registration (a log made by hand: the service refuses it).
  const later = testUlid(900);
  put('early', 'DelegateAttended', { session: ids['session'], person: later });
  put('talkedEarly', 'SidelineTalksHeld', { session: ids['session'], participants: [{ person: later }, { organization: ids['org'] }], summary: 'early' });
  put('annCorrected', 'FactCorrected', { fact: ids['ann'], data: { key: 'ann', name: 'Anne' }, reason: 'spelling' });
  put('officeCorrected', 'FactCorrected', { fact: ids['office'], data: { key: 'envoy', organization: ids['org'], title: 'Special Envoy', multipleHolders: true }, reason: 'title' });
  put('registeredLate', 'PersonRegistered', { name: 'Carl' }, { factId: later });
  // An attendance and a correction of the state it names at the same instant, the attendance first in the log.
  put('attended2', 'DelegateAttended', { session: ids['session'], person: ids['bob'], representing: ids['state'] });
  put('stateCorrected', 'FactCorrected', { fact: ids['state'], data: { key: 'ruritania', name: 'Ruritania (Kingdom)', classification: 'state' }, reason: 'name' }, { at: at['attended2'] as string });
  put('bobRetracted', 'FactRetracted', { fact: ids['bob'], reason: 'never existed' });
  put('annAgain', 'FactCorrected', { fact: ids['annCorrected'], data: { key: 'ann', name: 'Anna' }, reason: 'again' });
  // Talks corrected (other participants: their ids' rows closed, the new ones written) and retracted.
  put('talkedCorrected', 'FactCorrected', { fact: ids['talkedTwice'], data: { session: ids['session'], participants: [{ person: ids['ann'] }], summary: 'corrected' }, reason: 'who' });
  put('talkedEarlyRetracted', 'FactRetracted', { fact: ids['talkedEarly'], reason: 'never held' });
  put('annLast', 'FactCorrected', { fact: ids['annAgain'], data: { key: 'ann', name: 'Annabel' }, reason: 'once more' });
  return named;
}

/** Every moment of the log, 1 ms before each and a moment after the last. */
function moments(log: TestLog): string[] {
  const out = new Set<string>();
  for (const e of log.events) {
    out.add(e.recordedAt);
    out.add(new Date(Date.parse(e.recordedAt) - 1).toISOString());
  }
  out.add(new Date(Date.parse(log.events.at(-1)?.recordedAt as string) + 60_000).toISOString());
  return [...out].sort();
}

const page = (q: ReadQueries, k: string): string[] => {
  const text = q.itemsJson('sessions', ['org', k, '2001-03-02', { after: null, limit: 10 }, 50]);
  return text?.items ?? [];
};

t.test('a session page before and after corrections of the entities its items show, at every moment, equals the objects', async (t) => {
  const { log, at, ids } = history();
  const { readModels, path, dir } = await startReadApp(t, log);
  await readModels.caughtUp();
  const q = readModels.queries as ReadQueries;
  let compared = 0;
  for (const k of moments(log)) {
    const objects = q.sessions('org', k, '2001-03-02', { after: null, limit: 10 }, 50);
    const expected = objects ? asObjects(objects.items) : [];
    t.same(page(q, k), expected, `at ${k}`);
    compared += expected.length;
  }
  t.ok(compared > 10, `${compared} sessions compared`);

  const just = (name: string): string => new Date(Date.parse(at[name] as string) - 1).toISOString();
  const attendee = (k: string): Record<string, unknown> => (JSON.parse(page(q, k)[0] as string) as { attendees: Record<string, unknown>[] }).attendees[0] as Record<string, unknown>;
  t.match(attendee(just('annCorrected')), { person: { name: 'Ann' }, representing: { name: 'Ruritania' }, office: { title: 'Envoy' } }, 'before the corrections: the views as first recorded');
  t.match(attendee(at['annCorrected'] as string), { person: { name: 'Anne' }, office: { title: 'Envoy' } }, "at the person's correction: the new name");
  t.match(attendee(at['officeCorrected'] as string), { person: { name: 'Anne' }, office: { title: 'Special Envoy' } }, "at the office's correction: the new title");
  t.match(attendee(at['stateCorrected'] as string), { representing: { name: 'Ruritania (Kingdom)' } }, "at the state's correction: its new name");
  t.match(attendee(at['annAgain'] as string), { person: { name: 'Anna' } }, 'a correction of the correction');
  const report = (k: string): Record<string, unknown> => (JSON.parse(page(q, k)[0] as string) as { reports: Record<string, unknown>[] }).reports[0] as Record<string, unknown>;
  t.match(report(just('bobRetracted')), { person: { name: 'Bob' } }, "the report's person before the retraction");
  t.match(report(at['bobRetracted'] as string), { person: { id: ids['bob'], key: null, name: null } }, 'retracted: the id alone');
  const early = (k: string): unknown => (JSON.parse(page(q, k)[0] as string) as { attendees: { factId: string; person: unknown }[] }).attendees.find((a) => a.factId === ids['early'])?.person;
  t.same(early(just('registeredLate')), { id: testUlid(900), key: null, name: null }, 'a person not yet registered: the id alone');
  t.same(early(at['registeredLate'] as string), { id: testUlid(900), key: null, name: 'Carl' }, 'once registered: the view');

  // The rows: each text holds until the first change of an entity it names.
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.prepare('SELECT count(*) FROM parked').pluck().get(), 0, 'no event parked');
  t.equal(db.prepare("SELECT count(*) FROM session_items WHERE item IN ('attendee', 'report') AND views IS NOT NULL AND views_to IS NOT NULL").pluck().get(), 4, 'each attendance and report with its text');
  const until = (fact: string): unknown => db.prepare('SELECT views_to FROM session_items WHERE fact_id = ?').pluck().get(fact);
  t.equal(until(ids['attended'] as string), at['annCorrected'], "the attendance's views hold until the person's correction");
  t.equal(until(ids['reported'] as string), at['officeCorrected'], "the report's until the office's");
  t.equal(until(ids['early'] as string), at['registeredLate'], 'until the registration of the person it named before');
  t.equal(until(ids['attended2'] as string), at['bobRetracted'], "written at the instant of the state's correction, before it in the log: held until its person's retraction, not until that instant");
  t.match(db.prepare('SELECT views FROM session_items WHERE fact_id = ?').pluck().get(ids['attended2']), /Ruritania \(Kingdom\)/, 'its text: the state as known at that instant (the correction later in the log, at the same instant)');
  t.equal(until(ids['reported'] as string) !== OPEN, true, 'a text whose entities changed holds until a moment');

  // Talks: their participants' text, until the first change of an entity a participant names.
  const talks = (k: string): { participants: { person: { name: string | null } | null; organization: { name: string | null } | null }[]; summary: string | null }[] => (JSON.parse(page(q, k)[0] as string) as { talks: [] }).talks;
  t.match(talks(just('annCorrected'))[0], { participants: [{ person: { name: 'Ann' }, organization: null }, { person: null, organization: { name: 'Ruritania' } }] }, "talks' participants as first recorded");
  t.match(talks(at['annCorrected'] as string)[0], { participants: [{ person: { name: 'Anne' } }, { organization: { name: 'Ruritania' } }] }, "at the person's correction: the new name");
  t.match(talks(at['stateCorrected'] as string)[0], { participants: [{ person: { name: 'Anne' } }, { organization: { name: 'Ruritania (Kingdom)' } }] }, "at the state's correction");
  t.match(talks(at['bobRetracted'] as string)[1], { participants: [{ person: { name: null }, organization: { name: 'Organization' } }, { person: { name: null }, organization: null }] }, 'a retracted participant: the id alone');
  // In its fact's place, the second (sessions@15: before, a corrected item went to the end).
  t.match(talks(at['talkedCorrected'] as string)[1], { participants: [{ person: { name: 'Anna' } }], summary: 'corrected' }, 'corrected talks: their new participants, in their place');
  t.equal(talks(at['talkedEarlyRetracted'] as string).length, 2, 'retracted talks: gone');
  t.match(talks(at['annLast'] as string)[1], { participants: [{ person: { name: 'Annabel' } }] }, "the corrected talks' text derived again at its participant's correction");
  const version = (fact: string, from: string): unknown => db.prepare('SELECT views_to FROM session_items WHERE fact_id = ? AND known_from = ?').pluck().get(fact, from);
  t.equal(until(ids['talked'] as string), at['annCorrected'], "talks' views hold until a participant's correction");
  t.equal(version(ids['talkedTwice'] as string, at['talkedTwice'] as string), at['bobRetracted'], "until a participant's retraction");
  t.equal(version(ids['talkedTwice'] as string, at['talkedCorrected'] as string), at['annLast'], "the corrected version's until its new participant's correction");
  t.equal(until(ids['talkedEarly'] as string), at['registeredLate'], 'until the registration of a participant named before it');
  t.equal(db.prepare("SELECT count(*) FROM session_items WHERE item = 'talks' AND views IS NOT NULL AND views_to IS NOT NULL").pluck().get(), 4, 'each version of talks with its text');
  const named = (fact: string): unknown => db.prepare("SELECT group_concat(entity || ':' || (known_to = ?), ',') FROM (SELECT entity, known_to FROM talk_participants WHERE fact_id = ? ORDER BY known_from, entity)").pluck().get(OPEN, fact);
  t.equal(named(ids['talkedTwice'] as string), [`${ids['bob']}:0`, `${ids['org']}:0`].sort().join(',') + `,${ids['ann']}:1`, 'each id once a version, the corrected version\'s rows closed');
  t.equal(named(ids['talkedEarly'] as string), [`${later()}:0`, `${ids['org']}:0`].sort().join(','), "retracted talks' rows closed");

  // A rebuild makes the same rows (session items apart: views and views_to included).
  await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['session_items', 'talk_participants'] });
});

t.test('the live writer derives the texts again as each change comes, in any order of arrival', async (t) => {
  // Applied event by event (each its own batch): the same rows as the whole log at once.
  const { log } = history();
  const live = new TestLog();
  const { readModels, path, dir } = await startReadApp(t, live);
  await readModels.caughtUp();
  for (const e of log.events) {
    live.push(e);
    t.ok(await readModels.waitFor(e.position, 10_000), `applied ${e.type}`);
  }
  await sameAsRebuilt(t, log, path, join(dir, 'rebuilt.db'), { tables: ['session_items', 'talk_participants'], whole: false, what: 'one event a batch' });
});
