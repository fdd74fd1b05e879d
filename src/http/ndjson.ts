/**
 * application/x-ndjson for the batch endpoint: one JSON value a line, blank lines skipped.
 * Every line is parsed before anything is recorded: a line that is not JSON (a body cut off
 * mid-line, say) or tries prototype poisoning makes the whole body malformed, a 400 naming the
 * line, and nothing of the batch is recorded. (A well-formed fact that is then refused keeps
 * the batch behaviour: recorded up to it, 200 with the error.)
 *
 * The parser is the app's (app.ts registers it beside the JSON one), not the facts plugin's:
 * a parser added inside a plugin would serve that plugin's routes alone.
 */
import type { FastifyInstance } from 'fastify';
import { badText, decodeBody, mayHoldBadText, requireUtf8Charset } from './body.js';
import { ProblemError } from './errors.js';

function guard(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('a "__proto__" key is not allowed');
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, 'prototype')) {
    throw new SyntaxError('a "constructor.prototype" key is not allowed');
  }
  return value;
}

/** `replaced`: the body had bytes that are not UTF-8 (decoded as U+FFFD): the lines holding them are refused. */
export function parseNdjson(body: string, replaced = false): unknown[] {
  const out: unknown[] = [];
  let lineNo = 0;
  for (const raw of body.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line, guard);
    } catch (err) {
      const message = `not a JSON fact (${(err as Error).message}); nothing of the batch was recorded`;
      throw new ProblemError('invalid-request', `line ${lineNo} (fact [${out.length}]) is not well-formed JSON: the body is malformed (cut off?); nothing was recorded`, {
        errors: [{ path: `line ${lineNo}`, message }],
      });
    }
    const bad = mayHoldBadText(line, replaced) ? badText(value, replaced, `[${out.length}]`) : [];
    if (bad.length > 0) {
      throw new ProblemError('invalid-request', `line ${lineNo} (fact [${out.length}]) holds text that is not valid UTF-8 or Unicode; nothing was recorded`, {
        errors: bad.map((p) => ({ path: p.path, message: `line ${lineNo}: ${p.message}` })),
      });
    }
    out.push(value);
  }
  return out;
}

export function registerNdjsonParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      requireUtf8Charset(request);
      const { text, replaced } = decodeBody(body as Buffer);
      done(null, parseNdjson(text, replaced));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
