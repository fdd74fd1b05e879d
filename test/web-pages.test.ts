/**
 * The explorer's pages over the real app (`inject`, no browser): headers (CSP, content type),
 * escaping of hostile names recorded as facts, the time controls' parsing and canonical
 * redirects, HTML error pages, and the timeline's layout arithmetic. What a reader sees in a
 * browser is in web-browser-*.test.ts.
 */
import t from 'tap';
import { pageContext, parseKnownAt, parseValidAt, timeChoice, href, queryString } from '../src/web/context.js';
import { dayNumber, layoutTimeline, yearTicks } from '../src/web/timeline.js';
import { CSP } from '../src/web/index.js';
import type { HolderItem } from '../projections/index.js';
import { startTestApp } from './fixtures/app.js';
import { HOSTILE, LONG, longRecord } from './fixtures/long-record.js';

t.test('time controls as a person types them', async (t) => {
  t.equal(parseValidAt(' 2026 '), '2026');
  t.equal(parseValidAt('2026-06-01'), '2026-06-01');
  t.match((() => { try { parseValidAt('2026-02-30'); } catch (e) { return e; } })(), { field: 'validAt' });
  t.throws(() => parseValidAt('June'), /not a date: write a year/);
  t.equal(parseKnownAt('2025-12-01'), '2025-12-01T23:59:59.999Z', 'a day: the record at its end');
  t.equal(parseKnownAt('2025-12-01T12:00'), '2025-12-01T12:00:00.000Z', 'no zone: UTC');
  t.equal(parseKnownAt('2025-12-01 12:00:30'), '2025-12-01T12:00:30.000Z');
  t.equal(parseKnownAt('2025-12-01T15:00:00+03:00'), '2025-12-01T12:00:00.000Z');
  t.throws(() => parseKnownAt('yesterday'), /not a moment/);
  t.match((() => { try { parseKnownAt('2025-13-01'); } catch (e) { return e; } })(), { field: 'knownAt' });
  t.same(timeChoice({}), { validAt: null, knownAt: null, canonical: true });
  t.same(timeChoice({ validAt: '', knownAt: '' }), { validAt: null, knownAt: null, canonical: false }, 'empty form fields');
  t.same(timeChoice({ knownAt: '2025-12-01' }), { validAt: null, knownAt: '2025-12-01T23:59:59.999Z', canonical: false });
  t.same(timeChoice({ validAt: '2026', knownAt: '2025-12-01T23:59:59.999Z' }), { validAt: '2026', knownAt: '2025-12-01T23:59:59.999Z', canonical: true });
  const ctx = pageContext({ snapshot: () => ({ position: null, recordedAt: null }) } as never, '/offices/x', { validAt: '2026', knownAt: null }, { cursor: 'abc' }, new Date('2026-03-04T05:06:07.000Z'));
  t.equal(ctx.day, '2026');
  t.equal(ctx.k, '2026-03-04T05:06:07.000Z');
  t.equal(ctx.today, '2026-03-04');
  t.equal(href(ctx, '/people/p'), '/people/p?validAt=2026', 'links carry the chosen controls only');
  t.equal(queryString({ a: null, b: '', c: 'x y' }), '?c=x+y');
});

const item = (from: string, to: string | null, extra: Partial<HolderItem> = {}): HolderItem => ({ person: { id: 'P', key: 'p', name: 'P' }, term: { from, to }, acting: false, certainty: 'certain', factId: `F${from}`, basis: 'appointed', source: null, ...extra });

