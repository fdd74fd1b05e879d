/** Column helpers shared by the projections: terms and partial dates as bound columns. */
import { lowerBound, termBounds, upperBound } from '../events/index.js';
import type { Row } from './types.js';

export interface TermLike {
  from: string;
  to?: string | null;
}

/** A term's columns as a query reads them back (what termColumns writes). */
export interface TermRow {
  from_raw: string;
  to_raw: string | null;
  s0: string;
  s1: string;
  e0: string;
  e1: string;
}

/** A term as `from_raw, to_raw` plus its day bounds `s0, s1, e0, e1` (open end: OPEN_END). */
export function termColumns(term: TermLike): Row {
  const b = termBounds(term);
  return { from_raw: term.from, to_raw: term.to ?? null, s0: b.s0, s1: b.s1, e0: b.e0, e1: b.e1 };
}

export function dateColumns(prefix: string, date: string | null | undefined): Row {
  let names = DATE_NAMES.get(prefix);
  if (names === undefined) DATE_NAMES.set(prefix, (names = [`${prefix}_raw`, `${prefix}_lo`, `${prefix}_hi`]));
  const [raw, lo, hi] = names;
  if (date == null) return { [raw]: null, [lo]: null, [hi]: null };
  return { [raw]: date, [lo]: lowerBound(date), [hi]: upperBound(date) };
}
/** dateColumns' column names by prefix, made once (a few prefixes, asked for every date a projection stores). */
const DATE_NAMES = new Map<string, readonly [string, string, string]>();

export const TERM_COLUMNS = ['from_raw', 'to_raw', 's0', 's1', 'e0', 'e1'] as const;

export const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** The source json() made last, and its text (sourceJson). */
let lastSource: unknown = null;
let lastSourceText: string | null = null;

/**
 * `json(fact.source)`, made once for the several projections of one fact (a rebuild: an
 * appointment's source is written by the offices' and the timeline's, an attendance's by the
 * sessions' and the offices'): the text of the last source asked is kept, and given again for
 * the same object. A fact's source is never changed once made (facts are immutable), so the
 * same object has the same text.
 */
export function sourceJson(fact: { readonly source?: unknown }): string | null {
  const s = fact.source;
  if (s !== lastSource || typeof s !== 'object') {
    // Made before it is kept: a source json() refuses (a BigInt, a cycle) throws again when asked again.
    const text = json(s);
    lastSource = s;
    lastSourceText = text;
  }
  return lastSourceText;
}
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : v == null ? null : String(v));
export const bool = (v: unknown): number => (v === true ? 1 : 0);

/**
 * What name search compares, in any script: compatibility forms unfolded (NFKD: ligatures,
 * full-width letters), marks stripped (é → e, ё → е, й → и), then case folded. Upper then
 * lower case folds what lower case alone keeps apart: ß and ss, final ς and σ, ı and i.
 */
export function normalizeName(name: string): string {
  return name.normalize('NFKD').replace(/\p{M}/gu, '').toUpperCase().toLowerCase();
}
