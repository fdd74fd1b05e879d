/**
 * The seal of the embedded store: an HMAC-SHA256, with a key kept outside the data dir, over
 * the bytes of each row as the writer commits it. A row this service did not write (appended
 * with the sqlite3 shell while the service was stopped) has no seal; a row changed afterwards
 * has a seal that no longer matches. Whoever can rewrite events.db but cannot read the key can
 * make neither. The audit follower checks every seal before it takes an event into the tree.
 *
 * Seal format `annals-seal-v1`: HMAC-SHA256(sealKey, message), message the UTF-8 bytes of
 *
 *   "annals-seal-v1|" logId "|" position "|" revision "|" recordedAt "|"
 *   len(id) ":" id  len(stream) ":" stream  len(type) ":" type  len(data) ":" data  metadata
 *
 * where position is the row's integer, data and metadata the stored JSON text, and len() a
 * string's length in UTF-16 code units (the same before storing and after reading back, even
 * for a lone surrogate stored as U+FFFD), so no two rows give the same message. logId (the
 * events file's random id, table `meta`) ties a seal to its log: a row copied into another
 * log sealed with the same key does not pass. One HMAC per event: ~3 µs of CPU for a
 * 700-byte event (README, benchmarks).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const SEAL_FORMAT = 'annals-seal-v1';

/** What a store that checks seals says of an event it read (StoredEvent.integrity). */
export type SealVerdict = 'sealed' | 'unsealed' | 'altered';

export class Sealer {
  private readonly key: KeyObject;
  private readonly prefix: string;

  constructor(key: Uint8Array, logId: string) {
    if (key.length < 32) throw new RangeError('a seal key has at least 32 bytes');
    this.key = createSecretKey(key);
    this.prefix = `${SEAL_FORMAT}|${logId}|`;
  }

  seal(position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string): Buffer {
    const message = `${this.prefix}${position}|${revision}|${recordedAt}|${id.length}:${id}${stream.length}:${stream}${type.length}:${type}${data.length}:${data}${metadata}`;
    return createHmac('sha256', this.key).update(message, 'utf8').digest();
  }

  verdict(seal: Buffer | null, position: number, id: string, stream: string, revision: number, type: string, data: string, metadata: string, recordedAt: string): SealVerdict {
    if (seal === null || seal.length === 0) return 'unsealed';
    const expected = this.seal(position, id, stream, revision, type, data, metadata, recordedAt);
    return seal.length === expected.length && timingSafeEqual(seal, expected) ? 'sealed' : 'altered';
  }
}
