/**
 * The point questions' query (holder, chair, one office, organization or person: PointQuery)
 * checked without zod when it is well formed. zod's object parse cost the event loop ~5.5 µs a
 * holder question (in-process, under load ~15); the three fields' own checks cost well under
 * one. Anything the fast check does not accept as it is (a repeated field, a bad date, …)
 * goes to zod's validator, so refusals and their messages stay zod's; what it accepts, it
 * answers exactly as zod would: the same fields, in the schema's order (the ETag of a current
 * read hashes the query), knownAt normalised the same way.
 */
import type { FastifySchemaCompiler } from 'fastify';
import { daysInMonth, isPartialDate } from '../../../events/index.js';
import { POSITION, PointQuery, isRfc3339, refParamName } from './reads-common.js';

type Validate = (data: unknown) => { value?: unknown; error?: Error } | boolean;

/**
 * A timestamp already in the form it is normalised to (`toISOString`'s
 * `YYYY-MM-DDTHH:MM:SS.mmmZ`, which answers echo and clients send back), read digit by digit:
 * a regex, its captures and two Dates fewer (~2 µs a question). Anything else takes
 * isRfc3339. Both use the proleptic Gregorian calendar's days (daysInMonth).
 */
function isCanonical(v: string): boolean {
  if (v.length !== 24 || v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':' || v[19] !== '.' || v[23] !== 'Z') return false;
  for (const i of CANONICAL_DIGITS) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const n = (at: number, width: number): number => Number(v.slice(at, at + width));
  const y = n(0, 4);
  const mo = n(5, 2);
  const d = n(8, 2);
  if (mo < 1 || mo > 12 || d < 1 || n(11, 2) > 23 || n(14, 2) > 59 || n(17, 2) > 59) return false;
  return d <= daysInMonth(y, mo);
}
const CANONICAL_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

/** PointQuery's parse, or undefined when the fast check leaves the query to zod. */
export function pointQueryFast(data: unknown): Record<string, string> | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const { knownAt, minPosition, validAt } = data as Record<string, unknown>;
  // The schema's field order: knownAt, minPosition, validAt.
  const out: Record<string, string> = {};
  if (knownAt !== undefined) {
    if (typeof knownAt !== 'string') return undefined;
    if (isCanonical(knownAt)) out['knownAt'] = knownAt;
    else if (isRfc3339(knownAt)) out['knownAt'] = new Date(knownAt).toISOString();
    else return undefined;
  }
  if (minPosition !== undefined) {
    if (typeof minPosition !== 'string' || !POSITION.test(minPosition)) return undefined;
    out['minPosition'] = minPosition;
  }
  if (validAt !== undefined) {
    if (typeof validAt !== 'string' || !isPartialDate(validAt)) return undefined;
    out['validAt'] = validAt;
  }
  return out;
}

/**
 * A path naming one entity (RefParam): its parse, or undefined when zod must answer. The
 * router gives exactly the route's parameters, as strings; what zod's strictObject and
 * LooseRef check beyond that is the length (1–200 UTF-16 units, as zod counts).
 */
export function refParamFast(name: string, data: unknown): Record<string, string> | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  let keys = 0;
  for (const k in data) if (++keys > 1 || k !== name) return undefined;
  const v = (data as Record<string, unknown>)[name];
  if (typeof v !== 'string' || v.length < 1 || v.length > 200) return undefined;
  return { [name]: v };
}

/**
 * Fastify's validator compiler, with PointQuery checked by pointQueryFast and a RefParam by
 * refParamFast first (zod's object parse a request each: ~2–5 µs of the event loop).
 */
export function withFastPointQuery<S>(compile: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const zod = compile(route) as Validate;
    const schema = route.schema as unknown;
    if (schema === PointQuery) {
      return (data: unknown) => {
        const value = pointQueryFast(data);
        return value === undefined ? zod(data) : { value };
      };
    }
    const param = refParamName(schema);
    if (param === undefined) return zod;
    return (data: unknown) => {
      const value = refParamFast(param, data);
      return value === undefined ? zod(data) : { value };
    };
  };
}
