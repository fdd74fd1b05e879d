/**
 * A batch's facts checked without zod building them again (#19, s37-bz): `acceptsAsIs(schema,
 * value)` is true only when zod would accept `value` and give back a value that is the same
 * JSON, member for member and in the same order: every key of each object is one of its
 * schema's, in the schema's order, every required one present, no value changed by a check (a
 * trim that would trim something, a default to fill in), and each check of zod's own passes
 * (run as zod runs them: the same check objects). Then the parsed body is the request as it is:
 * no output objects, issue lists or payloads a field. Anything else (a type of schema not
 * handled here, a member out of order, a value that fails or that zod would change) answers
 * false, and the caller parses with zod as before: every refusal, and every problem+json, is
 * zod's own. It reads zod v4's internals (`_zod`): kept for the CPU it saves, not replaced
 * (ARCHITECTURE.md, "The request"); test/record-request-fast.test.ts names each internal read
 * here, so a zod upgrade that moves one fails there.
 */
import type { z } from 'zod';

/** What a zod schema is made of, as far as this module reads it (zod v4's `_zod` internals). */
interface Internals {
  readonly def: {
    readonly type: string;
    readonly checks?: readonly Check[];
    readonly shape?: Readonly<Record<string, Schema>>;
    readonly catchall?: Schema;
    readonly innerType?: Schema;
    readonly element?: Schema;
    readonly values?: readonly unknown[];
    readonly entries?: Readonly<Record<string, unknown>>;
    readonly coerce?: boolean;
  };
  readonly traits: ReadonlySet<string>;
  readonly check?: (payload: Payload) => unknown;
}
interface Schema {
  readonly _zod: Internals;
}
interface Check {
  readonly _zod: { readonly def: { readonly when?: (payload: Payload) => boolean }; readonly check: (payload: Payload) => unknown };
}
interface Payload {
  value: unknown;
  issues: unknown[];
}

/** Each schema's checks as zod runs them (its def's, and the schema itself first when it is a check: a string format). */
const checksOf = new WeakMap<Schema, readonly Check[]>();

function checks(schema: Schema): readonly Check[] {
  let out = checksOf.get(schema);
  if (out === undefined) {
    const z = schema._zod;
    out = [...(z.traits.has('$ZodCheck') ? [schema as unknown as Check] : []), ...(z.def.checks ?? [])];
    checksOf.set(schema, out);
  }
  return out;
}

/** The one payload the checks are run on (a check that passes neither keeps nor changes it but its value: an overwrite). */
const payload: Payload = { value: undefined, issues: [] };

/** Every check passes and none changes the value (zod would give it back as it is). */
function passes(schema: Schema, value: unknown): boolean {
  const list = checks(schema);
  if (list.length === 0) return true;
  payload.value = value;
  payload.issues.length = 0;
  for (const ch of list) {
    // A conditional check (zod's length checks are) runs when its condition holds, as zod runs it (nothing is aborted here: the first issue ends the walk).
    const when = ch._zod.def.when;
    if (when !== undefined && !when(payload)) continue;
    const r = ch._zod.check(payload);
    if (r instanceof Promise || payload.issues.length > 0 || payload.value !== value) {
      payload.issues.length = 0;
      payload.value = undefined;
      return false;
    }
  }
  payload.value = undefined;
  return true;
}

/** True when zod would accept `value` for `schema` and give back the same JSON (see the header); false: ask zod. */
export function acceptsAsIs(schema: z.ZodType, value: unknown): boolean {
  return accepts(schema as unknown as Schema, value);
}

function accepts(schema: Schema, value: unknown): boolean {
  const def = schema._zod.def;
  if (def.coerce === true) return false;
  switch (def.type) {
    case 'string':
      return typeof value === 'string' && passes(schema, value);
    case 'boolean':
      return typeof value === 'boolean' && passes(schema, value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && passes(schema, value);
    case 'literal':
      return (def.values ?? []).includes(value) && passes(schema, value);
    case 'enum':
      return typeof value === 'string' && def.entries !== undefined && Object.values(def.entries).includes(value) && passes(schema, value);
    case 'optional':
      // An absent member is its object's to decide; a present one is never undefined in parsed JSON.
      return value !== undefined && accepts(def.innerType as Schema, value) && passes(schema, value);
    case 'nullable':
      return (value === null || accepts(def.innerType as Schema, value)) && passes(schema, value);
    case 'array': {
      if (!Array.isArray(value)) return false;
      for (const v of value) if (!accepts(def.element as Schema, v)) return false;
      return passes(schema, value);
    }
    case 'object':
      return object(schema, value) && passes(schema, value);
    default:
      return false;
  }
}

/** Each schema object's keys in order, and which of them zod leaves out when absent (optional ones). */
const shapes = new WeakMap<Schema, { keys: readonly string[]; optional: readonly boolean[] }>();

function shapeOf(schema: Schema): { keys: readonly string[]; optional: readonly boolean[] } {
  let s = shapes.get(schema);
  if (s === undefined) {
    const shape = schema._zod.def.shape ?? {};
    const keys = Object.keys(shape);
    // Only a plain optional may be absent: an absent member with a default (or anything else zod fills in) changes the value.
    s = { keys, optional: keys.map((k) => (shape[k] as Schema)._zod.def.type === 'optional') };
    shapes.set(schema, s);
  }
  return s;
}

function object(schema: Schema, value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const def = schema._zod.def;
  // Strict (an unknown key is refused) or stripping (one is dropped): either way none may be there.
  const catchall = def.catchall?._zod.def.type;
  if (catchall !== undefined && catchall !== 'never') return false;
  const shape = def.shape as Readonly<Record<string, Schema>>;
  const { keys, optional } = shapeOf(schema);
  const own = Object.keys(value);
  if (own.length > keys.length) return false;
  let k = 0;
  for (const key of own) {
    // The value's keys are the schema's, in its order, with only optional ones left out between them.
    while (k < keys.length && keys[k] !== key) {
      if (!optional[k]) return false;
      k++;
    }
    if (k === keys.length) return false;
    if (!accepts(shape[key] as Schema, (value as Record<string, unknown>)[key])) return false;
    k++;
  }
  for (; k < keys.length; k++) if (!optional[k]) return false;
  return true;
}
