/**
 * A read worker (read-pool.ts): answers ReadQueries' questions on a connection of its own to
 * the read-model file, off the main thread's event loop. Before each question it ends its
 * snapshot if the main thread heard of events applied since (or reopens the file after a
 * rebuild's swap), so a question asked after a write's answer reads that write. It runs at a
 * lower CPU priority than the event loop (ANNALS_READ_WORKER_NICE, thread-nice.ts), warms
 * up on synthetic holder questions before it says ready (read-warm-up.ts), and once ready fills
 * its connection's page cache between questions (read-cache-warm.ts). Its start-up,
 * handshake and close are src/store/thread-worker.ts'.
 */
import type { Transferable } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { workerSide } from '../src/store/thread-worker.js';
import { openReader, ReadModelsUnavailableError } from './reader.js';
import { ReadQueries } from './queries.js';
import { APPLIED, FILE, OPEN, OPEN_CLOSED, OPEN_HELD, RAW_ROOM_AFTER, RAW_ROOM_BEFORE, SPENT_KEPT, SPENT_MAX_BYTES, pageIn, withItems, type ItemMore, type RawEach, type ReadAnswer, type ReadJob, type ReadReply, type ReadRequest, type ReadWorkerInit, type WholeAnswer, type WholeAsk } from './read-pool.js';
import { niceThisThread } from './thread-nice.js';
import { WARM_UP, warmUp } from './read-warm-up.js';
import { CACHE_WARM, cacheWarmer, walksFor, type CacheWarmer } from './read-cache-warm.js';
import { HOLDER_SQL } from './offices/holder-json.js';
import { hash } from 'node:crypto';
import { CursorSigner, nextLink, type Key } from '../src/cursor-sign.js';
import type { SnapshotState } from './query-context.js';

const side = workerSide<ReadWorkerInit, ReadRequest, ReadReply>('projections/read-worker');
const { init, port } = side;
const counters = new Int32Array(init.counters);
const encoder = new TextEncoder();
/** Signs the cursors of pages made whole here, under the key the pool gave at the start (never logged). */
const signer = new CursorSigner(init.cursorKey);

/** Each item's JSON without its `more` (the main thread adds links made from it and the item's id), into one buffer. */
function eachItem(items: unknown[]): RawEach {
  const texts: string[] = [];
  const more: (ItemMore | undefined)[] = [];
  for (const item of items) {
    const { more: m, ...rest } = item as { more?: unknown };
    texts.push(JSON.stringify(rest));
    // With the item's id, which the links are made of.
    more.push(m === undefined ? undefined : { id: (item as { id?: unknown }).id, more: m });
  }
  return packed(texts, more);
}

/** Items' JSON texts back to back in one buffer, with where each ends. */
function packed(texts: readonly string[], more: readonly (ItemMore | undefined)[]): RawEach {
  const ends = new Uint32Array(texts.length);
  // UTF-8 takes at most 3 bytes for each UTF-16 unit.
  const bytes = new Uint8Array(texts.reduce((n, t) => n + t.length * 3, 0));
  let at = 0;
  texts.forEach((t, i) => {
    at += encoder.encodeInto(t, bytes.subarray(at)).written;
    ends[i] = at;
  });
  return { bytes: bytes.slice(0, at), ends, more };
}

// Started before the read models were open (read-pool.ts `held`): its modules are loaded by
// now, off the start's critical path; the file waits until the pool says the read models are
// open (OPEN_GO), and a pool closed first ends this thread without opening it.
if (Atomics.load(counters, OPEN) === OPEN_HELD) side.post({ kind: 'held' });
while (Atomics.load(counters, OPEN) === OPEN_HELD) Atomics.wait(counters, OPEN, OPEN_HELD);
if (Atomics.load(counters, OPEN) === OPEN_CLOSED) process.exit(0);

let file = Atomics.load(counters, FILE);
let applied = Atomics.load(counters, APPLIED);
/**
 * SQLite's page cache of this connection, in KiB: 128 MiB, where openReader gives 64. Holder
 * questions over all 10,000 offices of the 1,000,000-fact record touch ~125 MiB of index and
 * table pages; with 64 MiB most of a question's CPU went to reading pages back from the OS
 * (pread and copying): in-process, under load ~15, 70–85 µs a question against 50–57 at 128
 * MiB and 45–53 at 192. It costs resident memory only as pages are read, at most ~64 MiB more
 * per read worker (ANNALS_READ_WORKERS); 160 MiB left bench:read's server at RSS 409 MB after
 * its run, peak 454, too near the 512 MB target. With a memory map (below) the cache holds
 * only the pages SQLite cannot read from the map (those in the WAL), so it costs nothing at rest.
 */
