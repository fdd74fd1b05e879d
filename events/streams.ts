/**
 * Stream names (DESIGN.md, "Facts"): one stream per entity, `<kind>-<ULID>`, plus one
 * reservation stream per key, appended with expected revision `no_stream` so a key is
 * registered once even with several writers.
 */

/** The kinds of entity a fact can bring into the record and another fact can name (by id or key). */
export const ENTITY_KINDS = ['organization', 'person', 'office', 'session', 'document'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/**
 * The kinds of stream: one per entity kind, and `talks` for sideline talks recorded without a
 * session (a stream of their own that no fact can name: talks are not an entity).
 */
export const STREAM_KINDS = [...ENTITY_KINDS, 'talks'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

export const streamOf = (kind: StreamKind, id: string): string => `${kind}-${id}`;

export const keyStream = (key: string): string => `key-${key}`;

export const isEntityKind = (v: string): v is EntityKind => (ENTITY_KINDS as readonly string[]).includes(v);

const STREAM_SHAPE = new RegExp(`^(${STREAM_KINDS.join('|')})-([0-9A-HJKMNP-TV-Z]{26})$`);
const isStreamKind = (v: string): v is StreamKind => (STREAM_KINDS as readonly string[]).includes(v);

/** Splits `office-01J…` into its kind and id; null for bookkeeping streams. */
export function parseStream(stream: string): { kind: StreamKind; id: string } | null {
  const m = STREAM_SHAPE.exec(stream);
  const kind = m?.[1];
  const id = m?.[2];
  return kind !== undefined && id !== undefined && isStreamKind(kind) ? { kind, id } : null;
}
