/**
 * What every read route shares: the `validAt` / `knownAt` / `minPosition` query fields, the
 * read-your-writes wait, 404s for unknown entities, and links to the rest of a view's lists.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PartialDate, daysInMonth, today } from '../../../events/index.js';
import { ProblemError } from '../errors.js';
import { PagingQuery, linkTo, type Key, type Scope } from '../paging.js';
import { ReadWorkerLostError, ReadsOverloadedError, pageIn, withItems, type ItemMore, type Pooled, type RawEach, type ReadArgs, type ReadMethod, type ReadValue, type WholeAsk } from '../../../projections/read-pool.js';
import { RawJson } from './reads-answer.js';
import { shedProblem } from '../shedding.js';

/**
 * Lists whose route sends the page's items as they are: the worker serializes those
 * (read-pool.ts `rawItems`) and sendAnswer writes its bytes. Not sessions: their route adds
 * links to each item.
 */
const RAW_ITEMS: ReadonlySet<ReadMethod> = new Set<ReadMethod>(['people', 'offices', 'organizations', 'holders', 'members', 'chairs', 'documents', 'timeline']);
/** Lists whose route adds links to each item from its `more`: each item's JSON apart (askEach). */
type EachMethod = 'sessions';

/** The shape of a partial date, published in the document (the calendar check is PartialDate's). */
export const PARTIAL_DATE_PATTERN = '^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$';
/** A partial date in a query, with its pattern and an example in the document. */
export const Day = (description: string) => PartialDate.meta({ pattern: PARTIAL_DATE_PATTERN, examples: ['2025-11-27'] }).optional().describe(description);
export const ValidAt = Day('A partial date YYYY, YYYY-MM or YYYY-MM-DD: the world as it was then');
/** The shape of an RFC 3339 timestamp, published in the document (isRfc3339 also checks the calendar). */
export const RFC3339_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** An RFC 3339 date-time (Z or ±hh:mm offset, optional fraction) naming a real instant. */
export function isRfc3339(v: string): boolean {
  const m = RFC3339.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!) || h! > 23 || mi! > 59 || s! > 59 || oh! > 23 || om! > 59) return false;
  return !Number.isNaN(Date.parse(v));
}

/**
 * knownAt on reads: any RFC 3339 timestamp, normalised to UTC with milliseconds
 * (`new Date(v).toISOString()`), since the read models compare timestamps as strings. One
 * message on anything else. (Recorded timestamps stay the strict events Timestamp.)
 */
export const KnownAt = z
  .string()
  .meta({ format: 'date-time', pattern: RFC3339_PATTERN, examples: ['2025-11-27T12:00:00.000Z'] })
  .refine(isRfc3339, { message: 'expected an RFC 3339 timestamp, e.g. 2025-11-27T12:00:00.000Z or 2025-11-27T15:00:00+03:00' })
  .transform((v) => new Date(v).toISOString())
  .optional()
  .describe('An RFC 3339 timestamp (Z or an offset; fraction optional): the record as it stood then (default: now, or the recording time of the last event applied when the server clock is behind it). Echoed normalised to UTC with milliseconds');

/** A commit number (1–20 digits, left-padded to 20) or the EventStoreDB form `<20 digits>-<20 digits>`. */
export const POSITION = /^(?:\d{1,20}|\d{20}-\d{20})$/;
export const MinPosition = z
  .string()
  .regex(POSITION, { message: 'expected a position returned by a write: up to 20 digits, or 20 digits-20 digits (EventStoreDB)' })
  .optional()
  .describe('A position returned by a write: wait (briefly) until the read models applied it');

/**
 * An entity named in a path or a filter: any non-empty string (an id, a key, or anything a
 * client may try); the lookup answers 404 when nothing by that name is known.
 */
export const LooseRef = z.string().min(1, { message: 'expected an entity id or key' }).max(200, { message: 'at most 200 characters' }).describe('An entity id (ULID) or key');

/** Every read: knownAt and minPosition. Unknown query parameters (e.g. a cache-busting `_`) are ignored. */
export const TimeQuery = z.object({ knownAt: KnownAt, minPosition: MinPosition });
/** Point questions (holder, chair) and filters: validAt too. */
export const PointQuery = TimeQuery.extend({ validAt: ValidAt });
/** Lists: filters, then `cursor` and `limit` (paging.ts). */
export const ListQuery = PointQuery.extend(PagingQuery);

