/**
 * `Idempotency-Key` without a factId: the factId is derived from (principal, key), so a retry
 * by the same principal with the same key names the same fact and records nothing new. The
 * factId is the first 128 bits of sha256(`${principal}\n${key}`) written as a ULID (its time
 * part is therefore meaningless). In a batch, fact i without a factId gets the key
 * `${key}\n${i}`. Another principal using the same key names other facts.
 */
import { createHash } from 'node:crypto';
import { uuidToUlid } from '../../events/index.js';

export function factIdFromIdempotencyKey(principal: string, key: string): string {
  const h = createHash('sha256').update(`${principal}\n${key}`).digest('hex');
  return uuidToUlid(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`);
}
