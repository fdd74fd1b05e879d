/**
 * A corrected session item keeps its place in its session's lists: attendees, reports and talks
 * are in the order of their facts' first recordings, whatever corrections followed (as an
 * appointment keeps its fact's place among the holders, and a membership among the members).
 * Before session 46 a list was in the order of its versions' positions: a correction of an
 * attendance's office moved that attendee to the end. Every way a session's lists are read, on
 * the real read-model file through the real app: one session, a page of sessions, the read
 * worker's JSON text, each list followed cursor by cursor at small limits, the explorer's page,
 * the rebuilt file, and `annals replay`'s lines.
 */
import t from 'tap';
import { join } from 'node:path';
import { namedLog, sameAsRebuilt, startReadApp } from './fixtures/history.js';
import type { ReadQueries } from '../projections/queries.js';
import { replayLines } from '../src/cli/state.js';

type Json = Record<string, any>;

t.test('a corrected attendance, report or talks keeps its place in its session', async (t) => {
  const { log, ids, at, put } = namedLog();
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  put('state', 'OrganizationRegistered', { key: 'st', name: 'State', classification: 'state' });
  put('office', 'OfficeEstablished', { key: 'minister', organization: ids['org'], title: 'Minister', multipleHolders: true });
  for (const p of ['a', 'b', 'c']) put(p, 'PersonRegistered', { key: p, name: `Person ${p.toUpperCase()}` });
  put('s', 'SessionHeld', { key: 's', body: ids['org'], held: { from: '2001-03-01' } });
  const session = ids['s'] as string;
  for (const p of ['a', 'b', 'c']) put(`attend-${p}`, 'DelegateAttended', { session, person: ids[p] });
  for (const p of ['a', 'b', 'c']) put(`report-${p}`, 'ReportDelivered', { session, person: ids[p], subject: `Report ${p}` });
  for (const p of ['a', 'b', 'c']) put(`talks-${p}`, 'SidelineTalksHeld', { session, participants: [{ person: ids[p] }] });
  // The first of each list corrected (its office and representing; a subject; topics), the attendance twice.
  put('fix-attend', 'FactCorrected', { fact: ids['attend-a'], data: { session, person: ids['a'], office: ids['office'] }, reason: 'the capacity was missing' });
  put('fix-attend-2', 'FactCorrected', { fact: ids['attend-a'], data: { session, person: ids['a'], representing: ids['state'], office: ids['office'] }, reason: 'whom A represented' });
  put('fix-report', 'FactCorrected', { fact: ids['report-a'], data: { session, person: ids['a'], subject: 'Report a, corrected' }, reason: 'the subject' });
  put('fix-talks', 'FactCorrected', { fact: ids['talks-a'], data: { session, participants: [{ person: ids['a'] }], topics: ['security'] }, reason: 'the topics' });
  const { app, readModels, dir, path } = await startReadApp(t, log);
  await readModels.caughtUp();
  const queries = readModels.queries as ReadQueries;
  const k = at['fix-talks'] as string;
  const named = (x: string): string => Object.keys(ids).find((n) => ids[n] === x) ?? x;
  const lists = (s: Json): Record<string, string[]> => ({ attendees: s['attendees'].map((i: Json) => named(i.factId)), reports: s['reports'].map((i: Json) => named(i.factId)), talks: s['talks'].map((i: Json) => named(i.factId)) });
  const expected = { attendees: ['attend-a', 'attend-b', 'attend-c'], reports: ['report-a', 'report-b', 'report-c'], talks: ['talks-a', 'talks-b', 'talks-c'] };
  for (const when of [at['talks-c'] as string, at['fix-attend'] as string, k]) {
    const one = (await app.inject({ url: `/v1/sessions/${session}?knownAt=${when}` })).json() as Json;
    t.same(lists(one['session']), expected, `the session at ${when}: each list in its facts' first order`);
    const page = (await app.inject({ url: `/v1/sessions?organization=org&knownAt=${when}` })).json() as Json;
    t.same(lists(page['sessions'][0]), expected, `a page of sessions at ${when}`);
    const text = queries.itemsJson('sessions', [ids['org'], when, undefined, { after: null, limit: 10 }, 50]);
    t.same(lists(JSON.parse(text?.items[0] as string)), expected, `the read worker's JSON text at ${when}`);
  }
  const corrected = (await app.inject({ url: `/v1/sessions/${session}?knownAt=${k}` })).json() as Json;
  t.same(corrected['session']['attendees'][0].office?.key, 'minister', 'the corrected version is the one shown');
  t.same(corrected['session']['attendees'][0].representing?.key, 'st');
  // Each list followed cursor by cursor, and nested lists cut short (`more`) at 1 and 2 a page.
  for (const list of ['attendees', 'reports', 'talks'] as const) {
    for (const limit of [1, 2]) {
      const got: string[] = [];
      let next: string | null = `/v1/sessions/${session}/${list}?knownAt=${k}&limit=${limit}`;
      while (next) {
        const body = (await app.inject({ url: next })).json() as Json;
        got.push(...body['items'].map((i: Json) => named(i.factId)));
        next = body['nextCursor'] ? `/v1/sessions/${session}/${list}?knownAt=${k}&limit=${limit}&cursor=${body['nextCursor']}` : null;
      }
      t.same(got, expected[list], `${list}, ${limit} a page`);
      const nested = queries.session(session, k, limit) as unknown as Json;
      t.same(lists(nested)[list], expected[list].slice(0, limit), `${list}: the first ${limit} of a view`);
    }
  }
  // The explorer's page: the attendees' names in that order.
  const html = (await app.inject({ url: `/sessions/${session}?knownAt=${k}` })).body;
  const places = ['Person A', 'Person B', 'Person C'].map((n) => html.indexOf(n, html.indexOf('attendees-heading')));
  t.ok(places.every((p, i) => p > 0 && (i === 0 || p > (places[i - 1] as number))), `the explorer's attendees in order (${places.join(', ')})`);
  // The rebuilt file: the same rows.
  await sameAsRebuilt(t, log, path, join(dir, 'fresh.db'), { tables: ['session_items'] });
  // `annals replay`'s line of the session.
  let replay = '';
  for await (const u of replayLines(log, k, { tmpDir: dir })) replay += u.text;
  const line = replay.split('\n').find((l) => l.includes(`"id":"${session}"`) && l.includes('"attendees"'));
  t.same(lists(JSON.parse(line as string)), expected, "annals replay's session");
});

