/**
 * The page shell every page shares: language, landmarks, the two time controls (a GET form,
 * so they work with JavaScript off and end up in the URL), the notice shown when the record is
 * read as it stood at an earlier moment, and links between the pages and the API.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { onThe } from './components.js';
import { href, inThePast, self, type PageContext } from './context.js';

export interface LayoutProps {
  ctx: PageContext;
  title: string;
  /** The API answer this page is built from, for the "as JSON" link. */
  api?: string;
  children?: ComponentChildren;
}

function TimeControls({ ctx }: { ctx: PageContext }) {
  const keep = Object.entries(ctx.extra).filter(([k]) => !/cursor$/i.test(k));
  return (
    <form class="time" method="get" action={ctx.path} aria-labelledby="time-heading">
      <h2 id="time-heading" class="vh">
        Time controls
      </h2>
      {keep.map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <p class="field">
        <label for="validAt">On the day</label>
        <input id="validAt" name="validAt" value={ctx.typed?.validAt ?? ctx.validAt ?? ''} placeholder={ctx.today} inputMode="numeric" pattern="\d{4}(-\d{2}(-\d{2})?)?" aria-describedby="validAt-hint" aria-invalid={ctx.typed?.invalid === 'validAt' ? 'true' : undefined} />
        <small id="validAt-hint">a year, month or day (2026, 2026-06, 2026-06-01); empty: today</small>
      </p>
      <p class="field">
        <label for="knownAt">As the record stood on</label>
        <input id="knownAt" name="knownAt" value={ctx.typed?.knownAt ?? ctx.knownAt ?? ''} placeholder="now" aria-describedby="knownAt-hint" aria-invalid={ctx.typed?.invalid === 'knownAt' ? 'true' : undefined} />
        <small id="knownAt-hint">a day (its end, UTC) or a moment (2025-12-01T12:00:00Z); empty: now</small>
      </p>
      <p class="actions">
        <button type="submit">Show</button>
        {(ctx.validAt !== null || ctx.knownAt !== null) && <a href={`${ctx.path}${new URLSearchParams(keep).toString() ? `?${new URLSearchParams(keep).toString()}` : ''}`}>today, as known now</a>}
      </p>
    </form>
  );
}

function PastNotice({ ctx }: { ctx: PageContext }) {
  return (
    <section class="past" aria-labelledby="past-heading">
      <h2 id="past-heading">
        The record as it stood on <time dateTime={ctx.knownAt ?? undefined}>{ctx.knownAt}</time>
      </h2>
      <p>
        This page shows only what had been recorded by then: facts recorded later, and later corrections and retractions, are not shown.{' '}
        <a href={self(ctx, { knownAt: null })}>Read this page as the record stands now</a>.
      </p>
    </section>
  );
}

/** The chosen time in the title, so a bookmark, a tab or a citation manager tells one reading of a page from another. */
function when(ctx: PageContext): string {
  const parts = [ctx.validAt ? onThe(ctx.validAt) : null, ctx.knownAt ? `as recorded by ${ctx.knownAt}` : null].filter((p) => p !== null);
  return parts.length > 0 ? `, ${parts.join(', ')}` : '';
}

export function Layout({ ctx, title, api, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title}${when(ctx)} — Annals`}</title>
        <link rel="stylesheet" href="/static/explorer.css" />
        <link rel="icon" href="/static/icon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to the content
        </a>
        <header class="site">
          <nav aria-label="Site">
            <a class="brand" href={href(ctx, '/')}>
              Annals
            </a>
            <a href="/docs">API reference</a>
            {api && <a href={api}>This page as JSON</a>}
          </nav>
          <TimeControls ctx={ctx} />
        </header>
        {inThePast(ctx) && <PastNotice ctx={ctx} />}
        <main id="main">
          <p class="when">
            On <strong>{ctx.validAt ? <time dateTime={ctx.validAt}>{ctx.validAt}</time> : <><time dateTime={ctx.today}>{ctx.today}</time> (today)</>}</strong>, as the record stood <strong>{ctx.knownAt ? <time dateTime={ctx.knownAt}>{ctx.knownAt}</time> : 'now'}</strong>.
          </p>
          {children}
        </main>
        <footer class="site">
          <p>
            Every statement links to the fact it comes from, with its source. The same record answers over HTTP: <a href="/docs">the API reference</a>, <a href="/openapi.json">OpenAPI</a>.
          </p>
        </footer>
      </body>
    </html>
  );
}

/** A whole page as HTML text. */
export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}
