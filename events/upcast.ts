/**
 * Upcasters: turn the data of an event written under an older schemaVersion into the current
 * shape, so readers only ever see current shapes. Version 1 is the first: nothing to do yet.
 * To change a schema: bump SCHEMA_VERSION and register `{ [type]: { [oldVersion]: fn } }`.
 */
import { SCHEMA_VERSION } from './envelope.js';

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

const upcasters: Record<string, Record<number, Upcaster>> = {};

export function upcast(type: string, data: unknown, schemaVersion: number | undefined): unknown {
  let version = schemaVersion ?? 1;
  let current = data as Record<string, unknown>;
  while (version < SCHEMA_VERSION) {
    const step = upcasters[type]?.[version];
    if (step) current = step(current);
    version += 1;
  }
  return current;
}
