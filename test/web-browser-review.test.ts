/**
 * The explorer in a real browser, as the session-46 review read it: a date is never broken
 * across lines ("2025-" above "11-27" reads as two things), at phone and desktop widths, nor
 * the moment the record is read at.
 */
import t from 'tap';
import { manualClock } from './fixtures/clock.js';
import { launchBrowser, openPage, screenshot, serveApp } from './fixtures/browser.js';

t.setTimeout(300_000);

t.test('dates stay on one line, on a phone and on a desk', async (t) => {
  // The store's clock starts in the past: a moment after the seed is a past knownAt for the page (the notice, the moment in the line above the heading).
  const clock = manualClock();
  const { base } = await serveApp(t, { ANNALS_SEED: 'example' }, clock.now);
  const past = clock.advance();
  const browser = await launchBrowser(t);
  for (const viewport of ['phone', 'desktop'] as const) {
    const { page, errors } = await openPage(browser, viewport);
    for (const path of ['/offices/csto-secretary-general', '/offices/kg-president?validAt=2020', '/people/sadyr-japarov', '/organizations/csto', '/sessions/csto-collective-security-council-2025-11-27', `/organizations/csto?validAt=2025-11&knownAt=${past}`]) {
      await page.goto(`${base}${path}`);
      // A <time> laid out on more than one line has more than one client rect.
      const broken = await page.$$eval('body time', (times) => times.filter((e) => e.getClientRects().length > 1).map((e) => e.textContent));
      t.same(broken, [], `${viewport} ${path}: every date on one line`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.ok(overflow <= 1, `${viewport} ${path}: nothing wider than the screen (${overflow}px)`);
    }
    await screenshot(page, `review-person-${viewport}`);
    t.same(errors, [], `${viewport}: no console error`);
    await page.context().close();
  }
});
