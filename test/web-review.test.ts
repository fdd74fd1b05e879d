/**
 * The explorer as a historian reads it, over the real app (`inject`): what the session-46
 * review found. A page not known at a past knownAt keeps that moment (and says how to read
 * the record as it stands now); a time control given twice is a 400 page, not a silent today;
 * a source's address is printed, so it can be cited from paper; a page's own parameter
 * given twice or holding a control character is a 400 page naming it.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';

const html = { accept: 'text/html' };

t.test('a page not known at a past knownAt keeps the moment asked for', async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const r = await app.inject({ url: '/people/sadyr-japarov?validAt=2025&knownAt=2000-01-01T23:59:59.999Z', headers: html });
  t.equal(r.statusCode, 404);
  t.match(r.body, /No person “sadyr-japarov” is known as the record stood on 2000-01-01T23:59:59.999Z/);
  t.match(r.body.replace(/<[^>]+>/g, ''), 'On 2025, as the record stood 2000-01-01T23:59:59.999Z.', 'the line above says the same moment, not "now"');
  t.match(r.body, /<input id="knownAt" name="knownAt" value="2000-01-01T23:59:59.999Z"/, 'the form keeps the moment');
  t.match(r.body, /<input id="validAt" name="validAt" value="2025"/, 'and the day');
  t.match(r.body, '<a href="/people/sadyr-japarov?validAt=2025">Read this page as the record stands now</a>', 'the way to the person as known now');
  t.match(r.body, '<a href="/?validAt=2025&amp;knownAt=2000-01-01T23%3A59%3A59.999Z">the start page</a>', 'the start page at the same moment');
  const now = await app.inject({ url: '/people/sadyr-japarov?validAt=2025', headers: html });
  t.equal(now.statusCode, 200, 'which is there');

  const bad = await app.inject({ url: '/people/sadyr-japarov?validAt=2025-13&knownAt=2000-01-01T23:59:59.999Z', headers: html });
  t.equal(bad.statusCode, 400, 'a bad control is still the error it was');
  t.match(bad.body, '<input id="validAt" name="validAt" value="2025-13"', 'what was typed, shown back to be corrected');
  t.match(bad.body, 'aria-invalid="true"/><small id="validAt-hint">', 'and marked as the wrong one');
  t.match(bad.body, '<input id="knownAt" name="knownAt" value="2000-01-01T23:59:59.999Z" placeholder="now" aria-describedby="knownAt-hint"/>', 'the other control as it was');
  const twice = await app.inject({ url: '/?knownAt=soon&knownAt=later', headers: html });
  t.match(twice.body, '<input id="knownAt" name="knownAt" value="soon"', 'a control given twice: the first shown back');
  t.match(twice.body, '<input id="validAt" name="validAt" value placeholder', 'none typed: none shown');
});

t.test('a time control given twice is a 400 page, not the page for today', async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  for (const url of ['/offices/kg-president?validAt=2025&validAt=2026', '/?knownAt=2026-01-01T00:00:00.000Z&knownAt=2026-02-01T00:00:00.000Z']) {
    const r = await app.inject({ url, headers: html });
    t.equal(r.statusCode, 400, url);
    t.match(r.headers['content-type'], /^text\/html/);
    t.match(r.body, /is given more than once/);
  }
  t.equal((await app.inject({ url: '/v1/offices/kg-president/holder?validAt=2025&validAt=2026' })).statusCode, 400, 'as the API answers it');
});

t.test("a source's address is written out on the fact's page, for a citation", async (t) => {
  const { app, auth } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const url = 'https://en.odkb-csto.org/press_center/news/a-very-long-address-of-a-press-release?lang=en&id=123456';
  const posted = await app.inject({
    method: 'POST',
    url: '/v1/facts',
    headers: auth('recorder'),
    payload: { type: 'ChairmanshipPassed', data: { organization: 'csto', chair: 'kg', term: { from: '2025-01-01', to: '2025-12-31' } }, source: { title: 'On the chairmanship', publisher: 'CSTO Secretariat', url, publishedOn: '2024-11-28', quote: 'The chairmanship passes to the Kyrgyz Republic.' } },
  });
  t.equal(posted.statusCode, 201, posted.body);
  const r = await app.inject({ url: `/facts/${(posted.json() as { factId: string }).factId}` });
  t.equal(r.statusCode, 200);
  const text = r.body.replace(/<[^>]+>/g, '').replace(/&amp;/g, '&');
  t.match(text, 'On the chairmanship, CSTO Secretariat, published 2024-11-28.', 'title, publisher, date');
  t.match(text, `At ${url}`, 'the address as text, not only a link behind the title');
  t.match(text, 'The chairmanship passes to the Kyrgyz Republic.', 'the quote');
});

t.test("a page's path that does not decode is a 400 page for a browser, a problem otherwise", async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const page = await app.inject({ url: '/sessions/%ZZ', headers: { accept: 'text/html,application/xhtml+xml' } });
  t.equal(page.statusCode, 400);
  t.match(page.headers['content-type'], /^text\/html/);
  t.ok(page.headers['content-security-policy'], 'under the CSP');
  t.ok(page.headers['x-request-id'], 'with the request id');
  t.match(page.body, /does not decode/);
  const api = await app.inject({ url: '/v1/sessions/%ZZ', headers: { accept: 'text/html' } });
  t.equal(api.statusCode, 400);
  t.match(api.headers['content-type'], /^application\/problem\+json/, "the API's paths answer problems whatever the client accepts");
  t.match((await app.inject({ url: '/sessions/%ZZ' })).headers['content-type'], /^application\/problem\+json/, 'and a client not asking for HTML');
});

t.test("the stylesheet and icon are never refused: a page's look does not go after the page", async (t) => {
  const { app } = await startTestApp(t, { store: 'memory', env: { ANNALS_RATE_LIMIT_ANONYMOUS: '2' } });
  t.equal((await app.inject({ url: '/', headers: html })).statusCode, 200, 'a page');
  for (let i = 0; i < 3; i++) {
    const css = await app.inject({ url: '/static/explorer.css', headers: { accept: 'text/css,*/*;q=0.1' } });
    t.equal(css.statusCode, 200, 'its stylesheet, whatever the count');
    t.match(css.headers['content-type'], /^text\/css/);
    t.equal((await app.inject({ url: '/static/icon.svg' })).statusCode, 200, 'its icon');
  }
  t.equal((await app.inject({ url: '/', headers: html })).statusCode, 200, 'a second page: the stylesheet spent none of the limit');
  t.equal((await app.inject({ url: '/', headers: html })).statusCode, 429, 'a third is past it');
});

