/**
 * How a read answers: as JSON text with an ETag and a Cache-Control, or 304 when the
 * client's If-None-Match names the answer it would get.
 *
 * Past answers are immutable. The rule: an answer at `knownAt` K is immutable when K was
 * given (by the client, or pinned in a cursor), no default stood in for an omitted `validAt`
 * (today's date moves), and K is earlier than the recordedAt of the last event the read
 * models had applied when the answer was read (the snapshot's checkpoint). Recording times
 * never go backwards along the log (the embedded store holds each commit's time at or after
 * the previous one), so every event not applied yet was recorded at or after that moment,
 * after K: nothing can be added to what was known at K. A K at or after it (a moment close
 * to now, with events perhaps in flight) is answered as a current read. An immutable answer
 * carries a strong ETag (a hash of its bytes) and `Cache-Control: public, max-age=31536000,
 * immutable` (`private` when reads need a token).
 *
 * A current answer carries a weak ETag made of the log position its snapshot had reached
 * and a digest of the question (route, parameters, the validAt it answered for, and this
 * process's start, since another version of the code may answer differently), with
 * `Cache-Control: no-cache`: a client revalidates, and gets 304 while nothing was applied.
 */
import { hash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SnapshotState } from '../../../projections/query-context.js';
import { CSV_TYPE, csvOf, varyOnAccept } from './csv-lists.js';
import type { WholeAnswer } from '../../../projections/read-pool.js';

const BOOT = randomBytes(9).toString('base64url');

/**
 * JSON already serialized (a read worker's list items, read-pool.ts `rawItems`), standing in
 * for the value in an answer's top-level field: written as its bytes (answerBytes), parsed
 * only for a CSV answer.
 */
export class RawJson {
  /** `roomy`: the bytes are the whole content of their buffer but the room around them (a worker's `rawItems`: read-pool.ts RAW_ROOM_BEFORE), which answerBytes may write. */
  constructor(
    readonly bytes: Uint8Array,
    readonly roomy = false,
  ) {}
  parse(): unknown {
    return JSON.parse(Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('utf8'));
  }
}

/** Top-level fields of `body` that are RawJson. */
function rawFields(body: object): string[] {
  return Object.keys(body).filter((k) => (body as Record<string, unknown>)[k] instanceof RawJson);
}

/**
 * `JSON.stringify(body)` as UTF-8 bytes, each RawJson field written as its bytes (the same bytes
 * the value would give). One roomy RawJson (a worker's page of items): the text before and
 * after it written in its buffer's room, the answer a view of that buffer, not a copy of the
 * items (~20 KB a page of documents: a new buffer and its copy were ~5% of the event loop's
 * CPU an answer).
 */
function answerBytes(body: Record<string, unknown>): Buffer {
  const parts: (RawJson | string)[] = [];
  let text = '{';
  for (const [k, v] of Object.entries(body)) {
    // JSON.stringify leaves out undefined (and function) values.
    if (v === undefined || typeof v === 'function') continue;
    text += `${text === '{' ? '' : ','}${JSON.stringify(k)}:`;
    if (v instanceof RawJson) {
      parts.push(text, v);
      text = '';
    } else text += JSON.stringify(v);
  }
  parts.push(`${text}}`);
  const raw = parts[1];
  if (parts.length === 3 && raw instanceof RawJson && raw.roomy) {
    const [before, after] = [parts[0] as string, parts[2] as string];
    const { buffer, byteOffset, byteLength } = raw.bytes;
    const b = Buffer.byteLength(before);
    const a = Buffer.byteLength(after);
    if (b <= byteOffset && a <= buffer.byteLength - byteOffset - byteLength) {
      const whole = Buffer.from(buffer, byteOffset - b, b + byteLength + a);
      whole.write(before, 0);
      whole.write(after, b + byteLength);
      return whole;
    }
  }
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p.bytes)));
}

/** The body as a CSV list sees it: RawJson fields parsed when (and only when) read. */
function parsedLazily(body: Record<string, unknown>, raw: string[]): Record<string, unknown> {
  const copy = { ...body };
  for (const k of raw) Object.defineProperty(copy, k, { get: () => (body[k] as RawJson).parse(), enumerable: true });
  return copy;
}
export const IMMUTABLE_MAX_AGE = 31_536_000;

export interface AnswerContext {
  /** The knownAt the answer was read at. */
  readonly knownAt: string;
  /** knownAt was given by the client or pinned by a cursor (not the time of the request). */
  readonly pinned: boolean;
  /** The validAt answered for, when a default (today) stood in for an omitted one. */
  readonly defaultedValidAt?: string | undefined;
  /** The checkpoint the answer was read at (a read worker's, projections/read-pool.ts); default this thread's snapshot. */
  readonly snapshot?: SnapshotState | undefined;
}

/** Does If-None-Match name `etag`? (weak comparison, RFC 9110 §13.1.2) */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const bare = (t: string): string => t.trim().replace(/^W\//, '');
  const want = bare(etag);
  return header.split(',').some((t) => bare(t) === want);
}

export function isImmutable(app: FastifyInstance, ctx: AnswerContext): boolean {
  if (!ctx.pinned || ctx.defaultedValidAt !== undefined) return false;
  const at = (ctx.snapshot ?? app.readModels.queries.snapshot()).recordedAt;
  return at !== null && ctx.knownAt < at;
}

