/**
 * Position encoding for the embedded store. SQLite positions are the events table's rowid
 * (1, 2, 3, ...); they leave the store as fixed-width, zero-padded decimal strings of 20
 * digits, so that comparing two positions as plain strings gives the same answer as comparing
 * the numbers (the port promises that, see Position in port.ts). 20 digits hold any SQLite
 * rowid (max 2^63 - 1 has 19 digits); inside this process they are JS numbers, safe up to
 * 2^53 - 1, which no single file will reach.
 */
import type { Position } from './port.js';

export const POSITION_WIDTH = 20;

const ZEROS = '0'.repeat(POSITION_WIDTH);

/** Encodes a positive integer position. Throws RangeError on anything else. */
export function encodePosition(n: number): Position {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`not a valid position number: ${n}`);
  }
  const s = String(n);
  return ZEROS.slice(s.length) + s;
}

/**
 * Decodes a position written by encodePosition. Throws RangeError on a string that is not
 * exactly 20 decimal digits, so a checkpoint from another adapter is refused rather than
 * silently misread.
 */
export function decodePosition(p: Position): number {
  if (p.length !== POSITION_WIDTH || !/^[0-9]+$/.test(p)) {
    throw new RangeError(`not an embedded-store position: ${JSON.stringify(p)}`);
  }
  const n = Number(p);
  if (!Number.isSafeInteger(n)) throw new RangeError(`position out of range: ${p}`);
  return n;
}
