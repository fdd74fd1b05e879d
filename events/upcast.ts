/**
 * Upcasters: turn the data of an event written under an older schemaVersion into the current
 * shape, so readers only ever see current shapes. To change a schema: bump SCHEMA_VERSION
 * (events/envelope.ts) and register here the step from the version before, for that type.
 *
 * A FactCorrected carries the full replacement data of the fact it corrects, in that fact's
 * shape as of the correction's version: its replacement is upcast as a fact of the corrected
 * fact's type, which the reader names (`typeOf`, from what it has read of the log before).
 */
import { SCHEMA_VERSION } from './envelope.js';
import { isFactType, type FactType } from './facts/index.js';

type Data = Readonly<Record<string, unknown>>;
type Upcaster = (data: Data) => Data;

/**
 * Version 1 → 2: `classification` was one of five values and is now free text (Popolo's).
 * Each value keeps its meaning: `organization`, which meant an international organization
 * (version 1's own description, and its default), is written so; `state`, `body`,
 * `secretariat` and `other` are the same words.
 */
const classificationOpened: Upcaster = (data) =>
  data['classification'] === 'organization' ? { ...data, classification: 'international organization' } : data;

/** For each type, the step from each older version to the next. */
const UPCASTERS: { readonly [T in FactType]?: Readonly<Record<number, Upcaster>> } = {
  OrganizationRegistered: { 1: classificationOpened },
};

/** The types some older version of which is upcast (a reader tracking facts for `typeOf` needs no others). */
export const UPCAST_TYPES: ReadonlySet<string> = new Set(Object.keys(UPCASTERS));

const isData = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The data of an event of `type` written under `schemaVersion` (absent: 1), in the current
 * shape. `typeOf` names the type of the fact a FactCorrected corrects, when the reader knows it.
 */
export function upcast(type: string, data: unknown, schemaVersion: number | undefined, typeOf?: (factId: string) => FactType | undefined): unknown {
  const from = schemaVersion ?? 1;
  if (from >= SCHEMA_VERSION || !isData(data)) return data;
  if (type === 'FactCorrected') {
    const target = typeof data['fact'] === 'string' ? typeOf?.(data['fact']) : undefined;
    return target === undefined ? data : { ...data, data: upcast(target, data['data'], from, typeOf) };
  }
  const steps = isFactType(type) ? UPCASTERS[type] : undefined;
  let current = data;
  for (let version = from; version < SCHEMA_VERSION; version++) current = steps?.[version]?.(current) ?? current;
  return current;
}
