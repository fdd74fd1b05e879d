/**
 * application/x-ndjson for the batch endpoint: one JSON value a line, blank lines skipped.
 * Every line is parsed before anything is recorded: a line that is not JSON (a body cut off
 * mid-line, say) or tries prototype poisoning makes the whole body malformed, a 400 naming the
 * line, and nothing of the batch is recorded. (A well-formed fact that is then refused keeps
 * the batch behaviour: recorded up to it, 200 with the error.)
 */
import { ProblemError } from '../errors.js';

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
  for (const raw of body.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line, guard));
    } catch (err) {
      const message = `not a JSON fact (${(err as Error).message}); nothing of the batch was recorded`;
      throw new ProblemError('invalid-request', `line ${lineNo} (fact [${out.length}]) is not well-formed JSON: the body is malformed (cut off?); nothing was recorded`, {
        errors: [{ path: `line ${lineNo}`, message }],
      });
    }
  }
  return out;
}