const CACHE_KIB = 131_072;

/**
 * With `init.mmapBytes` (ANNALS_READ_MMAP_MIB), SQLite reads a page its cache lacks straight
 * from a read-only map of the file's first that many bytes (no pread, no copy into a malloc'd
 * page), unless the page is in the WAL. The pages touched count in the process's RSS (RssFile:
 * the kernel's file cache, shared, not this heap). SQLite drops the map at the next transaction
 * after any write to the file and maps it again when it next reads, so a file another
 * connection truncated or shrank is never read through a stale map; a rebuild renames a new
 * file over this one, and this connection, until released (`current`), maps the old inode,
 * which nothing truncates. An I/O error under a map is a SIGBUS, not an SQLite error.
 * Off by default (session 41, s41-mm, bench/RESULTS.md): the whole map cut this thread's CPU a
 * holder answer by 22–31% and a page by 6–7%, but left bench:read's server at 1.3–1.4 GB of RSS
 * (RssFile ~1.1 GB), and unmapping it whenever its pages passed 160 or 256 MiB cost more CPU
 * (the pages faulted in again) than the map saved.
 */
function open(): Database.Database {
  const d = openReader(init.path);
  d.pragma(`cache_size = -${CACHE_KIB}`);
  if (init.mmapBytes) d.pragma(`mmap_size = ${init.mmapBytes}`);
  return d;
}

let db: Database.Database | null = open();
let queries: ReadQueries | null = new ReadQueries(db, false, init.snapshotMs);

/** While a batch is answered (answerAll): its replies, sent together. */
let batch: { replies: ReadAnswer[]; transfer: Transferable[] } | null = null;
const batchHoldMs = init.batchHoldMs ?? 1;

function reply(m: ReadAnswer, transfer: Transferable[] = []): void {
  if (batch === null) port.postMessage(m, transfer);
  else {
    batch.replies.push(m);
    batch.transfer.push(...transfer);
  }
}

/** A list's page (its items handed over raw): milliseconds, where a point question takes tens of µs. */
const isPage = (job: ReadJob): boolean => job.rawItems !== undefined;
/** Questions the worker may take off its port between pages (the rest wait their turn: `release`, `close`). */
const isQuestion = (m: ReadRequest): m is ReadJob | Extract<ReadRequest, { kind: 'reads' }> => m.kind === 'read' || m.kind === 'reads';

/**
 * A turn's questions (read-pool.ts `send`), in one message, or in several when they take long:
 * what is ready goes once `batchHoldMs` (1 ms) has passed since the last message. Point
 * questions (a holder, a chair, one entity) are answered before the pages beside them, and
 * between two pages the worker takes the questions that have come meanwhile off its port
 * (`take`) and answers their point questions first too, their pages after the ones already
 * waiting: a holder waits at most for the page in hand, not for every page asked before it
 * (a page of sessions costs milliseconds of this thread, a holder tens of µs). Answers carry
 * their question's number, so the order they go back in is free.
 */
function answerAll(jobs: readonly ReadJob[]): void {
  let b: { replies: ReadAnswer[]; transfer: Transferable[] } = (batch = { replies: [], transfer: [] });
  let since = performance.now();
  // A question that came alone gets its answer alone (an `answer`, not `answers`), as `answer` sends it.
  const send = (): void => port.postMessage(jobs.length === 1 && b.replies.length === 1 ? (b.replies[0] as ReadAnswer) : ({ kind: 'answers', replies: b.replies } satisfies ReadReply), b.transfer);
  const sendIfHeld = (): void => {
    const now = performance.now();
    if (now - since < batchHoldMs) return;
    send();
    b = batch = { replies: [], transfer: [] };
    since = now;
  };
  const pages: ReadJob[] = [];
  const points = (asked: readonly ReadJob[]): void => {
    for (const job of asked) {
      if (isPage(job)) pages.push(job);
      else {
        answer(job);
        sendIfHeld();
      }
    }
  };
  points(jobs);
  for (let i = 0; i < pages.length; i++) {
    answer(pages[i] as ReadJob);
    sendIfHeld();
    for (let m = side.take(isQuestion); m !== null; m = side.take(isQuestion)) points(m.kind === 'reads' ? jobsOf(m) : [m as ReadJob]);
  }
  batch = null;
  if (b.replies.length > 0) send();
}

