/**
 * An office no longer known at knownAt (its establishment retracted) is named as an office is,
 * `{ id, key: null, title: null }` (API.md: offices carry `title`), wherever it is named: a
 * person's roles, a session's reports (and its chair's office, attendees' offices: the same
 * views), the timeline; with a read worker (SQLite's JSON texts) and without (objects) alike.
 */
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { startTestApp } from './fixtures/app.js';

const EXAMPLE = readFileSync(new URL('../src/example/csto-2025-11-27.ndjson', import.meta.url), 'utf8');
const facts = EXAMPLE.trim().split('\n').map((l) => JSON.parse(l) as { type: string; factId: string; data: Record<string, unknown> });
const SG = facts.find((f) => f.type === 'OfficeEstablished' && f.data['key'] === 'csto-secretary-general') as { factId: string };

async function answers(t: Test, workers: string): Promise<Record<string, string>> {
  const { app, auth } = await startTestApp(t, { env: { ANNALS_READ_WORKERS: workers } });
  const batch = await app.inject({ method: 'POST', url: '/v1/facts/batch', headers: { ...auth('recorder'), 'content-type': 'application/x-ndjson' }, payload: EXAMPLE });
  t.equal(batch.statusCode < 300, true, batch.body.slice(0, 300));
  const sgId = ((await app.inject({ url: '/v1/offices/csto-secretary-general' })).json() as { office: { id: string } }).office.id;
  const gone = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'FactRetracted', data: { fact: SG.factId, reason: 'test' }, source: { title: 'test' } } });
  t.equal(gone.statusCode, 201, gone.body.slice(0, 400));
  const at = (gone.json() as { recordedAt: string }).recordedAt;
  const out: Record<string, string> = {};
  const session = facts.find((f) => f.type === 'SessionHeld') as unknown as { data: { key: string } };
  for (const url of ['/v1/people/imangali-tasmagambetov/roles', '/v1/people/taalatbek-masadykov/roles', '/v1/sessions?organization=csto', `/v1/sessions/${session.data.key}/reports`, `/v1/sessions/${session.data.key}`, '/v1/timeline?organization=csto&limit=500']) {
    const r = await app.inject({ url: `${url}${url.includes('?') ? '&' : '?'}knownAt=${at}` });
    t.equal(r.statusCode, 200, `${url}: ${r.body.slice(0, 300)}`);
    out[url] = r.body;
  }
  const unknown = `{"id":"${sgId}","key":null,"title":null}`;
  t.ok(out['/v1/people/taalatbek-masadykov/roles']!.includes(`"office":${unknown}`), 'a role names it as an office');
  t.ok(out[`/v1/sessions/${session.data.key}/reports`]!.includes(`"office":${unknown}`), 'a report names it as an office');
  t.ok(out['/v1/sessions?organization=csto']!.includes(`"office":${unknown}`), 'a page of sessions too');
  for (const [url, body] of Object.entries(out)) t.notOk(body.includes(`{"id":"${sgId}","key":null,"name":null}`), `${url}: never as a name`);
  return out;
}

t.test('an office not known at k is { id, key: null, title: null }, with and without read workers', async (t) => {
  const pooled = await answers(t, '1');
  const here = await answers(t, '0');
  // The ids differ between the two records (made anew each); the shapes compared with ids blanked.
  const blank = (s: string): string => s.replace(/"[0-9A-HJKMNP-TV-Z]{26}"/g, '"ID"').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'T').replace(/"(nextCursor|cursor)":"[^"]*"/g, '"$1":"C"');
  for (const url of Object.keys(pooled)) t.equal(blank(pooled[url]!), blank(here[url]!), `${url}: the worker's text and the objects agree`);
});
