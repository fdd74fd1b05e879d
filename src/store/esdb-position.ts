/**
 * Position encoding for the EventStoreDB adapter. An ESDB log position is a pair of unsigned
 * 64-bit integers {commit, prepare}; it leaves the adapter as two fixed-width, zero-padded
 * 20-digit decimals joined by '-', so that comparing two positions as plain strings gives the
 * same answer as comparing (commit, prepare) pairs (the port promises that, see Position in
 * port.ts). 20 digits hold any uint64 (max 18446744073709551615).
 */
import type { Position } from './port.js';

export interface EsdbPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

const WIDTH = 20;
const MAX = (1n << 64n) - 1n;
const PATTERN = /^(\d{20})-(\d{20})$/;

function pad(n: bigint): string {
  if (n < 0n || n > MAX) throw new RangeError(`not a uint64 log position: ${n}`);
  return n.toString(10).padStart(WIDTH, '0');
}

export function encodeEsdbPosition(p: EsdbPosition): Position {
  return `${pad(p.commit)}-${pad(p.prepare)}`;
}

/**
 * Decodes a position written by encodeEsdbPosition. Throws RangeError on anything else, so a
 * checkpoint from another adapter is refused rather than silently misread.
 */
export function decodeEsdbPosition(p: Position): EsdbPosition {
  const m = PATTERN.exec(p);
  if (!m) throw new RangeError(`not an EventStoreDB position: ${JSON.stringify(p)}`);
  const commit = BigInt(m[1]!);
  const prepare = BigInt(m[2]!);
  if (commit > MAX || prepare > MAX) throw new RangeError(`position out of range: ${p}`);
  return { commit, prepare };
}
