/**
 * Stream names (DESIGN.md, "Facts"): one stream per entity, `<kind>-<ULID>`, plus one
 * reservation stream per key, appended with expected revision `no_stream` so a key is
 * registered once even with several writers.
 */
export type EntityKind = 'organization' | 'person' | 'office' | 'session' | 'document' | 'talks';

export const streamOf = (kind: EntityKind, id: string): string => `${kind}-${id}`;

export const keyStream = (key: string): string => `key-${key}`;

/** Splits `office-01J…` into its kind and id; null for bookkeeping streams. */
export function parseStream(stream: string): { kind: EntityKind; id: string } | null {
  const m = /^(organization|person|office|session|document|talks)-([0-9A-HJKMNP-TV-Z]{26})$/.exec(stream);
  return m ? { kind: m[1] as EntityKind, id: m[2] as string } : null;
}