t.test('an item moved to another session by a correction takes its place there by its first recording', async (t) => {
  // The write side refuses such a correction (`session` is the items' identity); a log written by hand may hold one.
  const { log, ids, at, put } = namedLog();
  put('org', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  for (const p of ['a', 'b', 'c']) put(p, 'PersonRegistered', { key: p, name: `Person ${p.toUpperCase()}` });
  put('s1', 'SessionHeld', { key: 's1', body: ids['org'], held: { from: '2001-03-01' } });
  put('s2', 'SessionHeld', { key: 's2', body: ids['org'], held: { from: '2001-03-02' } });
  put('attend-a', 'DelegateAttended', { session: ids['s2'], person: ids['a'] });
  put('attend-b', 'DelegateAttended', { session: ids['s1'], person: ids['b'] });
  put('attend-c', 'DelegateAttended', { session: ids['s2'], person: ids['c'] });
  put('move', 'FactCorrected', { fact: ids['attend-b'], data: { session: ids['s2'], person: ids['b'] }, reason: 'the other session' });
  const { app, readModels, dir, path } = await startReadApp(t, log);
  await readModels.caughtUp();
  const named = (x: string): string => Object.keys(ids).find((n) => ids[n] === x) ?? x;
  const page = (await app.inject({ url: `/v1/sessions?organization=org&knownAt=${at['move']}` })).json() as Json;
  t.same(
    page['sessions'].map((s: Json) => s['attendees'].map((i: Json) => named(i.factId))),
    [[], ['attend-a', 'attend-b', 'attend-c']],
    'moved, B is listed between A and C, recorded before and after it',
  );
  await sameAsRebuilt(t, log, path, join(dir, 'fresh.db'), { tables: ['session_items'] });
});