t.test('the timeline: certain and possible parts, lanes, gaps, the chosen days', async (t) => {
  const l = layoutTimeline([item('2001-01-01', '2002-06-30'), item('2002-06-30', '2003'), item('2004-03', null, { acting: true })], '2003-05', '2006-01-01');
  const [a, b, c] = l.bars;
  t.same(a?.segments, [{ from: dayNumber('2001-01-01'), to: dayNumber('2002-07-01'), kind: 'certain' }]);
  t.equal(a?.lane, 0);
  t.equal(b?.lane, 1, 'the handover day is shared: the next term takes another row');
  t.same(b?.segments, [
    { from: dayNumber('2002-06-30'), to: dayNumber('2003-01-02'), kind: 'certain' },
    { from: dayNumber('2003-01-02'), to: dayNumber('2004-01-01'), kind: 'possible' },
  ], 'an end known to the year: surely in office on its first day, possibly to its last');
  t.same(c?.segments.map((s) => s.kind), ['possible', 'certain'], 'a start known to the month');
  t.equal(c?.open, true);
  t.equal(c?.segments[1]?.to, l.end, 'an open term runs to the axis end');
  t.same(l.gaps, [{ from: dayNumber('2004-01-01'), to: dayNumber('2004-03-01') }], 'no term may cover 2004-01 and 2004-02');
  t.same(l.chosen, { from: dayNumber('2003-05-01'), to: dayNumber('2003-06-01') });
  t.ok(l.start < dayNumber('2001-01-01') && l.end > dayNumber('2006-01-01'));
  const vague = layoutTimeline([item('2026', '2026')], '2026-06-01', '2026-01-01');
  t.same(vague.bars[0]?.segments.map((s) => s.kind), ['possible'], 'began and ended some time in 2026: nothing certain');
  t.ok(vague.end - vague.start >= 365, 'at least a year wide');
  t.same(layoutTimeline([], '1990', '2026-01-01').bars, []);
  t.same(yearTicks(dayNumber('2001-06-01'), dayNumber('2004-06-01')), [2002, 2003, 2004]);
  t.same(yearTicks(dayNumber('1900-01-01'), dayNumber('2000-01-01')), [1900, 1910, 1920, 1930, 1940, 1950, 1960, 1970, 1980, 1990, 2000]);
  t.same(yearTicks(dayNumber('1800-01-01'), dayNumber('2000-01-01')), [1800, 1820, 1840, 1860, 1880, 1900, 1920, 1940, 1960, 1980, 2000]);
});

