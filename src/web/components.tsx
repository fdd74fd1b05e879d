/**
 * Small pieces the pages share: names (isolated for right-to-left text), links to entities and
 * to the facts statements come from, terms with their imprecision spelled out, certainty,
 * corrections, sources and pagers. Everything from facts goes through JSX text or attributes,
 * which the renderer escapes.
 */
import type { ComponentChildren } from 'preact';
import { lowerBound, precisionOf, upperBound, type Source } from '../../events/index.js';
import type { CorrectedBy, EntityView } from '../../projections/index.js';
import { factPath, href, pathOf, self, type PAGE_OF, type PageContext } from './context.js';

/** An entity's name (offices: title), else its key, else its id; isolated so right-to-left names do not reorder what surrounds them. */
export const nameOf = (v: EntityView | null | undefined): string => v?.name ?? v?.title ?? v?.key ?? v?.id ?? 'unknown';

export function Name({ v }: { v: EntityView | null | undefined }) {
  return <bdi>{nameOf(v)}</bdi>;
}

export function EntityLink({ ctx, kind, v }: { ctx: PageContext; kind: keyof typeof PAGE_OF; v: EntityView | null | undefined }) {
  if (!v) return <span class="unknown">not recorded</span>;
  if (v.name === null && v.title === undefined && v.key === null) return <bdi>{v.id}</bdi>;
  return (
    <a href={href(ctx, pathOf(kind, v.key ?? v.id))}>
      <Name v={v} />
    </a>
  );
}

/** The link from a statement to its fact ("Every statement on a page links to the fact it comes from"). */
export function FactLink({ ctx, factId, what }: { ctx: PageContext; factId: string; what: string }) {
  return (
    <a class="fact" href={href(ctx, factPath(factId))}>
      fact<span class="vh">: {what}</span>
    </a>
  );
}

/** "on 2026-06-01", "in 2026-06", "in 2026": the chosen day, month or year in words. */
export const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
export const onThe = (validAt: string): string => `${precisionOf(validAt) === 'day' ? 'on' : 'in'} ${validAt}`;

export function Term({ term }: { term: { from: string; to: string | null } }) {
  if (term.to === term.from && precisionOf(term.from) === 'day') return <time dateTime={term.from}>{term.from}</time>;
  const exactFrom = precisionOf(term.from) === 'day';
  const exactTo = term.to === null || precisionOf(term.to) === 'day';
  return (
    <span class="term">
      <time dateTime={term.from}>{term.from}</time> – {term.to === null ? <span>open (no end recorded)</span> : <time dateTime={term.to}>{term.to}</time>}
      {(!exactFrom || !exactTo) && (
        <small class="imprecise">
          {' '}
          ({!exactFrom ? `began between ${lowerBound(term.from)} and ${upperBound(term.from)}` : ''}
          {!exactFrom && !exactTo ? '; ' : ''}
          {!exactTo && term.to !== null ? `ended between ${lowerBound(term.to)} and ${upperBound(term.to)}` : ''})
        </small>
      )}
    </span>
  );
}

export function Certainty({ c }: { c: 'certain' | 'possible' | undefined }) {
  if (!c) return null;
  return <span class={`badge ${c}`}>{c === 'certain' ? 'certain' : 'possible'}</span>;
}

export function Corrected({ ctx, c }: { ctx: PageContext; c: CorrectedBy | undefined }) {
  if (!c) return null;
  return (
    <span class="corrected">
      {' '}
      Corrected on <time dateTime={c.recordedAt}>{c.recordedAt}</time>
      {c.reason ? (
        <>
          : <q>{c.reason}</q>
        </>
      ) : null}{' '}
      (<a href={href(ctx, factPath(c.factId))}>the correction</a>).
    </span>
  );
}

export function SourceBlock({ source }: { source: Source | null | undefined }) {
  if (!source) return <p>No source recorded.</p>;
  return (
    <div class="source">
      <p>
        <cite>{source.title}</cite>
        {source.publisher ? <>, {source.publisher}</> : null}
        {source.publishedOn ? (
          <>
            , published <time dateTime={source.publishedOn}>{source.publishedOn}</time>
          </>
        ) : null}
        .
      </p>
      {/* The address written out, not only behind the title: a citation needs it, and print and copied text lose a link's target. */}
      {source.url ? (
        <p class="url">
          At <a href={source.url}>{source.url}</a>
        </p>
      ) : null}
      {source.quote ? (
        <blockquote>
          <p>{source.quote}</p>
        </blockquote>
      ) : null}
    </div>
  );
}

/** "Next" for a paged list, following the API's cursor in the page's own parameter. */
export function Pager({ ctx, next, param, label }: { ctx: PageContext; next: string | null; param: string; label: string }) {
  const current = ctx.extra[param];
  if (!next && !current) return null;
  return (
    <nav class="pager" aria-label={`Pages of ${label}`}>
      {current ? <a href={self(ctx, { [param]: null })}>First page</a> : null}
      {next ? (
        <a rel="next" href={self(ctx, { [param]: next })}>
          Next page of {label}
        </a>
      ) : null}
    </nav>
  );
}

/** A table in a region that scrolls sideways on a narrow screen (focusable, so a keyboard can scroll it). */
export function Scroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function Download({ url, what }: { url: string; what: string }) {
  return (
    <p class="download">
      <a href={url} download>
        Download {what} as CSV
      </a>
    </p>
  );
}