/**
 * The connection on the file at the path: after a rebuild's swap (the FILE counter moved), the
 * old one is closed, since it reads a file the read models no longer write, and a new one
 * opened; one that will not open answers unavailable (503), and is tried again at the next
 * question, until it opens.
 */
function release(): void {
  warming = null;
  queries?.invalidate();
  db?.close();
  [db, queries] = [null, null];
}

function current(): ReadQueries {
  const f = Atomics.load(counters, FILE);
  if (f !== file || queries === null) {
    release();
    try {
      db = open();
    } catch (err) {
      throw new ReadModelsUnavailableError(`the read models in ${init.path} could not be opened for reading: ${(err as Error).message}; retry shortly`);
    }
    file = f;
    queries = new ReadQueries(db, false, init.snapshotMs);
    warm(db);
  }
  return queries;
}

/** The page cache being filled (read-cache-warm.ts), a slice each turn of this thread's loop, so questions wait at most a slice. */
let warming: CacheWarmer | null = null;
const cacheWarm = init.cacheWarm ?? CACHE_WARM;

function warm(d: Database.Database): void {
  if (cacheWarm.pages <= 0) return;
  let w: CacheWarmer | null = null;
  try {
    w = warming = cacheWarmer(walksFor(d, [HOLDER_SQL], ['terms_rt', 'attestations_rt']), cacheWarm);
  } catch {
    return;
  }
  const slice = (): void => {
    // Stopped: the connection was released (a rebuild's swap, the close), or another began.
    if (warming !== w || db !== d) return;
    if (w.step()) setImmediate(slice);
    else warming = null;
  };
  setImmediate(slice);
}

/** Buffers the event loop gave back (read-pool.ts `giveBack`), to write pages in: at most SPENT_KEPT. */
const spent: ArrayBuffer[] = [];

/** A `reads` message's questions; the buffers it brings back kept for the next pages. */
function jobsOf(m: Extract<ReadRequest, { kind: 'reads' }>): readonly ReadJob[] {
  if (m.spent) for (const b of m.spent) if (spent.length < SPENT_KEPT) spent.push(b);
  return m.jobs;
}

/** A buffer of at least `n` bytes: one given back if the last is big enough, else a new one (a page's size, MIN_BUFFER at least). */
function bufferOf(n: number): ArrayBuffer {
  const last = spent[spent.length - 1];
  if (last !== undefined && last.byteLength >= n) return spent.pop() as ArrayBuffer;
  return Buffer.allocUnsafeSlow(Math.max(n, MIN_BUFFER)).buffer as ArrayBuffer;
}
/** Pages of documents are ~20 KB: buffers of at least this many bytes, so most given back fit the next page. */
const MIN_BUFFER = 32_768;

/**
 * `text` as UTF-8 in a buffer of its own with room before and after it (read-pool.ts
 * RAW_ROOM_BEFORE, RAW_ROOM_AFTER), where the event loop writes the rest of the answer around
 * the items (reads-answer.ts answerBytes) instead of copying them into a new buffer.
 */
function withRoom(text: string, before = RAW_ROOM_BEFORE, after = RAW_ROOM_AFTER): Uint8Array<ArrayBuffer> {
  // As many bytes as characters first (the items' text is ASCII but for names and titles): one
  // pass, where counting the bytes first and then writing them took two (7.3 against 14.9 µs a
  // page of documents, and 14.5 for encoder.encode, which has no room).
  const guess = new Uint8Array(bufferOf(before + text.length + after));
  const { read, written } = encoder.encodeInto(text, guess.subarray(before, before + text.length));
  if (read === text.length) return guess.subarray(before, before + written);
  const n = Buffer.byteLength(text);
  if (spent.length < SPENT_KEPT && guess.buffer.byteLength <= SPENT_MAX_BYTES) spent.push(guess.buffer);
  const b = new Uint8Array(bufferOf(before + n + after));
  encoder.encodeInto(text, b.subarray(before));
  return b.subarray(before, before + n);
}