/** The Cache-Control values, by visibility (made once, not at each answer). */
const CACHE_CONTROL = {
  public: { immutable: `public, max-age=${IMMUTABLE_MAX_AGE}, immutable`, current: 'public, no-cache' },
  private: { immutable: `private, max-age=${IMMUTABLE_MAX_AGE}, immutable`, current: 'private, no-cache' },
} as const;
const JSON_TYPE = 'application/json; charset=utf-8';

export function sendAnswer(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, body: string | object, ctx: AnswerContext): FastifyReply {
  // A list asked for as CSV (csv-lists.ts): the same page as rows; its ETags differ from the JSON's.
  const raw = typeof body === 'string' ? [] : rawFields(body);
  const csv = typeof body === 'string' ? null : csvOf(req, reply, () => (raw.length > 0 ? parsedLazily(body as Record<string, unknown>, raw) : (body as Record<string, unknown>)));
  const text: string | Buffer = csv ?? (typeof body === 'string' ? body : raw.length > 0 ? answerBytes(body as Record<string, unknown>) : JSON.stringify(body));
  const strong = isImmutable(app, ctx) ? `"${hash('sha1', text, 'base64url')}"` : null;
  // A worker's buffer (read-pool.ts `rawItems`) goes back to the pool once the socket wrote it.
  const spent = raw.length === 1 && app.readPool !== null ? roomyBuffer(body as Record<string, unknown>, raw[0] as string) : null;
  return sendCached(app, req, reply, ctx, { text, csv: csv !== null, strong, spent });
}

/** What sendCached sends: the bytes, and what their caching follows from. */
interface Cached {
  readonly text: string | Buffer;
  /** A CSV answer (its type, and its weak ETag differs from the JSON's). */
  readonly csv: boolean;
  /** The strong ETag (quoted) of an immutable answer, or null: a current answer, with a weak ETag. */
  readonly strong: string | null;
  /** The read worker's buffer the bytes are in, given back to the pool (ReadPool.giveBack) once written, or null. */
  readonly spent: ArrayBuffer | null;
}

/**
 * The one place a read's answer gets its caching and goes: Cache-Control (immutable or
 * current, public or private), the ETag (the strong one given, else the weak one), 304 when
 * If-None-Match names it, and a worker's buffer given back to the pool: at once on a 304, else
 * once the socket wrote the bytes.
 */
function sendCached(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, ctx: AnswerContext, a: Cached): FastifyReply {
  const cacheControl = app.config.privateReads ? CACHE_CONTROL.private : CACHE_CONTROL.public;
  const etag = a.strong ?? weakEtag(app, req, ctx, a.csv);
  reply.header('cache-control', a.strong !== null ? cacheControl.immutable : cacheControl.current);
  reply.header('etag', etag);
  const { spent } = a;
  if (matches(req.headers['if-none-match'], etag)) {
    if (spent !== null) app.readPool?.giveBack(spent);
    return reply.code(304).send();
  }
  // 'finish': every write's callback came, the bytes are the kernel's. Not on an error or a
  // close, where a write may still hold them: the buffer is then left to the GC, as before.
  if (spent !== null) reply.raw.once('finish', () => app.readPool?.giveBack(spent));
  return reply.type(a.csv ? CSV_TYPE : JSON_TYPE).send(a.text);
}

/** A current answer's ETag: the log position its snapshot had reached and a digest of the question. */
function weakEtag(app: FastifyInstance, req: FastifyRequest, ctx: AnswerContext, csv: boolean): string {
  const position = (ctx.snapshot ?? app.readModels.queries.snapshot()).position ?? '0';
  const question = JSON.stringify([req.routeOptions.url, req.params, req.query, ctx.defaultedValidAt ?? null, csv, BOOT]);
  return `W/"${position}.${hash('sha1', question, 'base64url').slice(0, 16)}"`;
}

/**
 * A list's JSON answer a read worker made whole (read-pool.ts WholeAsk, read-worker.ts
 * `wholeOf`): its body, its Link and, when immutable, its strong ETag came with it, so this
 * thread only sets the headers sendAnswer would (in the same order: Link as paging.ts
 * `nextPage` sets it, then Vary as csv-lists.ts csvOf does, then sendCached's) and sends the
 * bytes, or 304. Only for a CSV list asked as JSON (the route asks whole only then: csv-lists.ts
 * asksCsv), whose answer has no defaulted validAt (the worker's ETag is strong exactly where
 * isImmutable would say so).
 */
export function sendWhole(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, whole: WholeAnswer, ctx: AnswerContext): FastifyReply {
  if (whole.link !== null) reply.header('link', whole.link);
  varyOnAccept(reply);
  const { buffer, byteOffset, byteLength } = whole.bytes;
  return sendCached(app, req, reply, ctx, { text: Buffer.from(buffer, byteOffset, byteLength), csv: false, strong: whole.etag, spent: buffer });
}

/** The buffer a worker's page came in (read-pool.ts `rawItems`), or null. */
function roomyBuffer(body: Record<string, unknown>, field: string): ArrayBuffer | null {
  const r = body[field] as RawJson;
  return r.roomy && r.bytes.buffer instanceof ArrayBuffer ? r.bytes.buffer : null;
}
