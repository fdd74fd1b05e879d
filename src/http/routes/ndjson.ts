/**
 * application/x-ndjson for the batch endpoint: one JSON value a line, blank lines skipped. A
 * line that is not JSON (or tries prototype poisoning) does not fail the whole body: it
 * becomes an NdjsonLineError in its place, and the batch stops there like at any refused fact.
 */
export class NdjsonLineError {
  constructor(readonly message: string) {}
}

function guard(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('a "__proto__" key is not allowed');
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'prototype')) {
    throw new SyntaxError('a "constructor.prototype" key is not allowed');
  }
  return value;
}

export function parseNdjson(body: string): unknown[] {
  const out: unknown[] = [];
  let lineNo = 0;
  for (const line of body.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line, guard));
    } catch (err) {
      out.push(new NdjsonLineError(`line ${lineNo} is not a JSON fact: ${(err as Error).message}`));
      break;
    }
  }
  return out;
}
