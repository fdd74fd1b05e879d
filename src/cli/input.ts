/**
 * Reading an import file: NDJSON (one item a line; a `.json` file or one starting with `[`
 * is read whole as a JSON array, or `{ "facts": [...] }`). An item is either a fact as
 * POST /v1/facts takes it, `{ type, factId?, data, source }`, or a line of `annals export` /
 * GET /v1/audit/events, `{ position, id, stream, revision, type, factId, recordedAt, data,
 * metadata }`, turned back into the fact it recorded. Bookkeeping events (KeyReserved) are
 * skipped: the recorder writes them again.
 */
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { BOOKKEEPING_TYPES, UPCAST_TYPES, isFactType, upcast, type FactType } from '../../events/index.js';
import type { FactBody } from '../example/facts.js';
import { parseJsonText } from '../http/body.js';
import { ProblemError } from '../http/errors.js';
import { CliError, EXIT, message } from './common.js';

export type InputItem =
  | { kind: 'fact'; line: number; fact: FactBody; /** An export line's correlationId: the original batch. */ run?: string }
  | { kind: 'skipped'; line: number; type: string };

const BOOKKEEPING: ReadonlySet<string> = new Set(BOOKKEEPING_TYPES);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One parsed item: a fact body, an audit line turned back into one (its data upcast to the
 * current schema: `types` holds the types of the facts read before, for corrections), or a
 * skipped bookkeeping event.
 */
export function toItem(value: unknown, line: number, types: Map<string, FactType> = new Map()): InputItem {
  if (!isObject(value)) throw new CliError(EXIT.input, `line ${line}: expected a JSON object, a fact`);
  const type = value.type;
  if (typeof type !== 'string') throw new CliError(EXIT.input, `line ${line}: no "type"`);
  if ('metadata' in value && 'stream' in value) {
    if (BOOKKEEPING.has(type)) return { kind: 'skipped', line, type };
    const metadata = isObject(value.metadata) ? value.metadata : {};
    const factId = typeof metadata.factId === 'string' ? metadata.factId : value.factId;
    const schemaVersion = typeof metadata.schemaVersion === 'number' ? metadata.schemaVersion : undefined;
    const data = upcast(type, value.data, schemaVersion, (id) => types.get(id));
    // Only the facts a correction's replacement may need upcasting for (not one entry per fact).
    if (typeof factId === 'string' && isFactType(type) && UPCAST_TYPES.has(type)) types.set(factId, type);
    const fact = { type, ...(typeof factId === 'string' ? { factId } : {}), data, source: metadata.source } as FactBody;
    const run = typeof metadata.correlationId === 'string' ? metadata.correlationId : undefined;
    return { kind: 'fact', line, fact, ...(run !== undefined ? { run } : {}) };
  }
  // A fact body goes to the recorder as it is: the recorder names any bad field.
  return { kind: 'fact', line, fact: value as unknown as FactBody };
}

async function looksLikeJsonDocument(path: string): Promise<boolean> {
  if (path.endsWith('.json')) return true;
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('[');
  } finally {
    await handle.close();
  }
}

/**
 * A line's (or the file's) JSON, refused as POST refuses a body (parseJsonText): text that is
 * not well-formed Unicode (a lone surrogate written as `\ud800`: SQLite's UTF-8 would store it as
 * U+FFFD, so the record would not hold what the file said) or a prototype-poisoning key. Its
 * ProblemError, worded for HTTP, becomes exit 3 naming the line.
 */
function parseJson(text: string, line: number, replaced: boolean): unknown {
  try {
    return parseJsonText(text, replaced);
  } catch (err) {
    if (!(err instanceof ProblemError)) throw err;
    if (err.cause instanceof SyntaxError) throw new CliError(EXIT.input, `line ${line}: not JSON (${err.cause.message})`);
    throw new CliError(EXIT.input, `line ${line}: ${err.message}; fix the file and import it again`);
  }
}

/** The items of an import file, in order. Throws CliError(3) on an unreadable file or bad line. */
export async function* readInput(path: string): AsyncGenerator<InputItem> {
  const types = new Map<string, FactType>();
  let json: boolean;
  try {
    json = await looksLikeJsonDocument(path);
  } catch (err) {
    throw new CliError(EXIT.input, `cannot read ${path}: ${message(err)}`);
  }
  if (json) {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path);
    const doc = parseJson(bytes.toString('utf8'), 1, !isUtf8(bytes));
    const list = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.facts) ? doc.facts : null;
    if (!list) throw new CliError(EXIT.input, `${path}: expected a JSON array of facts or { "facts": [...] }`);
    for (const [i, value] of list.entries()) yield toItem(value, i + 1, types);
    return;
  }
  let n = 0;
  try {
    for await (const bytes of byteLines(path)) {
      n += 1;
      // Each line's bytes decoded apart: bytes that are not UTF-8 would otherwise become U+FFFD
      // unseen, and the record would not hold what the file said (POST refuses them: a 400).
      const text = bytes.toString('utf8');
      if (text.trim() === '') continue;
      yield toItem(parseJson(text, n, !isUtf8(bytes)), n, types);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(EXIT.input, `cannot read ${path}: ${message(err)}`);
  }
}

/**
 * A file's lines as bytes, split at LF, CRLF or a lone CR (as readline splits them), their ends
 * left out. Splitting bytes is safe in UTF-8: no byte of a multi-byte sequence is below 0x80.
 */
export async function* byteLines(path: string): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  let afterCr = false;
  for await (const chunk of createReadStream(path)) {
    const buf = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      if (b !== 10 && b !== 13) {
        afterCr = false;
        continue;
      }
      // The LF of a CRLF (perhaps split across two chunks) ends no line of its own.
      if (!(b === 10 && afterCr && i === start)) yield buf.subarray(start, i);
      afterCr = b === 13;
      start = i + 1;
    }
    rest = buf.subarray(start);
  }
  if (rest.length > 0) yield rest;
}

/**
 * Roughly how many items a file holds, for the progress bar: its lines, counted without
 * parsing (blank lines included). Null when it cannot tell.
 */
export async function countLines(path: string): Promise<number | null> {
  try {
    let count = 0;
    let last = 10;
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) count += 1;
      if (buf.length > 0) last = buf[buf.length - 1] as number;
    }
    return last === 10 ? count : count + 1;
  } catch {
    return null;
  }
}
