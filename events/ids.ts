/**
 * Identifiers. Facts and entities have ULIDs; the store's event id is the same 128 bits
 * written as a UUID, so a retried append is recognised as the same event. Entities also have
 * a stable human key (`csto`, `csto-secretary-general`); anywhere an entity is named, either
 * works. Keys are lower case and ULIDs upper case, so the two never collide.
 */
import * as crypto from 'node:crypto';
import { uuidToULID } from 'ulid';
import { z } from 'zod';

/**
 * SHA-256 as hex: `crypto.hash`'s one call (Node 20.12 and later) where there is one, without
 * a Hash object a call (a key reservation's event id is derived on every registration);
 * `createHash` before it. The same digest either way.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
export const sha256Hex: (text: string) => string =
  typeof oneShot === 'function' ? (text) => oneShot('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

const ULID_SHAPE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const KEY_SHAPE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export const Ulid = z
  .string()
  .regex(ULID_SHAPE, { message: 'expected a ULID (26 characters, Crockford base32, upper case)' })
  .describe('A ULID');
export type Ulid = z.infer<typeof Ulid>;

export const Key = z
  .string()
  .max(100)
  .regex(KEY_SHAPE, { message: 'expected a key: lower-case letters, digits and single hyphens, e.g. csto-secretary-general' })
  .describe('A stable human key');
export type Key = z.infer<typeof Key>;

/** A reference to an entity: its ULID or its key. */
export const EntityRef = z
  .string()
  .refine((v) => ULID_SHAPE.test(v) || (v.length <= 100 && KEY_SHAPE.test(v)), {
    message: 'expected an entity id (ULID) or key',
  })
  .describe('An entity id (ULID) or key');

export const isUlid = (v: string): boolean => ULID_SHAPE.test(v);
export const isKey = (v: string): boolean => v.length <= 100 && KEY_SHAPE.test(v);

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) DECODE[CROCKFORD.charCodeAt(i)] = i;
/** '0'…'9', 'a'…'f' as character codes. */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** ulidToUuid's characters (36: the UUID's length), reused call after call: the conversion is synchronous. */
const UUID_CODES: number[] = new Array<number>(36).fill(48);

/**
 * The ULID's 128 bits as a lower-case UUID string. Hand-rolled because it runs on every
 * append: the ulid package's ulidToUUID took ~11 µs a call here, this one well under 1 µs.
 * 26 base32 digits carry 130 bits; the first digit's top two bits are zero (ULID_SHAPE).
 */
export function ulidToUuid(id: string): string {
  if (!ULID_SHAPE.test(id)) throw new RangeError(`not a ULID: ${JSON.stringify(id)}`);
  // The 32 hex digits and 4 hyphens as character codes into one reused array, then one flat
  // string of them: no typed array and no rope of 20 pieces a call (~400 bytes of garbage a
  // call before, ~5% of the event loop's allocation in a batch).
  const out = UUID_CODES;
  let acc = 0;
  let bits = -2; // drop the two always-zero leading bits
  let at = 0;
  let n = 0;
  for (let i = 0; i < 26; i++) {
    acc = ((acc << 5) | (DECODE[id.charCodeAt(i)] as number)) & 0xfff; // at most 7 + 5 bits pending
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      const byte = (acc >> bits) & 0xff;
      out[at++] = HEX_CODES[byte >> 4] as number;
      out[at++] = HEX_CODES[byte & 0xf] as number;
      // Hyphens after bytes 4, 6, 8 and 10.
      if (++n === 4 || n === 6 || n === 8 || n === 10) out[at++] = 45;
    }
  }
  return String.fromCharCode.apply(null, out);
}

export function uuidToUlid(uuid: string): string {
  return uuidToULID(uuid);
}

/**
 * A second event id derived from a fact's id, for the bookkeeping event one fact causes
 * (a key reservation): deterministic, so a retried fact retries the same reservation.
 */
export function derivedEventId(factId: string, purpose: string): string {
  const h = sha256Hex(`${factId}:${purpose}`);
  // Version 8 (custom) UUID, RFC 9562 variant bits.
  const v = `8${h.slice(13, 16)}`;
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}
