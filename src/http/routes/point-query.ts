/**
 * Queries checked without zod when they are well formed: the point questions' (holder, chair,
 * one office, organization or person: PointQuery) and the documents and sessions lists', each
 * declared once by fastQuery as a table of its fields' own checks; and a path naming one entity
 * (RefParam). zod's object parse cost the event loop ~5.5 µs a holder question (in-process,
 * under load ~15) and ~3–4.5 µs a list's query; the fields' own checks cost well under one.
 * Anything a fast check does not accept as it is (a repeated field, a bad date, …) goes to
 * zod's validator, so refusals and their messages stay zod's; what it accepts, it answers
 * exactly as zod would: the same fields, in the schema's order (the ETag of a current read
 * hashes the query), knownAt normalised the same way. The schemas themselves, and so the
 * OpenAPI document, are zod's as declared.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { daysInMonth, isPartialDate } from '../../../events/index.js';
import { MAX_CURSOR, MAX_PAGE, PAGE_LIMITS, PagingQuery } from '../paging.js';
import { KnownAt, MinPosition, POSITION, PointQuery, ValidAt, isRfc3339, refParamName } from './reads-common.js';

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

/** A field's parse from its query string value, or undefined when zod must answer. */
type FieldCheck = (v: string) => string | number | undefined;
const knownAtFast: FieldCheck = (v) => (isCanonical(v) ? v : isRfc3339(v) ? new Date(v).toISOString() : undefined);
const minPositionFast: FieldCheck = (v) => (POSITION.test(v) ? v : undefined);
const validAtFast: FieldCheck = (v) => (isPartialDate(v) ? v : undefined);
/** PagingQuery's cursor: any string up to MAX_CURSOR UTF-16 units (the cursor's own check is decodeCursor's). */
const cursorFast: FieldCheck = (v) => (v.length <= MAX_CURSOR ? v : undefined);
/** pageLimit: z.coerce.number().int().min(1).max(MAX_PAGE); only plain digits are taken here (Number(' 5'), '1e2', '05' are zod's). */
const LIMIT = /^[1-9][0-9]{0,2}$/;
const limitFast: FieldCheck = (v) => (LIMIT.test(v) && Number(v) <= MAX_PAGE ? Number(v) : undefined);
/** LooseRef: 1–200 UTF-16 units, as zod counts. */
const refFast: FieldCheck = (v) => (v.length >= 1 && v.length <= 200 ? v : undefined);

/** Each field: its name, its check, and whether it may be left out. */
type Fields = readonly (readonly [string, FieldCheck, boolean])[];

/**
 * A query's parse by its fields' checks, in the schema's order, unknown fields left out (zod's
 * object strips them), or undefined when a field is not a string its check accepts, or a
 * required one is missing.
 */
function parseFields(fields: Fields, data: unknown): Record<string, string | number> | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const out: Record<string, string | number> = {};
  for (const [name, check, optional] of fields) {
    const v = (data as Record<string, unknown>)[name];
    if (v === undefined) {
      if (optional) continue;
      return undefined;
    }
    if (typeof v !== 'string') return undefined;
    const parsed = check(v);
    if (parsed === undefined) return undefined;
    out[name] = parsed;
  }
  return out;
}

/** Query schemas checked without zod (fastQuery): their fields, in the schema's order, each with its check. */
const FAST_QUERIES = new WeakMap<object, Fields>();

/**
 * Marks a query schema (PointQuery, ListQuery, or one that keeps some of their fields and adds
 * entity references, LooseRef each, named in `refs`) as checked without zod when well formed,
 * and returns it unchanged. Every field must be one of ListQuery's, as reads-common and paging
 * make them, or in `refs`; a field with no fast check throws here, when the routes are declared.
 */
export function fastQuery<S extends z.ZodObject>(schema: S, refs: readonly string[] = []): S {
  const known = new Map<unknown, FieldCheck>([
    [KnownAt, knownAtFast],
    [MinPosition, minPositionFast],
    [ValidAt, validAtFast],
    [PagingQuery.cursor, cursorFast],
  ]);
  const fields = Object.entries(schema.shape).map(([name, field]) => {
    const check = refs.includes(name) ? refFast : PAGE_LIMITS.has(field) ? limitFast : known.get(field);
    if (check === undefined) throw new Error(`fastQuery: no fast check for the field ${name}`);
    // A field zod requires (an organization) is left to zod when missing, so its refusal is zod's.
    return [name, check, (field as z.ZodType).safeParse(undefined).success] as const;
  });
  FAST_QUERIES.set(schema, fields);
  return schema;
}

/** The point questions' query, marked here: every route that takes PointQuery is checked without zod. */
fastQuery(PointQuery);

/** A query's parse (a schema marked by fastQuery), or undefined when zod must answer. */
export function queryFast(schema: object, data: unknown): Record<string, string | number> | undefined {
  const fields = FAST_QUERIES.get(schema);
  return fields === undefined ? undefined : parseFields(fields, data);
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

/** Schemas marked by takenAsIs: each with its check that zod would give a value back unchanged. */
const AS_IS = new WeakMap<object, (data: unknown) => boolean>();

/**
 * Marks a schema whose value is taken as it is when `asIs` says zod would accept it and give
 * it back unchanged (POST /v1/facts' body: factRequestAsIs, request-fast.ts); any other value
 * goes to zod, so every refusal and its problem+json stay zod's. The schema itself is not
 * changed (the OpenAPI document is made from it as before).
 */
export function takenAsIs<S extends object>(schema: S, asIs: (data: unknown) => boolean): S {
  AS_IS.set(schema, asIs);
  return schema;
}

/**
 * Fastify's validator compiler, with a query marked by fastQuery checked by its fields and a
 * RefParam by refParamFast first (zod's object parse a request each: ~2–5 µs of the event loop),
 * and a schema marked by takenAsIs by its check (zod's parse of a fact's body, and its copy).
 */
export function withFastQueries<S>(compile: FastifySchemaCompiler<S>): FastifySchemaCompiler<S> {
  return (route) => {
    const zod = compile(route) as Validate;
    const schema = route.schema as unknown;
    const asIs = typeof schema === 'object' && schema !== null ? AS_IS.get(schema) : undefined;
    if (asIs !== undefined) return (data: unknown) => (asIs(data) ? { value: data } : zod(data));
    const fields = typeof schema === 'object' && schema !== null ? FAST_QUERIES.get(schema) : undefined;
    if (fields !== undefined) {
      return (data: unknown) => {
        const value = parseFields(fields, data);
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
