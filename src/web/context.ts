/**
 * What every page knows: the two time controls as chosen (carried in every link and form, so
 * a page can be cited) and as applied (today and now when not chosen), and how to build links
 * that keep them.
 *
 * The controls accept what a person types: `validAt` a day, month or year; `knownAt` an
 * RFC 3339 moment, or a day (the record as it stood at the end of that day, UTC), or a day and
 * time without a zone (UTC). Links always carry the canonical form.
 */
import { isPartialDate, today } from '../../events/index.js';
import type { Key, Page, PageRequest, ReadQueries } from '../../projections/index.js';
import { currentKnownAt, isRfc3339 } from '../http/routes/reads-common.js';

export interface PageContext {
  /** The chosen day, month or year; null: today (`day`). */
  readonly validAt: string | null;
  /** What `validAt` applies: the chosen one or today. */
  readonly day: string;
  /** The chosen moment (canonical RFC 3339, UTC, ms); null: now (`k`). */
  readonly knownAt: string | null;
  /** What `knownAt` applies: the chosen moment or now. */
  readonly k: string;
  readonly now: string;
  readonly today: string;
  readonly q: ReadQueries;
  /** The page's path (no query), for forms and links to itself. */
  readonly path: string;
  /** The page's own query parameters besides the time controls (search text, cursors). */
  readonly extra: Readonly<Record<string, string>>;
  /** On a page refusing a control: what was typed into each, shown back in the form to be corrected, and which one is wrong. */
  readonly typed?: { readonly validAt: string; readonly knownAt: string; readonly invalid: 'validAt' | 'knownAt' };
}

export class InputError extends Error {
  constructor(
    readonly field: 'validAt' | 'knownAt',
    message: string,
  ) {
    super(message);
  }
}

/** A typed knownAt in canonical form, or an InputError saying what is expected. */
export function parseKnownAt(raw: string): string {
  const v = raw.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(v) && isPartialDate(v)) return `${v}T23:59:59.999Z`;
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/.test(v)) {
    const withZone = `${v.replace(' ', 'T')}${v.length === 16 ? ':00' : ''}Z`;
    if (isRfc3339(withZone)) return new Date(withZone).toISOString();
  }
  if (isRfc3339(v)) return new Date(v).toISOString();
  throw new InputError('knownAt', `“${raw}” is not a moment: write a day (2025-12-01, the end of that day, UTC) or a moment (2025-12-01T12:00:00Z)`);
}

export function parseValidAt(raw: string): string {
  const v = raw.trim();
  if (isPartialDate(v)) return v;
  throw new InputError('validAt', `“${raw}” is not a date: write a year (2026), a month (2026-06) or a day (2026-06-01)`);
}

export interface TimeChoice {
  validAt: string | null;
  knownAt: string | null;
  /** True when the URL did not carry them in canonical form (empty fields, a day for knownAt): redirect there. */
  canonical: boolean;
}

/** The time controls of a page's query; throws InputError on a value that is not one. */
export function timeChoice(query: Readonly<Record<string, unknown>>): TimeChoice {
  // Given twice (?validAt=2025&validAt=2026) is a list: which was meant is not ours to guess, and read as absent it showed today under an address naming 2025.
  for (const field of ['validAt', 'knownAt'] as const) {
    if (query[field] !== undefined && typeof query[field] !== 'string') throw new InputError(field, `${field} is given more than once: give one ${field === 'validAt' ? 'day, month or year' : 'moment'}`);
  }
  const rawValid = typeof query['validAt'] === 'string' ? query['validAt'] : undefined;
  const rawKnown = typeof query['knownAt'] === 'string' ? query['knownAt'] : undefined;
  const validAt = rawValid === undefined || rawValid.trim() === '' ? null : parseValidAt(rawValid);
  const knownAt = rawKnown === undefined || rawKnown.trim() === '' ? null : parseKnownAt(rawKnown);
  const canonical = (rawValid === undefined || rawValid === validAt) && (rawKnown === undefined || rawKnown === knownAt);
  return { validAt, knownAt, canonical };
}

export function pageContext(q: ReadQueries, path: string, choice: Pick<TimeChoice, 'validAt' | 'knownAt'>, extra: Record<string, string> = {}, clock: Date = new Date()): PageContext {
  // The moment an omitted knownAt stands for: now, or the last applied recordedAt when later (as the API's reads).
  const now = currentKnownAt(q, clock);
  const day = today(clock);
  return { validAt: choice.validAt, day: choice.validAt ?? day, knownAt: choice.knownAt, k: choice.knownAt ?? now, now, today: day, q, path, extra };
}

/** True when the page shows the record as it stood at an earlier moment. */
export const inThePast = (ctx: PageContext): boolean => ctx.knownAt !== null && ctx.knownAt < ctx.now;

/** A query string of these parameters (null and empty ones left out), with `?`. */
export function queryString(params: Readonly<Record<string, string | null | undefined>>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
}

/** A link to `path` keeping the time controls (overridable through `params`). */
export function href(ctx: PageContext, path: string, params: Readonly<Record<string, string | null | undefined>> = {}): string {
  return `${path}${queryString({ validAt: ctx.validAt, knownAt: ctx.knownAt, ...params })}`;
}

/** This page again, with its own parameters and the time controls, some replaced. */
export function self(ctx: PageContext, params: Readonly<Record<string, string | null | undefined>> = {}): string {
  return href(ctx, ctx.path, { ...ctx.extra, ...params });
}

/** Pages of entities, by kind. */
export const PAGE_OF = {
  organization: '/organizations/',
  office: '/offices/',
  person: '/people/',
  session: '/sessions/',
  document: '/documents/',
} as const;

export const pathOf = (kind: keyof typeof PAGE_OF, ref: string): string => `${PAGE_OF[kind]}${encodeURIComponent(ref)}`;
export const factPath = (factId: string): string => `/facts/${encodeURIComponent(factId)}`;

/** A page of a list as a page shows it: its items and the cursor of the next page (null: the last). */
export interface ShownPage<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A page's cursor parameter as the key to read after; an unreadable one starts from the first page. */
function keyOf(cursor: string | undefined): Key | null {
  if (!cursor) return null;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(key) && key.every((k) => typeof k === 'string') ? (key as string[]) : null;
  } catch {
    return null;
  }
}

/**
 * A page of a list the read models page by key (the same keyset pages as the API), from the
 * page's own cursor parameter `param`. The cursor is the key of the last item shown: a page
 * link, not an API cursor (pages carry knownAt in their links already).
 */
export function keysetPage<T>(ctx: PageContext, param: string, limit: number, read: (page: PageRequest) => Page<T> | null): ShownPage<T> {
  const page = read({ after: keyOf(ctx.extra[param]), limit }) ?? { items: [], next: null };
  return { items: page.items, nextCursor: page.next ? Buffer.from(JSON.stringify(page.next), 'utf8').toString('base64url') : null };
}

/** A page of a list read whole (short lists: a person's sessions), by position in it. */
export function slicePage<T>(ctx: PageContext, param: string, limit: number, items: readonly T[]): ShownPage<T> {
  const at = Number(keyOf(ctx.extra[param])?.[0] ?? 0);
  const from = Number.isSafeInteger(at) && at > 0 ? at : 0;
  return { items: items.slice(from, from + limit), nextCursor: items.length > from + limit ? Buffer.from(JSON.stringify([String(from + limit)]), 'utf8').toString('base64url') : null };
}
