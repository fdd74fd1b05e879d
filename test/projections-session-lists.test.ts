/**
 * A session's own lists as a view shows them (the first `nested` of each, `more` where a list
 * goes on), whichever way the page read them: whole up to a cap (most sessions), or numbered
 * by a window once the cap is reached (projections/sessions/queries.ts itemsOf, documents/
 * queries.ts sessionDocumentPairs). Every `nested` from 1 to past the longest list, on the
 * real SQLite read models behind the real app: the lists equal the first `nested` of the
 * whole lists, and `more` is there exactly when a list is longer.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';

const source = { title: 'test source', publisher: 'test' };
const ATTENDEES = 12;
const REPORTS = 4;
const DOCUMENTS = 5;
const WHOLE = 1_000_000_000;

t.test("a session's lists, read whole or numbered, are the first page of each", async (t) => {
  const { app, auth } = await startTestApp(t);
  const lines = [
    { type: 'OrganizationRegistered', data: { key: 'org', name: 'Org', classification: 'international-organization' } },
    { type: 'OrganizationRegistered', data: { key: 'council', name: 'Council', classification: 'body', parent: 'org' } },
    ...['s-long', 's-short'].map((key, i) => ({ type: 'SessionHeld', data: { key, body: 'council', held: { from: `2024-0${i + 1}-10` } } })),
    ...Array.from({ length: ATTENDEES }, (_, i) => ({ type: 'PersonRegistered', data: { key: `p-${i}`, name: `Person ${i}` } })),
    ...Array.from({ length: ATTENDEES }, (_, i) => ({ type: 'DelegateAttended', data: { session: 's-long', person: `p-${i}` } })),
    ...Array.from({ length: REPORTS }, (_, i) => ({ type: 'ReportDelivered', data: { session: 's-long', person: `p-${i}`, subject: `Report ${i}` } })),
    { type: 'DelegateAttended', data: { session: 's-short', person: 'p-0' } },
    ...Array.from({ length: DOCUMENTS - 1 }, (_, i) => ({ type: 'DocumentAdopted', data: { key: `d-${i}`, title: `Decision ${i}`, kind: 'decision', body: 'council', session: 's-long', adoptedOn: '2024-01-10' } })),
    { type: 'DocumentConsidered', data: { key: 'd-considered', title: 'Considered', kind: 'plan', body: 'council', session: 's-long' } },
    { type: 'DocumentAdopted', data: { key: 'd-short', title: 'Short', kind: 'decision', body: 'council', session: 's-short', adoptedOn: '2024-02-10' } },
  ];
  const r = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: lines.map((l) => JSON.stringify({ ...l, source })).join('\n') });
  t.equal(r.statusCode, 200, r.body.slice(0, 300));
  const q = app.readModels.queries;
  const k = new Date().toISOString();
  const whole = q.session('s-long', k, WHOLE);
  if (!whole) throw new Error('s-long unknown');
  t.equal(whole.attendees.length, ATTENDEES);
  t.equal(whole.reports.length, REPORTS);
  t.equal(whole.documents.length, DOCUMENTS);
  t.equal(whole.more, undefined, 'nothing more when every item is shown');
  const lists = ['attendees', 'reports', 'documents'] as const;
  for (let nested = 1; nested <= ATTENDEES + 1; nested++) {
    const s = q.session('s-long', k, nested);
    const page = q.sessions('org', k, undefined, { after: null, limit: 10 }, nested);
    t.equal(page?.items.length, 2);
    for (const view of [s, page?.items[0]]) {
      for (const list of lists) {
        t.same(view?.[list], whole[list].slice(0, nested), `${list}, ${nested} a page`);
        t.equal(view?.more?.[list] !== undefined, whole[list].length > nested, `${list}: more, ${nested} a page`);
      }
    }
    // The other session of the page keeps its own short lists, whichever way the page read them.
    t.same(page?.items[1]?.attendees.map((a) => a.person?.key), ['p-0']);
    t.same(page?.items[1]?.documents.map((d) => d.key), ['d-short']);
  }
});
