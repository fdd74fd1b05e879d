/**
 * Valid-time dates: partial ISO dates `YYYY`, `YYYY-MM` or `YYYY-MM-DD` ("the chairmanship
 * for 2026"). A partial date stands for the interval of days it covers; bounds are full
 * `YYYY-MM-DD` strings, which compare correctly as plain strings.
 */
import { z } from 'zod';

const SHAPE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

export type Precision = 'year' | 'month' | 'day';

/** Greater than every `YYYY-MM-DD` string: the end of an open term. */
export const OPEN_END = '\uffff';

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in a month of the proleptic Gregorian calendar (arithmetic: this runs for every date a projection stores). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS[month - 1] as number;
}

interface Parts {
  year: number;
  month?: number;
  day?: number;
}

function parts(value: string): Parts | null {
  const m = SHAPE.exec(value);
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1) return null;
  if (m[2] === undefined) return { year };
  const month = Number(m[2]);
  if (month < 1 || month > 12) return null;
  if (m[3] === undefined) return { year, month };
  const day = Number(m[3]);
  if (day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

export function isPartialDate(value: string): boolean {
  return parts(value) !== null;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function mustParse(value: string): Parts {
  const p = parts(value);
  if (!p) throw new RangeError(`not a partial date: ${JSON.stringify(value)}`);
  return p;
}

export function precisionOf(value: string): Precision {
  const p = mustParse(value);
  return p.day !== undefined ? 'day' : p.month !== undefined ? 'month' : 'year';
}

/**
 * Bounds already worked out, by the date written: a projection asks them for every date it
 * stores (a rebuild: millions of times, over a few thousand distinct days). Emptied when full.
 */
const BOUNDS = new Map<string, readonly [string, string]>();
const BOUNDS_KEPT = 16_384;

function bounds(value: string): readonly [string, string] {
  const known = BOUNDS.get(value);
  if (known !== undefined) return known;
  const p = mustParse(value);
  const month = p.month ?? 12;
  const b = [`${pad(p.year, 4)}-${pad(p.month ?? 1)}-${pad(p.day ?? 1)}`, `${pad(p.year, 4)}-${pad(month)}-${pad(p.day ?? daysInMonth(p.year, month))}`] as const;
  if (BOUNDS.size >= BOUNDS_KEPT) BOUNDS.clear();
  BOUNDS.set(value, b);
  return b;
}

/** The first day a partial date may mean. */
export function lowerBound(value: string): string {
  return bounds(value)[0];
}

/** The last day a partial date may mean. */
export function upperBound(value: string): string {
  return bounds(value)[1];
}

/** Today as a `YYYY-MM-DD` date in UTC. */
export function today(now: Date): string {
  return now.toISOString().slice(0, 10);
}

export const PartialDate = z
  .string()
  .refine(isPartialDate, {
    message: 'expected a date YYYY, YYYY-MM or YYYY-MM-DD that exists in the calendar',
  })
  .describe('A partial ISO date: YYYY, YYYY-MM or YYYY-MM-DD');
export type PartialDate = z.infer<typeof PartialDate>;

/** Transaction time: an RFC 3339 timestamp in UTC with milliseconds. */
export const Timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, {
    message: 'expected an RFC 3339 UTC timestamp with milliseconds, e.g. 2025-11-27T12:00:00.000Z',
  })
  .refine((v) => !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v, {
    message: 'not a real instant',
  })
  .describe('An RFC 3339 UTC timestamp with milliseconds');
