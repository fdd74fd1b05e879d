/**
 * Conversions between the port's events and @eventstore/db-client's. Events are written as
 * JSON (`application/json`, metadata as JSON too), so the store's JSON payloads round-trip;
 * `recordedAt` is the server's `created` timestamp.
 */
import { jsonEvent, type JSONType, type ResolvedEvent } from '@eventstore/db-client';
import { isDeepStrictEqual } from 'node:util';
import { encodeEsdbPosition } from './esdb-position.js';
import type { NewEvent, StoredEvent } from './port.js';

export function toEsdbEvent(e: NewEvent) {
  return jsonEvent({ id: e.id, type: e.type, data: e.data as JSONType, metadata: e.metadata as JSONType });
}

/**
 * System events (`$`-prefixed types such as `$metadata`, `$>` links) and events of
 * `$`-prefixed streams are EventStoreDB's own bookkeeping, never Annals facts.
 */
export function isSystemEvent(type: string, stream: string): boolean {
  return type.startsWith('$') || stream.startsWith('$');
}

/** Null for a resolved event without a record (an unresolved link) or a system event. */
export function toStoredEvent(resolved: ResolvedEvent): StoredEvent | null {
  const e = resolved.event;
  if (!e || isSystemEvent(e.type, e.streamId)) return null;
  // Stream reads carry a position on servers since 20.6; the commit position alone is the
  // fallback EventStoreDB documents for older ones.
  const position = e.position ?? (resolved.commitPosition !== undefined ? { commit: resolved.commitPosition, prepare: resolved.commitPosition } : undefined);
  if (!position) throw new Error(`EventStoreDB returned event ${e.id} without a log position`);
  const metadata = e.metadata;
  return {
    id: e.id,
    stream: e.streamId,
    revision: Number(e.revision),
    position: encodeEsdbPosition(position),
    type: e.type,
    data: e.data,
    metadata: isPlainObject(metadata) ? metadata : {},
    recordedAt: e.created.toISOString(),
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Same content as stored, compared as it round-trips through JSON (the wire format). */
export function sameContent(proposed: NewEvent, stored: StoredEvent): boolean {
  return (
    proposed.type === stored.type &&
    isDeepStrictEqual(jsonRoundTrip(proposed.data), stored.data) &&
    isDeepStrictEqual(jsonRoundTrip(proposed.metadata), stored.metadata)
  );
}

function jsonRoundTrip(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}