/**
 * A page's answer made whole (read-pool.ts WholeAsk): the body as JSON.stringify writes
 * `{ validAt, knownAt, [field]: items, nextCursor }` (reads-answer.ts answerBytes), the next
 * page's cursor signed as paging.ts `nextPage` signs it and its Link, and the strong ETag (the
 * SHA-1 of the bytes, as reads-answer.ts sendAnswer makes it) when the answer is immutable at
 * this snapshot (reads-answer.ts isImmutable), while the bytes are fresh in this thread's cache.
 */
function wholeOf(w: WholeAsk, items: string, next: Key | null, snapshot: SnapshotState): WholeAnswer {
  const cursor = next === null ? null : signer.encode(w.scope, w.knownAt, next);
  const bytes = withRoom(`{"validAt":${JSON.stringify(w.validAt)},"knownAt":${JSON.stringify(w.knownAt)},${JSON.stringify(w.field)}:${items},"nextCursor":${cursor === null ? 'null' : JSON.stringify(cursor)}}`, 0, 0);
  const immutable = w.strong && snapshot.recordedAt !== null && w.knownAt < snapshot.recordedAt;
  return { bytes, etag: immutable ? `"${hash('sha1', bytes, 'base64url')}"` : null, link: cursor === null ? null : nextLink(w.url, cursor) };
}

function answer(job: ReadJob): void {
  try {
    const queries = current();
    const a = Atomics.load(counters, APPLIED);
    if (a !== applied) {
      applied = a;
      queries.invalidate();
    }
    // A list whose items SQLite writes as JSON (queries.ts itemsJson): their texts, no objects.
    const text = job.rawItems ? queries.itemsJson(job.method, job.args) : null;
    const value = text ? text.value : (queries[job.method] as (...args: unknown[]) => unknown)(...job.args);
    const page = job.rawItems ? pageIn(value) : null;
    if (page === null) reply({ kind: 'answer', seq: job.seq, value, snapshot: queries.snapshot() });
    else if (job.whole !== undefined && (text || job.rawItems === 'page')) {
      // The answer whole (read-pool.ts WholeAsk): the event loop only sets its headers and sends it.
      // Not a page asked 'each' whose items are objects (a session with `more`: its links are the route's).
      const snapshot = queries.snapshot();
      const whole = wholeOf(job.whole, text ? `[${text.items.join(',')}]` : JSON.stringify(page.items), (page as { next?: Key | null }).next ?? null, snapshot);
      reply({ kind: 'answer', seq: job.seq, value: null, snapshot, whole }, [whole.bytes.buffer]);
    }
    else if (job.rawItems === 'each' && !text) {
      const rawEach = eachItem(page.items);
      reply({ kind: 'answer', seq: job.seq, value: withItems(value, []), snapshot: queries.snapshot(), rawEach }, [rawEach.bytes.buffer, rawEach.ends.buffer]);
    } else {
      // Items SQLite wrote have no `more` (a page that needs one is answered as objects:
      // queries.ts itemsJson), so asked 'each' they are the page as it goes out, as 'page' sends
      // it: the event loop writes the answer around them, where joining them again took two
      // copies of the page (~40 KB of sessions) on the event loop.
      // The items as JSON bytes in a buffer of their own, handed over (transferred), not copied.
      const rawItems = withRoom(text ? `[${text.items.join(',')}]` : JSON.stringify(page.items));
      reply({ kind: 'answer', seq: job.seq, value: withItems(value, []), snapshot: queries.snapshot(), rawItems }, [rawItems.buffer]);
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ kind: 'error', seq: job.seq, name: e.name, message: e.message });
  }
}

// Behind the event loop for the CPU (thread-nice.ts): a heavy read waits, /healthz does not.
const thread = niceThisThread(init.nice ?? 0);
// The first questions after a start cost several times their steady CPU: paid here, not by them.
const warmedUp = warmUp(queries, init.warmUp ?? WARM_UP);
side.serve({
  ready: { kind: 'ready', thread, warmedUp, mmapBytes: db === null ? 0 : Number(db.pragma('mmap_size', { simple: true })) },
  // A page alone still takes the point questions that come while it is answered.
  onMessage: (m) => (m.kind === 'reads' ? answerAll(jobsOf(m)) : m.kind === 'release' ? release() : isPage(m) ? answerAll([m]) : answer(m)),
  close: release,
});
// Once ready: the pages every holder question reads, between questions.
if (db !== null) warm(db);
