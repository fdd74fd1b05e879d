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

const isStreamKind = (v: string): v is StreamKind => (STREAM_KINDS as readonly string[]).includes(v);

/** Crockford base32's upper-case digits (a ULID's), by character code. */
const CROCKFORD_UPPER = new Uint8Array(128);
for (const c of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') CROCKFORD_UPPER[c.charCodeAt(0)] = 1;

/**
 * Splits `office-01J…` into its kind and id; null for bookkeeping streams. The shape is
 * `^(<a stream kind>)-([0-9A-HJKMNP-TV-Z]{26})$`, checked by hand: no kind has a hyphen, so the
 * kind is what comes before the first one (no regular expression's match array and captures:
 * this runs up to three times a fact recorded).
 */
export function parseStream(stream: string): { kind: StreamKind; id: string } | null {
  const dash = stream.indexOf('-');
  if (dash < 0 || stream.length !== dash + 27) return null;
  for (let i = dash + 1; i < stream.length; i++) {
    const c = stream.charCodeAt(i);
    if (c >= 128 || CROCKFORD_UPPER[c] !== 1) return null;
  }
  const kind = stream.slice(0, dash);
  return isStreamKind(kind) ? { kind, id: stream.slice(dash + 1) } : null;
}