t.test('pages: headers, escaping, redirects and errors', async (t) => {
  const { app, runtime } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const recorded = await runtime.recorder.recordBatch(longRecord(), { principal: 'recorder:tests', correlationId: 'long-record' });
  t.notOk(recorded.error, 'the generated record is accepted');

  const pages = ['/', '/?q=%D0%B6%D0%B0%D0%BF%D0%B0%D1%80%D0%BE%D0%B2', '/organizations/csto', `/organizations/${LONG.org}`, '/offices/csto-secretary-general', `/offices/${LONG.hostileOffice}`, '/people/hostile-script', '/people/hostile-rtl', '/people/sadyr-japarov', `/sessions/${LONG.session}`, '/documents/hostile-document', '/documents/csto-anti-drug-strategy-2026-2030', '/facts/01KB19R500EXAMP1E000000022'];
  for (const url of pages) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 200, url);
    t.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    t.equal(r.headers['content-security-policy'], CSP);
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.match(r.body, /^<!doctype html><html lang="en">/);
    t.notMatch(r.body, /<script/i, `${url}: no script element, hostile names included`);
    t.notMatch(r.body, /<img/i, `${url}: no img element from a name`);
    t.notMatch(r.body, /<b>bold/, `${url}: markup in a name stays text`);
    t.notMatch(r.body, /\sstyle=/, `${url}: no inline style (the CSP forbids it)`);
  }
  t.match(CSP, /default-src 'none'/);
  t.notMatch(CSP, /script-src|unsafe-inline/);

  const hostile = await app.inject({ url: '/people/hostile-script' });
  t.match(hostile.body, '<h1><bdi>&lt;/script>&lt;script>alert(1)&lt;/script></bdi></h1>', 'the name is text, isolated for bidi');
  const quotes = await app.inject({ url: '/people/hostile-quotes' });
  t.match(quotes.body, '&quot;Quoted&quot; &amp; \'single\' &lt;b>bold&lt;/b>');
  const office = await app.inject({ url: `/offices/${LONG.hostileOffice}` });
  t.match(office.body, 'aria-label="&lt;/script>&lt;script>alert(1)&lt;/script>: 2001-01-01 to 2003-12-31; appointed"', 'names in attributes are escaped too');

  const spec = (await app.inject({ url: '/openapi.json' })).json() as { info: { description: string } };
  t.match(spec.info.description, '[the explorer](/)', '/docs links to the pages');
  t.match((await app.inject({ url: '/' })).body, '<a href="/docs">API reference</a>', 'and the pages to /docs');
  const css = await app.inject({ url: '/static/explorer.css' });
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /^text\/css/);
  t.equal((await app.inject({ url: '/static/icon.svg' })).headers['content-type'], 'image/svg+xml');

  const redirect = await app.inject({ url: '/offices/csto-secretary-general?validAt=&knownAt=2025-12-01&cursor=' });
  t.equal(redirect.statusCode, 303, 'a day for knownAt, and empty fields');
  t.equal(redirect.headers['location'], '/offices/csto-secretary-general?knownAt=2025-12-01T23%3A59%3A59.999Z');

  const badDay = await app.inject({ url: '/organizations/csto?validAt=2026-02-30' });
  t.equal(badDay.statusCode, 400);
  t.match(badDay.headers['content-type'], /^text\/html/);
  t.match(badDay.body, /not a date: write a year \(2026\), a month \(2026-06\) or a day/);
  t.equal(badDay.headers['content-security-policy'], CSP);
  const badMoment = await app.inject({ url: '/?knownAt=soon' });
  t.equal(badMoment.statusCode, 400);
  t.match(badMoment.body, /not a moment/);
  for (const url of ['/offices/nope', '/people/nope', '/organizations/nope', '/sessions/nope', '/documents/nope', '/facts/01KB19R500EXAMP1E000000999', '/facts/nope']) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 404, url);
    t.match(r.body, /Not in the record/);
  }
  const before = await app.inject({ url: '/organizations/csto?knownAt=2020-01-01T00:00:00.000Z' });
  t.equal(before.statusCode, 404, 'nothing was known in 2020');
  t.match(before.body, /as the record stood on 2020-01-01T00:00:00.000Z/);
  const bad = await app.inject({ url: '/offices/csto-secretary-general?minPosition=x' });
  t.equal(bad.statusCode, 200, 'unknown parameters are ignored');
  t.equal((await app.inject({ url: '/nowhere' })).statusCode, 404);

  // Paging: the session's attendees and the search follow cursors.
  const session = await app.inject({ url: `/sessions/${LONG.session}` });
  const next = /<a rel="next" href="([^"]+)"/.exec(session.body)?.[1]?.replace(/&amp;/g, '&');
  t.ok(next, 'the first page of attendees links to the next');
  const second = await app.inject({ url: next as string });
  t.match(second.body, /First page/);
  const search = await app.inject({ url: '/?q=holder' });
  t.match(search.body, /Found, 50 a page,/);
  const nextOf = (html: string) => /<a rel="next" href="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
  const page2 = await app.inject({ url: nextOf(search.body) as string });
  const page3 = await app.inject({ url: nextOf(page2.body) as string });
  const names = (html: string) => [...html.matchAll(/<bdi>(Holder \d+)<\/bdi>/g)].map((m) => m[1]);
  t.same(new Set([...names(search.body), ...names(page2.body), ...names(page3.body)]).size, 120, 'every holder once, across three pages');
  t.equal(nextOf(page3.body), undefined, 'the last page has no next');
  t.match((await app.inject({ url: '/?q=%D0%94%D0%95%D0%A0%D0%96%D0%90%D0%A2%D0%95%D0%9B%D0%AC%2012' })).body, /Holder 12<\/bdi>/, 'Cyrillic aliases, upper case found by lower');
});

t.test('private reads: the pages need a token too', async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example', ANNALS_PRIVATE_READS: 'true' } });
  const r = await app.inject({ url: '/organizations/csto' });
  t.equal(r.statusCode, 401);
  t.match(r.headers['content-type'], /^text\/html/);
  t.equal((await app.inject({ url: '/static/explorer.css' })).statusCode, 200, 'the stylesheet is public');
});