t.test("a page's title names the chosen day and moment, so two readings of it are told apart", async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const title = async (url: string) => /<title>([^<]*)<\/title>/.exec((await app.inject({ url, headers: html })).body)?.[1];
  t.equal(await title('/offices/kg-president'), 'President of the Kyrgyz Republic — Annals', 'today, as known now: the name alone');
  t.equal(await title('/offices/kg-president?validAt=2020'), 'President of the Kyrgyz Republic, in 2020 — Annals');
  t.equal(await title('/offices/kg-president?validAt=2025-11-27&knownAt=2030-01-01T00:00:00.000Z'), 'President of the Kyrgyz Republic, on 2025-11-27, as recorded by 2030-01-01T00:00:00.000Z — Annals');
});

t.test("the start page's tour says the day its office link goes to", async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const text = (body: string) => body.replace(/<[^>]+>/g, '');
  t.match(text((await app.inject({ url: '/' })).body), 'Secretary-General of the CSTO today, with its succession');
  const in2020 = await app.inject({ url: '/?validAt=2020' });
  t.match(in2020.body, '<a href="/offices/csto-secretary-general?validAt=2020">');
  t.match(text(in2020.body), 'Secretary-General of the CSTO in 2020, with its succession', 'not "today" for a link to 2020');
});

t.test('another error on a page whose time controls do not parse: that error, the form empty', async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example', ANNALS_PRIVATE_READS: 'true' } });
  const r = await app.inject({ url: '/organizations/csto?validAt=2025-13', headers: html });
  t.equal(r.statusCode, 401, 'the credential is asked for before the controls are read');
  t.match(r.headers['content-type'], /^text\/html/);
  t.match(r.body, '<input id="validAt" name="validAt" value placeholder');
  const ok = await app.inject({ url: '/organizations/csto?validAt=2025', headers: html });
  t.match(ok.body, '<input id="validAt" name="validAt" value="2025"', 'parsed ones are kept');
});

t.test("a page's own parameter given twice, or holding a control character, is a 400 page naming it", async (t) => {
  const { app } = await startTestApp(t, { env: { ANNALS_SEED: 'example' } });
  const twice = await app.inject({ url: '/?q=csto&q=sco&validAt=2025', headers: html });
  t.equal(twice.statusCode, 400, 'a second q was read as none: the search silently dropped');
  t.match(twice.headers['content-type'], /^text\/html/);
  t.match(twice.body, 'q is given more than once: give it once');
  t.match(twice.body, '<input id="validAt" name="validAt" value="2025"', 'the time controls kept');
  const nul = await app.inject({ url: '/?q=a%00b', headers: html });
  t.equal(nul.statusCode, 400);
  t.notOk(nul.body.includes('\u0000'), 'no NUL in the page (it was in its title and form)');
  t.match(nul.body, 'q holds a control character');
  const cursor = await app.inject({ url: '/offices/kg-president?cursor=a&cursor=b', headers: html });
  t.equal(cursor.statusCode, 400, 'any page parameter, a cursor too');
  t.match(cursor.body, 'cursor is given more than once');
  for (const url of ['/?validAt=%00', '/?knownAt=2020%00', '/people/x?validAt=%00']) {
    const shown = await app.inject({ url, headers: html });
    t.equal(shown.statusCode, 400, url);
    t.notOk(shown.body.includes('\u0000'), `${url}: a refused control shown back without its NUL (U+FFFD instead)`);
    t.ok(shown.body.includes('\ufffd'), `${url}: shown as U+FFFD`);
  }
  const pasted = await app.inject({ url: '/?q=%09csto%0A', headers: html });
  t.equal(pasted.statusCode, 200, 'a tab or line feed pasted with a name is searched as before');
  t.match(pasted.body, /Collective Security Treaty Organization/);
});
