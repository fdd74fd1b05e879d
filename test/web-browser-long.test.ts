/**
 * The explorer in a real browser on a generated record (test/fixtures/long-record.ts): an
 * office with a succession of 120 terms (imprecise dates, acting terms, vacancies, an open
 * last term), a session with 231 attendees, and hostile names recorded as facts (markup,
 * quotes, right-to-left text), which must come out as text: no script runs, no element is
 * made from a name. Axe-core on each page, screenshots at both widths.
 */
import t from 'tap';
import { axe, launchBrowser, openPage, screenshot, serious, serveApp, textOf } from './fixtures/browser.js';
import { HOSTILE, LONG, longRecord } from './fixtures/long-record.js';

t.setTimeout(600_000);

t.test('a long succession, many attendees and hostile names, in a browser', async (t) => {
  const { base, runtime } = await serveApp(t, { ANNALS_SEED: 'none' });
  const recorded = await runtime.recorder.recordBatch(longRecord(), { principal: 'recorder:tests', correlationId: 'long-record' });
  t.notOk(recorded.error, 'the write side accepts the generated record');

  const browser = await launchBrowser(t);
  const { page, errors, dialogs } = await openPage(browser);
  const both = async (name: string) => {
    t.same(serious(await axe(page)), [], `${name}: no serious or critical accessibility violation`);
    await screenshot(page, `long-${name}-desktop`);
    const phone = await openPage(browser, 'phone');
    await phone.page.goto(page.url());
    t.same(serious(await axe(phone.page)), [], `${name} at phone width`);
    t.ok((await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 1, `${name} at phone width: no page-wide sideways scroll`);
    await screenshot(phone.page, `long-${name}-phone`);
    await phone.page.context().close();
  };

  // The long succession on a day inside a term, then inside a vacancy.
  await page.goto(`${base}/offices/${LONG.office}?validAt=1950`);
  t.equal(await page.locator('svg.timeline a.bar').count(), LONG.terms + 1, 'a bar for every term, and one for the report that attests a holder at the session');
  t.equal(await page.locator('svg.timeline a.bar.attested').count(), 1);
  t.equal(await page.locator('svg.timeline a.bar.acting').count(), 12, 'acting terms drawn as such (every 10th)');
  t.ok((await page.locator('svg.timeline a.bar rect.possible').count()) >= 10, 'terms known to the month or year have possible parts');
  t.equal(await page.locator('svg.timeline a.bar line.open').count(), 1, 'the open last term runs to the edge');
  // 17 vacancies of 120 days; the one before term 49 begins with a start known only to the
  // month, which may fall inside it: 16 spans no term may cover.
  t.equal(await page.locator('svg.timeline .gap').count(), Math.floor((LONG.terms - 1) / 7) - 1, 'each vacancy marked');
  t.equal(await page.locator('table.succession tbody tr:not(.gap-row)').count(), 100, 'the list pages at 100 terms');
  t.equal(await page.locator('table.succession tbody tr.gap-row').count(), 13, 'with the vacancies between them');
  const firstBar = await page.locator('svg.timeline a.bar').first().getAttribute('aria-label');
  t.equal(firstBar, 'Holder 0: 1900-01-01 to 1900-10-28; appointed', 'each bar says what it draws');
  const onDay = await textOf(page, 'section[aria-labelledby=day-heading]');
  t.match(onDay, /^Holder in 1950 Holder \d+ (certain|possible)/);
  await both('office');
  // Into a vacancy: the 7th term follows 120 days with no holder.
  const gapTitle = await page.locator('svg.timeline .gap title').first().textContent();
  const gapDay = /from (\d{4}-\d{2}-\d{2})/.exec(gapTitle ?? '')?.[1] as string;
  await page.fill('#validAt', gapDay);
  await Promise.all([page.waitForNavigation(), page.click('form.time button[type=submit]')]);
  t.match(await textOf(page, 'section[aria-labelledby=day-heading]'), new RegExp(`^Holder on ${gapDay} No holder is recorded on ${gapDay}`));
  t.match(await textOf(page, 'table.succession tbody'), new RegExp(`No holder recorded from ${gapDay} to`));
  // The rest of the succession on the next page; the time controls kept.
  await Promise.all([page.waitForNavigation(), page.click('nav.pager a[rel=next]')]);
  t.equal(new URL(page.url()).searchParams.get('validAt'), gapDay);
  t.equal(await page.locator('table.succession tbody tr:not(.gap-row)').count(), LONG.terms + 1 - 100, 'the rest, the attestation among them');
  t.match(await textOf(page, 'table.succession tbody tr:last-child'), /^Holder 119 \S+ – open \(no end recorded\)/);

  // 231 attendees, 100 a page.
  await page.goto(`${base}/sessions/${LONG.session}`);
  const counts: number[] = [];
  for (;;) {
    counts.push(await page.locator('section[aria-labelledby=attendees-heading] tbody tr').count());
    const next = page.locator('section[aria-labelledby=attendees-heading] nav.pager a[rel=next]');
    if ((await next.count()) === 0) break;
    await Promise.all([page.waitForNavigation(), next.click()]);
  }
  t.same(counts, [100, 100, 31]);
  t.match(await textOf(page, 'section[aria-labelledby=attendees-heading] tbody tr:last-child'), new RegExp(`^${HOSTILE.script.replace(/[()]/g, '\\$&')} A State`), 'the hostile attendee, as text');
  await page.goto(`${base}/sessions/${LONG.session}`);
  t.equal(await textOf(page, 'h1'), `Session with many attendees ${HOSTILE.quotes}`);
  t.equal(await textOf(page, 'section[aria-labelledby=agenda-heading] li'), HOSTILE.script);
  await both('session');

  // Hostile names: text, never markup.
  for (const [key, name] of [['hostile-script', HOSTILE.script], ['hostile-quotes', HOSTILE.quotes], ['hostile-rtl', HOSTILE.rtl]] as const) {
    await page.goto(`${base}/people/${key}`);
    t.equal(await page.locator('h1').innerText(), name, `${key}: the name as recorded`);
    t.equal(await page.evaluate(() => document.scripts.length), 0, `${key}: no script element`);
    t.equal(await page.evaluate(() => document.querySelectorAll('main b, main img').length), 0, `${key}: no element made from the name`);
  }
  t.equal(await page.evaluate(() => document.querySelector('h1 bdi') !== null), true, 'names are isolated (bdi), so right-to-left text does not reorder the page');
  await both('person-rtl');
  await page.goto(`${base}/offices/${LONG.hostileOffice}`);
  t.equal(await page.locator('h1').innerText(), HOSTILE.img);
  t.equal(await page.evaluate(() => document.images.length), 0, 'the office title made no image');
  t.same(await page.locator('svg.timeline a.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('aria-label'))), [
    `${HOSTILE.quotes}: 1950-03-01 to 1950-03-03; attested at a session (chair)`,
    `${HOSTILE.script}: 2001-01-01 to 2003-12-31; appointed`,
    `${HOSTILE.rtl}: 2004 to 2005-06-30; appointed; dates imprecise: hatched where only possible`,
  ], 'names in the timeline’s attributes, as text');
  await page.goto(`${base}/documents/hostile-document`);
  t.equal(await page.locator('h1').innerText(), HOSTILE.script);
  t.equal(await page.locator('dl.facts dt:text("Summary") + dd').innerText(), HOSTILE.img);
  await both('document-hostile');
  await page.goto(`${base}/organizations/${LONG.org}`);
  t.match(await textOf(page, '.lede'), HOSTILE.img, 'an alias as text');
  await page.goto(`${base}/?q=${encodeURIComponent('<script>')}`);
  t.match(await textOf(page, 'ul.hits'), HOSTILE.script, 'search finds the hostile name and shows it as text');
  t.equal(await page.evaluate(() => document.scripts.length), 0);

  t.same(dialogs, [], 'no script ran: no alert');
  t.same(errors, [], 'no console error (no CSP violation)');
});