const REF_PARAMS = new WeakMap<object, string>();
/** A path parameter naming an entity, typed by its name (`req.params.office`). */
export const RefParam = <K extends string>(name: K) => {
  const schema = z.strictObject({ [name]: LooseRef } as Record<K, typeof LooseRef>);
  REF_PARAMS.set(schema, name);
  return schema;
};
/** The parameter's name when `schema` is a RefParam (point-query.ts checks those without zod). */
export const refParamName = (schema: unknown): string | undefined => (typeof schema === 'object' && schema !== null ? REF_PARAMS.get(schema) : undefined);

export type Typed = ReturnType<FastifyInstance['withTypeProvider']> & FastifyInstance;
export const typed = (app: FastifyInstance) => app.withTypeProvider<ZodTypeProvider>();

const ZEROS = '0'.repeat(20);
const pad20 = (digits: string): string => ZEROS.slice(digits.length) + digits;
const UINT64_MAX = (1n << 64n) - 1n;

function badPosition(detail: string): never {
  throw new ProblemError('invalid-request', `minPosition: ${detail}`, { errors: [{ path: 'minPosition', message: detail }] });
}

/**
 * A minPosition (already of a valid shape) in the running store's form, so that the string
 * comparison the read models make is right: the embedded store's positions are 20
 * zero-padded digits; EventStoreDB's are `<commit>-<prepare>`, each 20 zero-padded digits (a
 * plain number is taken as a commit: `<commit>-00000000000000000000`, the first position of it).
 */
export function storePosition(app: FastifyInstance, raw: string): string {
  const applied = app.readModels.applied();
  const esdb = applied !== null ? applied.includes('-') : app.config.eventStore !== 'sqlite';
  const pair = /^(\d{20})-(\d{20})$/.exec(raw);
  if (pair) {
    if (!esdb) badPosition('an EventStoreDB position, but this server runs the embedded store: expected up to 20 digits');
    if (BigInt(pair[1]!) > UINT64_MAX || BigInt(pair[2]!) > UINT64_MAX) badPosition('out of range');
    return raw;
  }
  if (esdb) {
    if (BigInt(raw) > UINT64_MAX) badPosition('out of range');
    return `${pad20(raw)}-${ZEROS}`;
  }
  return pad20(raw);
}

/**
 * The knownAt an omitted one stands for: now, or the recordedAt of the last event the read
 * models applied (their snapshot's checkpoint) when that is later. Recording times come from
 * the store's clock (on EventStoreDB the leader's; the embedded store keeps them from going
 * back), so after this process's clock stepped back, or beside a leader whose clock runs
 * ahead, "now" alone would leave out a write just answered, even read with its minPosition.
 * With a sane clock it is now. The checkpoint is the snapshot the event loop's queries share
 * (one statement a snapshot, not one a read: query-context.ts), renewed when events are
 * applied, before a wait for a position resolves. Every route and page that defaults knownAt
 * takes it from here; an answer so read is a current read (not pinned: reads-answer.ts).
 */
export function currentKnownAt(queries: { snapshot(): { readonly recordedAt: string | null } }, clock: Date = new Date()): string {
  const now = clock.toISOString();
  const applied = queries.snapshot().recordedAt;
  return applied !== null && applied > now ? applied : now;
}

/** A route's omitted knownAt, asked afresh at each call: currentKnownAt over the app's read models. */
export function nowOf(app: FastifyInstance): () => string {
  return () => currentKnownAt(app.readModels.queries);
}

/** knownAt defaults to currentKnownAt (now, with a sane clock); waits for minPosition or answers 503 with Retry-After. */
export async function readContext(app: FastifyInstance, q: { knownAt?: string | undefined; minPosition?: string | undefined }): Promise<{ knownAt: string }> {
  if (q.minPosition !== undefined) {
    const position = storePosition(app, q.minPosition);
    const ok = await app.readModels.waitFor(position, app.config.readWaitMs);
    if (!ok) {
      throw new ProblemError('unavailable', `the read models have not applied position ${position} yet; retry shortly`, { minPosition: position, applied: app.readModels.applied() }, { 'retry-after': '1' });
    }
  }
  return { knownAt: q.knownAt ?? currentKnownAt(app.readModels.queries) };
}

