/**
 * The explorer in a real browser (headless Chromium) on the example record, with the worked
 * example's correction recorded: what a reader sees on each kind of page, links followed from
 * page to page, both time controls changed through the form, the record before and after the
 * correction, the accessibility check (axe-core: no serious or critical violation), no console
 * error (a CSP violation would be one), and screenshots of each page kind at desktop and phone
 * widths in .screenshots/.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { axe, launchBrowser, openPage, screenshot, serious, serveApp, textOf, TIMEOUT } from './fixtures/browser.js';
import { manualClock } from './fixtures/clock.js';

const KG_CHAIR = '01KB19R500W0RKEDEXAMP1E001';
const source = { title: 'Recorder’s note for the worked example: the CSTO chairmanship of the Kyrgyz Republic' };

t.setTimeout(600_000);

t.test('the example record, read in a browser', async (t) => {
  // The store's clock moves only when the test moves it: BEFORE the correction is a moment named here.
  const clock = manualClock();
  const { base, app, auth } = await serveApp(t, { ANNALS_SEED: 'example' }, clock.now);
  const post = async (body: object) => {
    const r = await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: body });
    t.equal(r.statusCode, 201, r.body);
  };
  await post({ type: 'ChairmanshipPassed', factId: KG_CHAIR, data: { organization: 'csto', chair: 'kg', term: { from: '2024-01-01', to: '2024-12-31' } }, source });
  const BEFORE = clock.advance();
  clock.advance();
  await post({ type: 'FactCorrected', factId: '01KB19R500W0RKEDEXAMP1E002', data: { fact: KG_CHAIR, reason: 'the year was mistyped: the Kyrgyz chairmanship was the one for 2025', data: { organization: 'csto', chair: 'kg', term: { from: '2025-01-01', to: '2025-12-31' } } }, source });

  const browser = await launchBrowser(t);
  const { page, errors, dialogs } = await openPage(browser);
  const checked: string[] = [];
  /** axe on the page as shown, once per kind of page; screenshots at both widths. */
  const inspect = async (kind: string) => {
    const violations = serious(await axe(page));
    t.same(violations, [], `${kind}: no serious or critical accessibility violation`);
    await screenshot(page, `example-${kind}-desktop`);
    const phone = await openPage(browser, 'phone');
    await phone.page.goto(page.url());
    t.same(serious(await axe(phone.page)), [], `${kind} at phone width: no serious or critical violation`);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 1, `${kind} at phone width: nothing wider than the screen but inside its scrolling regions (${overflow}px)`);
    await screenshot(phone.page, `example-${kind}-phone`);
    t.same(phone.errors, [], `${kind} at phone width: no console error`);
    await phone.page.context().close();
    checked.push(kind);
  };
  const setTime = async (p: Page, controls: { validAt?: string; knownAt?: string }) => {
    if (controls.validAt !== undefined) await p.fill('#validAt', controls.validAt);
    if (controls.knownAt !== undefined) await p.fill('#knownAt', controls.knownAt);
    await Promise.all([p.waitForNavigation(), p.click('form.time button[type=submit]')]);
  };

  // The start page: the CSTO straight away, and search in any script.
  await page.goto(`${base}/`);
  t.equal(await page.title(), 'The record — Annals');
  t.match(await textOf(page, '#tour-heading + p + h3 + ul'), /Collective Security Treaty Organization \(CSTO, ОДКБ/);
  await page.fill('#q', 'ОДКБ');
  await Promise.all([page.waitForNavigation(), page.click('form[role=search] button')]);
  t.match(await textOf(page, 'ul.hits'), /Collective Security Treaty Organization intergovernmental organization/);
  await page.fill('#q', 'жапаров');
  await Promise.all([page.waitForNavigation(), page.click('form[role=search] button')]);
  t.match(await textOf(page, 'ul.hits'), /^Sadyr Japarov person — also Садыр Жапаров/);
  await inspect('home');

  // Follow the link to the organization, then ask about 2027.
  await page.goto(`${base}/`);
  await Promise.all([page.waitForNavigation(), page.click('text=Collective Security Treaty Organization')]);
  t.equal(new URL(page.url()).pathname, '/organizations/csto');
  await setTime(page, { validAt: '2027' });
  t.equal(new URL(page.url()).search, '?validAt=2027', 'the chosen year is in the address');
  t.match(await textOf(page, 'section[aria-labelledby=in-force-heading]'), /^Documents in force in 2027 Document Kind Status Adopted on In force Period Source Declaration of the CSTO Collective Security Council certain declaration adopted 2025-11-27 2025-11-27 – open/);
  const inForce = await page.locator('section[aria-labelledby=in-force-heading] tbody tr').count();
  t.equal(inForce, 1, 'only the Declaration is in force in 2027');
  const considered = await page.locator('section[aria-labelledby=documents-heading] tbody tr', { hasText: 'considered, no outcome recorded' }).allInnerTexts();
  t.same(considered.map((r) => r.split('\t')[0]?.trim()).sort(), ['CSTO Anti-Drug Strategy for 2026–2030', 'Plan for the Development of Military Cooperation of the CSTO Member States for 2026–2030'], 'the two 2026–2030 documents: considered, not adopted');
  t.match(await textOf(page, 'section[aria-labelledby=documents-heading] tbody tr:has-text("Anti-Drug")'), /considered, no outcome recorded — not in force 2026–2030/);
  await inspect('organization');

  // The CSV of the documents in force, with the same time controls.
  const csvHref = await page.locator('section[aria-labelledby=in-force-heading] .download a').getAttribute('href');
  t.match(csvHref, /^\/v1\/documents\?organization=csto&validAt=2027&format=csv&limit=500$/);
  const csv = await page.request.get(`${base}${csvHref}`);
  t.match(csv.headers()['content-type'], /^text\/csv/);
  t.equal((await csv.text()).trim().split('\r\n').length, 2, 'a header and the Declaration');

  // The Secretary-General: follow the office link (it keeps the year), then the two days.
  await Promise.all([page.waitForNavigation(), page.click('section[aria-labelledby=offices-heading] a:has-text("Secretary-General of the CSTO")')]);
  t.equal(new URL(page.url()).search, '?validAt=2027', 'links carry the time controls');
  await setTime(page, { validAt: '2025-11-27' });
  t.match(await textOf(page, 'section[aria-labelledby=day-heading]'), /^Holder on 2025-11-27 Imangali Tasmagambetov certain attested: named in the office at a session \(reporting to it\), 2025-11-27\./);
  await setTime(page, { validAt: '2026-06-01' });
  t.match(await textOf(page, 'section[aria-labelledby=day-heading]'), /^Holder on 2026-06-01 Taalatbek Masadykov certain appointed, 2026-01-01 – 2028-12-31\./);
  t.match(await textOf(page, 'section[aria-labelledby=day-heading] blockquote'), /appointed Taalatbek Masadykov to the position of Secretary-General for a three-year term/, 'the verbatim quote');
  t.equal(await page.locator('svg.timeline a.bar').count(), 2, 'two terms on the timeline');
  t.equal(await page.locator('svg.timeline a.bar.attested').count(), 1, 'one of them an attestation');
  t.equal(await page.locator('svg.timeline rect.chosen').count(), 1, 'the chosen day is marked');
  t.equal(await page.locator('svg.timeline .gap').count(), 1, 'no holder recorded between the session and 2026');
  t.match(await textOf(page, 'table.succession tbody'), /Imangali Tasmagambetov 2025-11-27 attested.*No holder recorded from 2025-11-28 to 2025-12-31 Taalatbek Masadykov 2026-01-01 – 2028-12-31 appointed certain/, 'the list says what the timeline draws');
  await inspect('office');

  // From a bar of the timeline to the person.
  await Promise.all([page.waitForNavigation(), page.click('table.succession a:has-text("Taalatbek Masadykov")')]);
  t.equal(new URL(page.url()).pathname, '/people/taalatbek-masadykov');
  t.match(await textOf(page, 'section[aria-labelledby=roles-heading]'), /Secretary-General of the CSTO \(Collective Security Treaty Organization\), 2026-01-01 – 2028-12-31, appointed; on 2026-06-01: certain/);
  await inspect('person');

  // The session: from the organization's page.
  await page.goto(`${base}/organizations/csto`);
  await Promise.all([page.waitForNavigation(), page.click('section[aria-labelledby=sessions-heading] a')]);
  t.equal(new URL(page.url()).pathname, '/sessions/csto-collective-security-council-2025-11-27');
  t.match(await textOf(page, 'dl.facts'), /Held 2025-11-27 Place Bishkek, Kyrgyz Republic Chaired by Sadyr Japarov, President of the Kyrgyz Republic/);
  t.match(await textOf(page, 'section[aria-labelledby=attendees-heading] tbody'), /^Igor Petrishenko Commonwealth of Independent States First Deputy Secretary-General of the CIS fact/);
  t.match(await textOf(page, 'section[aria-labelledby=documents-heading]'), /CSTO Anti-Drug Strategy for 2026–2030: considered \(no outcome recorded\).*Declaration of the CSTO Collective Security Council: adopted on 2025-11-27/);
  await inspect('session');

  // A document only considered.
  await Promise.all([page.waitForNavigation(), page.click('section[aria-labelledby=documents-heading] a:has-text("Anti-Drug")')]);
  t.match(await textOf(page, 'main .lede'), /^Considered; no outcome is recorded, so it is not in force\.$/);
  await inspect('document');

  // The corrected chairmanship: now, then as the record stood before the correction.
  await page.goto(`${base}/organizations/csto?validAt=2025-06-01`);
  t.match(await textOf(page, 'section[aria-labelledby=chair-heading] p'), /^On 2025-06-01: Kyrgyz Republic certain$/);
  t.match(await textOf(page, 'section[aria-labelledby=chair-heading] li:has-text("Kyrgyz")'), /^Kyrgyz Republic, 2025-01-01 – 2025-12-31\. fact : chairmanship of Kyrgyz Republic, 2025-01-01 Corrected on \S+: the year was mistyped: the Kyrgyz chairmanship was the one for 2025 \(the correction\)\.$/);
  t.equal(await page.locator('section.past').count(), 0, 'as known now: no notice');
  await setTime(page, { knownAt: BEFORE });
  t.equal(new URL(page.url()).searchParams.get('knownAt'), BEFORE, 'the moment is in the address');
  t.match(await textOf(page, 'section.past'), new RegExp(`^The record as it stood on ${BEFORE.replace(/\./g, '\\.')} This page shows only what had been recorded by then`));
  t.match(await textOf(page, 'section[aria-labelledby=chair-heading] p'), /^On 2025-06-01: no chair recorded\.$/, 'before the correction nobody was known to chair in 2025');
  t.match(await textOf(page, 'section[aria-labelledby=chair-heading] li:has-text("Kyrgyz")'), /^Kyrgyz Republic, 2024-01-01 – 2024-12-31\. fact : chairmanship of Kyrgyz Republic, 2024-01-01$/, 'the record then said 2024, with no correction');
  await screenshot(page, 'example-organization-before-correction-desktop');
  // From there, the fact as it stood then.
  await Promise.all([page.waitForNavigation(), page.click('section[aria-labelledby=chair-heading] li:has-text("Kyrgyz") a.fact')]);
  t.equal(new URL(page.url()).pathname, `/facts/${KG_CHAIR}`);
  t.equal(new URL(page.url()).searchParams.get('knownAt'), BEFORE, 'the link kept the moment');
  t.match(await textOf(page, 'main .lede'), /^This fact stands as first recorded\.$/);
  t.equal(await page.locator('article.version').count(), 1);
  // Then back to the present through the notice's link.
  await Promise.all([page.waitForNavigation(), page.click('section.past a')]);
  t.equal(new URL(page.url()).searchParams.get('knownAt'), null);
  t.match(await textOf(page, 'main .lede'), /^This fact was corrected: reads show the latest correction\./);
  t.same(await page.locator('article.version h3').allInnerTexts().then((xs) => xs.map((x) => x.replace(/ on .*/, ''))), ['As first recorded', 'Corrected']);
  t.match(await textOf(page, 'article.version.correction'), /Reason: the year was mistyped: the Kyrgyz chairmanship was the one for 2025 What it states instead organization Collective Security Treaty Organization chair Kyrgyz Republic term from 2025-01-01 to 2025-12-31/);
  t.match(await textOf(page, 'article.version.original'), /Recorded by a recorder \(token [0-9a-f]{8}\)\..*from 2024-01-01 to 2024-12-31 Source Recorder’s note for the worked example/);
  await inspect('fact');

  // A fact of the release: the verbatim quote.
  await page.goto(`${base}/facts/01KB19R500EXAMP1E000000022`);
  t.match(await textOf(page, 'article.version blockquote'), /^The Collective Security Council appointed Taalatbek Masadykov to the position of Secretary-General for a three-year term – from January 1, 2026 to December 31, 2028\.$/);
  t.match(await textOf(page, 'article.version .source cite'), /^Session of the CSTO Collective Security Council in Bishkek \(press release\)$/);

  // A typed day for knownAt: the canonical address, and a plain error for nonsense (on a
  // page of their own: a 4xx answer is a console error).
  const errorsPage = await openPage(browser);
  const p = errorsPage.page;
  await p.goto(`${base}/offices/csto-secretary-general?knownAt=2025-01-01`);
  t.equal(new URL(p.url()).searchParams.get('knownAt'), '2025-01-01T23:59:59.999Z');
  t.match(await textOf(p, 'main h1'), /^Not in the record$/, 'nothing was recorded by then');
  const bad = await p.goto(`${base}/offices/csto-secretary-general?validAt=someday`);
  t.equal(bad?.status(), 400);
  t.match(await textOf(p, 'main .error'), /not a date: write a year/);
  t.same(serious(await axe(p)), [], 'the error page too');
  await p.context().close();

  // With JavaScript off, the same: forms and links are all there is.
  const noJs = await openPage(browser, 'desktop', false);
  await noJs.page.goto(`${base}/offices/csto-secretary-general`);
  await setTime(noJs.page, { validAt: '2025-11-27' });
  t.match(await textOf(noJs.page, 'section[aria-labelledby=day-heading]'), /Imangali Tasmagambetov/);
  await noJs.page.context().close();

  t.same(errors, [], 'no console error on any page (a CSP violation would be one)');
  t.same(dialogs, []);
  t.same(checked, ['home', 'organization', 'office', 'person', 'session', 'document', 'fact'], 'every kind of page was checked');
  void TIMEOUT;
});
