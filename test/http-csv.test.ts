/**
 * Lists as CSV over the real app: the same answer as the JSON (time controls, filters, page),
 * chosen by Accept or format=csv; RFC 4180 quoting, formulas defused, names in any script.
 */
import t from 'tap';
import { csvCell, toCsv, wantsCsv } from '../src/http/csv.js';
import { startTestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const body = text.replace(/^\ufeff/, '');
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(cell), (cell = ''));
    else if (c === '\r' && body[i + 1] === '\n') (row.push(cell), rows.push(row), (row = []), (cell = ''), i++);
    else cell += c;
  }
  return rows;
}

t.test('cells, lines and negotiation', async (t) => {
  t.equal(csvCell('plain'), 'plain');
  t.equal(csvCell('a, "b"\nc'), '"a, ""b""\nc"');
  t.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`, 'a formula is defused and quoted');
  t.equal(csvCell('+7'), "'+7");
  t.equal(csvCell('-1'), "'-1");
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  t.equal(csvCell(null), '');
  t.equal(csvCell(false), 'false');
  t.equal(toCsv([{ a: 'Жапаров' }], [{ header: 'name', value: (x) => x.a }]), '\ufeffname\r\nЖапаров\r\n');
  t.equal(wantsCsv('text/csv', null), true);
  t.equal(wantsCsv('application/json', null), false);
  t.equal(wantsCsv(undefined, null), false);
  t.equal(wantsCsv('application/json, text/csv', null), false, 'a tie goes to JSON');
  t.equal(wantsCsv('application/json;q=0.5, text/csv', null), true);
  t.equal(wantsCsv('text/*;q=0.9, application/json;q=0.1', null), false, 'no csv named: not asked for');
  t.equal(wantsCsv('text/csv;q=0, */*', null), false);
  t.equal(wantsCsv('text/csv;q=x', null), false);
  t.equal(wantsCsv('application/json', 'csv'), true, 'format=csv wins, for links');
  t.equal(wantsCsv('text/csv', 'json'), false);
});

t.test('succession, documents, sessions and attendees as CSV', async (t) => {
  // The store's clock moves only when the test moves it: "before the attendance" is a moment named here.
  const clock = manualClock();
  const { app, auth } = await startTestApp(t, { env: { ANNALS_SEED: 'example' }, clock: clock.now });
  const csv = async (url: string, headers: Record<string, string> = { accept: 'text/csv' }) => {
    const r = await app.inject({ url, headers });
    t.equal(r.statusCode, 200, url);
    t.match(r.headers['content-type'], /^text\/csv; charset=utf-8/);
    t.match(r.headers['content-disposition'], /^attachment; filename="[A-Za-z0-9._-]+\.csv"$/);
    t.equal(r.headers['vary'], 'accept');
    t.ok(r.body.startsWith('\ufeff'));
    return parseCsv(r.body);
  };

  const holders = await csv('/v1/offices/csto-secretary-general/holders');
  const head = holders[0] as string[];
  const col = (row: string[], name: string) => row[head.indexOf(name)];
  t.same(holders.slice(1).map((r) => [col(r, 'person'), col(r, 'from'), col(r, 'to'), col(r, 'basis')]), [
    ['Imangali Tasmagambetov', '2025-11-27', '2025-11-27', 'attested'],
    ['Taalatbek Masadykov', '2026-01-01', '2028-12-31', 'appointed'],
  ]);
  t.match(col(holders[2] as string[], 'source_quote'), /appointed Taalatbek Masadykov/);
  const json = (await app.inject('/v1/offices/csto-secretary-general/holders')).json() as { holders: { factId: string }[] };
  t.same(holders.slice(1).map((r) => col(r, 'fact_id')), json.holders.map((h) => h.factId), 'the same list as the JSON');

  const inForce = await csv('/v1/documents?organization=csto&validAt=2027&format=csv', {});
  t.same(inForce.slice(1).map((r) => r[0]), ['Declaration of the CSTO Collective Security Council'], 'validAt applies');
  // format named with an escape, or given twice (the first counts, as URLSearchParams reads it); JSON when no name is format.
  const escaped = await app.inject({ url: '/v1/documents?organization=csto&validAt=2027&%66ormat=csv' });
  t.match(escaped.headers['content-type'], /^text\/csv/, 'an escaped name is format too');
  const twice = await app.inject({ url: '/v1/documents?organization=csto&format=json&format=csv' });
  t.match(twice.headers['content-type'], /^application\/json/, 'the first format counts');
  const other = await app.inject({ url: '/v1/documents?organization=csto&formats=csv&x%3D=csv&format' });
  t.match(other.headers['content-type'], /^application\/json/, 'no format, or an empty one: JSON');
  const all = await csv('/v1/documents?organization=csto');
  t.same(all.slice(1).map((r) => r[4]).sort(), ['adopted', 'considered', 'considered']);

  const sessions = await csv('/v1/sessions?organization=csto');
  t.equal(sessions.length, 2);

  // A hostile name recorded as a fact, then its attendance: a formula, quotes, a comma, RTL.
  const hostile = '=cmd|" /C calc"!A0, \u202Eevil';
  const p = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'hostile', name: hostile }, source: { title: 't' } } });
  t.equal(p.statusCode, 201);
  const before = clock.advance();
  clock.advance();
  const a = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'DelegateAttended', data: { session: 'csto-collective-security-council-2025-11-27', person: 'hostile' }, source: { title: 't' } } });
  t.equal(a.statusCode, 201);
  const attendees = await csv('/v1/sessions/csto-collective-security-council-2025-11-27/attendees');
  t.same(attendees.slice(1).map((r) => r[0]), ['Igor Petrishenko', `'${hostile}`], 'the formula is text, the quotes and comma stay in one cell');
  const earlier = await csv(`/v1/sessions/csto-collective-security-council-2025-11-27/attendees?knownAt=${before}`);
  t.equal(earlier.length, 2, 'knownAt applies');

  const paged = await app.inject({ url: '/v1/sessions/csto-collective-security-council-2025-11-27/attendees?limit=1&format=csv' });
  t.equal(parseCsv(paged.body).length, 2, 'one item a page, as the JSON');
  t.match(paged.headers['link'], /^<\/v1\/sessions\/csto-collective-security-council-2025-11-27\/attendees\?limit=1&format=csv&cursor=[A-Za-z0-9_.-]+>; rel="next"$/);
  const next = await app.inject({ url: (/<([^>]+)>/.exec(paged.headers['link'] as string) as string[])[1] as string });
  t.equal(parseCsv(next.body)[1]?.[0], `'${hostile}`, 'the next page has the rest');

  const jsonAnswer = await app.inject({ url: '/v1/sessions/csto-collective-security-council-2025-11-27/attendees' });
  t.match(jsonAnswer.headers['content-type'], /^application\/json/);
  t.equal(jsonAnswer.headers['vary'], 'accept');
  t.equal((await app.inject({ url: '/v1/sessions/nope/attendees', headers: { accept: 'text/csv' } })).statusCode, 404, 'errors stay problem+json');
  const spec = (await app.inject('/openapi.json')).json() as { paths: Record<string, { get: { description: string } }> };
  t.match(spec.paths['/v1/offices/{office}/holders']?.get.description, /text\/csv/);
});
