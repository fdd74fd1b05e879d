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
import { decodeBody, parseJsonText, POISONING, requireUtf8Charset } from './body.js';
import { ProblemError } from './errors.js';

/**
 * `replaced`: the body had bytes that are not UTF-8 (decoded as U+FFFD): the lines holding them
 * are refused. Each line is parsed and checked as a JSON body is (parseJsonText), its problems
 * named by the fact's index (`[1].data.name`) and worded with the line.
 */
export function parseNdjson(body: string, replaced = false): unknown[] {
  const out: unknown[] = [];
  let lineNo = 0;
  for (const raw of body.split('\n')) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    try {
      out.push(parseJsonText(line, replaced, `[${out.length}]`));
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      const at = `line ${lineNo} (fact [${out.length}])`;
      if (err.cause instanceof SyntaxError) {
        const message = `not a JSON fact (${err.cause.message}); nothing of the batch was recorded`;
        throw new ProblemError('invalid-request', `${at} is not well-formed JSON: the body is malformed (cut off?); nothing was recorded`, {
          errors: [{ path: `line ${lineNo}`, message }],
        });
      }
      const errors = (err.extensions.errors ?? []) as Array<{ path: string; message: string }>;
      const poison = errors.some((e) => e.message === POISONING);
      throw new ProblemError('invalid-request', poison ? `${at} holds a prototype-poisoning key; nothing was recorded` : `${at} holds text that is not valid UTF-8 or Unicode; nothing was recorded`, {
        errors: errors.map((p) => ({ path: p.path, message: `line ${lineNo}: ${p.message}` })),
      });
    }
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