/** A read question answered on the event loop (no read workers), with the snapshot it read. */
function askedHere<M extends ReadMethod>(app: FastifyInstance, method: M, args: ReadArgs<M>): Pooled<ReadValue<M>> {
  const q = app.readModels.queries;
  const value = (q[method] as (...a: ReadArgs<M>) => ReadValue<M>)(...args);
  return { value, snapshot: q.snapshot() };
}

/**
 * A read question (ReadQueries' `method`), answered by a read worker when the runtime has
 * them (off the event loop: projections/read-pool.ts), else here; with the snapshot it read,
 * for sendAnswer's ETag. A full pool is a 503 with Retry-After.
 */
export function ask<M extends ReadMethod>(app: FastifyInstance, method: M, ...args: ReadArgs<M>): Promise<Pooled<ReadValue<M>>> {
  try {
    const raw = RAW_ITEMS.has(method);
    const pooled = app.readPool?.run(method, args, raw ? RAW_PAGE : undefined);
    // One promise on the worker's answer, not a chain of async functions (a point question is ~60 µs of the event loop; each link costs a microtask).
    if (pooled) return raw ? pooled.then(withRawItems, (err: unknown) => refusedAsShed(app, err)) : pooled.catch((err: unknown) => refusedAsShed(app, err));
    return Promise.resolve(askedHere(app, method, args));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A list question whose answer a read worker makes whole (read-pool.ts WholeAsk): the answer's
 * `whole` holds the body, the Link and the strong ETag (reads-answer.ts sendWhole sends it), and
 * its value is null; an unknown organization comes as a null value without `whole` (a 404, as
 * ever). Without a ready worker the question is answered here, as objects, for the route's
 * usual path (no `whole`).
 */
export function askWhole<M extends ReadMethod>(app: FastifyInstance, whole: WholeAsk, method: M, ...args: ReadArgs<M>): Promise<Pooled<ReadValue<M>>> {
  try {
    const pooled = app.readPool?.run(method, args, { whole });
    if (pooled) return pooled.catch((err: unknown) => refusedAsShed(app, err));
    return Promise.resolve(askedHere(app, method, args));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * ask for a route that answers in callback style (the holder): `then` is called with the
 * answer; a refusal (a full pool or a lost worker as a 503, as ask makes it; whatever `then`
 * or the question throws) is sent as the route's error. One promise on the worker's answer,
 * where ask and a route's own `then` and `catch` make three (each a microtask of the event
 * loop a holder answer). Not for RAW_ITEMS lists: their answers come as ask gives them.
 */
export function askThen<M extends ReadMethod>(app: FastifyInstance, reply: FastifyReply, then: (answer: Pooled<ReadValue<M>>) => void, method: M, ...args: ReadArgs<M>): void {
  const answered = (answer: Pooled<ReadValue<M>>): void => {
    try {
      then(answer);
    } catch (err) {
      reply.send(err);
    }
  };
  try {
    const pooled = app.readPool?.run(method, args);
    if (pooled) {
      pooled.then(answered, (err: unknown) => {
        try {
          refusedAsShed(app, err);
        } catch (refusal) {
          reply.send(refusal);
        }
      });
      return;
    }
    answered(askedHere(app, method, args));
  } catch (err) {
    reply.send(err);
  }
}

const RAW_PAGE = { rawItems: 'page' } as const;

/** The route passes the page's items on untouched (RAW_ITEMS): the bytes stand in for them. */
function withRawItems<T>(answer: Pooled<T>): Pooled<T> {
  return answer.rawItems ? { value: withItems(answer.value, new RawJson(answer.rawItems, true)), snapshot: answer.snapshot } : answer;
}

/** A worker's refusal: a full pool or a lost worker is a 503 with Retry-After; anything else as it is. */
function refusedAsShed(app: FastifyInstance, err: unknown): never {
  if (err instanceof ReadsOverloadedError || err instanceof ReadWorkerLostError) {
    app.metrics.shed('read-queue');
    throw shedProblem(err.message);
  }
  throw err;
}

/**
 * A list question whose route adds links to each item (sessions): by a read worker, each
 * item's JSON comes apart from its `more` (read-pool.ts RawEach), and `withMore` turns each
 * `more` into the links the route adds; the page's items are then one RawJson, the same bytes
 * as `items.map(item => ({ ...itemWithoutMore, more: withMore(item.more) }))` would give. A page
 * whose items SQLite wrote (no `more` among them) comes whole instead, as a `rawItems` page (with
 * room around it, where answerBytes writes the answer's other fields: no copy of the page here).
 * Without a worker, `fallback` maps the items as the route always did. With `whole` (the answer
 * asked as JSON), a page SQLite wrote comes whole from the worker (askWhole).
 */
export async function askEach<M extends EachMethod, I>(app: FastifyInstance, withMore: (item: ItemMore) => object | undefined, fallback: (item: I) => unknown, whole: WholeAsk | undefined, method: M, ...args: ReadArgs<M>): Promise<Pooled<ReadValue<M>>> {
  const pooled = app.readPool?.run(method, args, { rawItems: 'each', whole });
  const answer = pooled ? await pooled.catch((err: unknown) => refusedAsShed(app, err)) : { value: (app.readModels.queries[method] as (...a: ReadArgs<M>) => ReadValue<M>)(...args), snapshot: app.readModels.queries.snapshot() };
  // Asked whole, a page SQLite wrote comes whole (askWhole); one with a `more` comes each apart, as without.
  if (answer.whole) return answer;
  // Items without `more` (every item SQLite wrote: read-worker.ts) come as the page, ready to send.
  if (answer.rawItems) return withRawItems(answer);
  if (answer.rawEach) return { value: withItems(answer.value, new RawJson(joinEach(answer.rawEach, withMore))), snapshot: answer.snapshot };
  const page = pageIn(answer.value);
  return page ? { value: withItems(answer.value, page.items.map((i) => fallback(i as I))), snapshot: answer.snapshot } : answer;
}

/** `[item0,item1,…]` with each item's `"more":{…}` put back last, as a spread would. */
export function joinEach(each: RawEach, withMore: (item: ItemMore) => object | undefined): Uint8Array {
  const parts: Uint8Array[] = [OPEN];
  let start = 0;
  each.ends.forEach((end, i) => {
    if (i > 0) parts.push(COMMA);
    const more = each.more[i];
    const links = more === undefined ? undefined : withMore(more);
    if (links === undefined) parts.push(each.bytes.subarray(start, end));
    else {
      // The item's JSON without its closing brace, then the links as its last field.
      const empty = end - start === 2;
      parts.push(each.bytes.subarray(start, end - 1), Buffer.from(`${empty ? '' : ','}"more":${JSON.stringify(links)}}`));
    }
    start = end;
  });
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** validAt for a point question: default today (UTC). */
export const pointValidAt = (v: string | undefined): string => v ?? today(new Date());

export function notFound(kind: string, ref: string, knownAt: string): never {
  throw new ProblemError('not-found', `no ${kind} ${JSON.stringify(ref)} is known at ${knownAt}`, { [kind]: ref, knownAt });
}

export function found<T>(value: T | null, kind: string, ref: string, knownAt: string): T {
  if (value === null) notFound(kind, ref, knownAt);
  return value;
}

export interface Guards {
  read: preHandlerHookHandler | preHandlerHookHandler[];
  staff: preHandlerHookHandler;
}

export type { FastifyRequest };

/**
 * A view's `more` (list name → the key after its first page) as links to the list's own
 * route, each with a cursor pinned to the view's knownAt.
 */
export function moreLinks<L extends string>(more: Partial<Record<L, Key>> | undefined, knownAt: string, link: (list: L) => { path: string; scope: Scope; query?: Record<string, string | undefined> }): Partial<Record<L, string>> | undefined {
  if (!more) return undefined;
  const out: Partial<Record<L, string>> = {};
  for (const [list, key] of Object.entries(more) as [L, Key][]) {
    const l = link(list);
    out[list] = linkTo(l.path, l.scope, knownAt, key, l.query);
  }
  return out;
}

/** Paging and conditional requests, as route descriptions say them. */
export const LIST_NOTE = 'A page holds at most `limit` items (default 50, at most 500), with `nextCursor` and a `Link: <…>; rel="next"` header while more remain; follow them to read each item exactly once. A cursor is bound to its query and pins the knownAt of the first page (an omitted knownAt is pinned to the moment of the first page); a cursor altered, or used with other filters, is a 400 naming `cursor`.';
export const CACHE_NOTE = 'Answers carry an ETag: If-None-Match answers 304. With a knownAt earlier than the recording time of the last event applied (and validAt given, where it defaults to today), the answer is immutable: strong ETag, Cache-Control: public, max-age=31536000, immutable. Otherwise a weak ETag from the log position (Cache-Control: no-cache).';
