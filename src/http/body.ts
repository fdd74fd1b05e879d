/**
 * Request bodies are well-formed UTF-8 and well-formed Unicode, or refused before anything
 * reads them: `application/json` (and the batch endpoint's `application/x-ndjson`) with no
 * charset or `charset=utf-8`; any other charset is a 415. Bytes that are not UTF-8 are a 400
 * naming the fields they fall in (decoding them would turn them into U+FFFD silently), and so
 * are lone surrogates in strings, escaped ones (`"\ud800"`) included, which JSON.parse
 * accepts but no UTF-8 store can keep. Prototype-poisoning keys (`__proto__`,
 * `constructor.prototype`) are refused as Fastify's own parser refuses them.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FieldProblem } from '../domain/errors.js';
import { ProblemError } from './errors.js';

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined without one. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return m ? (m[2] as string).toLowerCase() : undefined;
}

/** 415 unless the body is declared UTF-8 (or not declared at all: JSON is UTF-8, RFC 8259 §8.1). */
export function requireUtf8Charset(request: FastifyRequest): void {
  const charset = charsetOf(request.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ProblemError('unsupported-media-type', `the body is declared ${charset}; send it as UTF-8 (charset=utf-8, or no charset)`);
  }
}

/** String.prototype.isWellFormed (Node 20; the ES2024 lib this project does not compile against). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** What a prototype-poisoning key is refused with (src/http/ndjson.ts words a line's refusal by it). */
export const POISONING = 'a prototype-poisoning key is not allowed';

const join = (path: string, key: string | number): string => (path === '' ? String(key) : `${path}.${key}`);

/**
 * Every field of a parsed body that holds text that is not well-formed Unicode (a lone
 * surrogate; with `replaced`, also U+FFFD, what undecodable bytes became), or a key that
 * poisons prototypes. Paths as the 400s name them elsewhere (`data.name`, `[3].source.title`).
 */
export function badText(value: unknown, replaced: boolean, base = ''): FieldProblem[] {
  const found: FieldProblem[] = [];
  const bad = (s: string): boolean => !wellFormed(s) || (replaced && s.includes('\uFFFD'));
  const message = replaced ? 'not valid UTF-8 (bytes that do not decode, or a lone surrogate)' : 'not well-formed Unicode (a lone surrogate, e.g. \\ud800)';
  // Iterative: a body may nest thousands of levels deep (the schema refuses it later, as a 400).
  const todo: Array<[unknown, string]> = [[value, base]];
  while (todo.length > 0) {
    const [v, path] = todo.pop() as [unknown, string];
    if (typeof v === 'string') {
      if (bad(v)) found.push({ path: path || '(body)', message });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) todo.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i] as [string, unknown];
        const here = join(path, k);
        if (bad(k)) found.push({ path: here, message: `this field name is ${message}` });
        if (k === '__proto__' || (k === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
          throw new ProblemError('invalid-request', POISONING, { errors: [{ path: here, message: POISONING }] });
        }
        todo.push([child, here]);
      }
    }
  }
  return found;
}

function refuse(problems: FieldProblem[]): never {
  const head = problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new ProblemError('invalid-request', problems.length > 3 ? `${head}; and ${problems.length - 3} more` : head, { errors: problems });
}

/** A body's text: UTF-8 decoded; undecodable bytes found later by the fields holding them. */
export function decodeBody(body: Buffer): { text: string; replaced: boolean } {
  const replaced = !isUtf8(body);
  return { text: body.toString('utf8'), replaced };
}

/**
 * Whether the value parsed from `text` can hold anything badText looks for. Text decoded from
 * valid UTF-8 holds no lone surrogate, so one can only come from a `\u` escape; and a
 * poisoning key is spelt out in the text unless it is escaped. So a body without `\u`,
 * `__proto__` and `constructor` (nearly every body) needs no walk over its fields: three
 * scans of the text instead of a path string and an entry array for every field (profiled
 * under 32 recorders: the walk was ~5% of the event loop's time a fact).
 */
export function mayHoldBadText(text: string, replaced: boolean): boolean {
  return replaced || text.includes('\\u') || text.includes('__proto__') || text.includes('constructor');
}

/** Parses one JSON text of a body (or of an import file's line: src/cli/input.ts), refusing what badText finds. */
export function parseJsonText(text: string, replaced: boolean, base = ''): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const cause = replaced ? 'the body is not valid UTF-8 and not JSON' : `the body is not JSON (${(err as Error).message})`;
    // JSON.parse's own error as the cause (not in the answer): `annals import` words it for a file's line.
    throw Object.assign(new ProblemError('invalid-request', cause, { errors: [{ path: base || '(body)', message: cause }] }), { cause: err });
  }
  if (!mayHoldBadText(text, replaced)) return value;
  const problems = badText(value, replaced, base);
  if (problems.length > 0) refuse(problems);
  return value;
}

/**
 * Replaces Fastify's JSON parser by one that refuses other charsets, bad UTF-8 and lone
 * surrogates, and drops its text/plain parser: no route takes text, so a text body is a 415
 * (send JSON), not a 400 about a string where an object was expected.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      requireUtf8Charset(request);
      const buffer = body as Buffer;
      if (buffer.length === 0) {
        throw new ProblemError('invalid-request', 'the body is empty; send a JSON object', { errors: [{ path: '(body)', message: 'empty' }] });
      }
      const { text, replaced } = decodeBody(buffer);
      done(null, parseJsonText(text, replaced));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** A percent-escape of a byte beyond ASCII, or a character beyond ASCII. */
const NOT_ASCII = /%[89a-fA-F]|[^\x00-\x7f]/;

/** Percent-decodes to bytes (invalid escapes kept as written). */
function percentBytes(s: string): Buffer {
  return Buffer.from(s.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
}

/**
 * The parts of a URL whose percent-escapes are not UTF-8 (`%ff`, an encoded surrogate
 * `%ed%a0%80`): the path, or each query parameter by name. Plain ASCII URLs cost one indexOf.
 */
export function urlProblems(url: string): FieldProblem[] {
  if (!url.includes('%')) return [];
  // Escapes of ASCII bytes only (a knownAt's `%3A`), nothing raw beyond ASCII: all bytes are ASCII, so UTF-8.
  if (!NOT_ASCII.test(url)) return [];
  const message = 'percent-escapes that are not UTF-8';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const found: FieldProblem[] = [];
  // Node hands the URL over as its bytes read as latin1: raw non-ASCII bytes are judged too.
  const utf8 = (s: string): boolean => isUtf8(percentBytes(s));
  if (!utf8(path)) found.push({ path: '(path)', message });
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (!utf8(pair)) found.push({ path: utf8(key) ? percentBytes(key).toString('utf8') : '(query)', message });
    }
  }
  return found;
}

/**
 * preValidation: a 400 naming the parts of the URL that are not UTF-8 (after credentials,
 * before the query is read). A callback hook: an async one costs every request a promise.
 */
export function refuseBadUrl(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const problems = urlProblems(request.url);
  if (problems.length === 0) return done();
  try {
    refuse(problems);
  } catch (err) {
    done(err as Error);
  }
}
