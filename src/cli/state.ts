/**
 * "The state of everything" at a `knownAt`, one entity at a time: every organization with its
 * chairs and members, every office with its whole succession, every person, every session
 * and every document, as the record stood then. `annals replay` prints it (one JSON line an
 * entity); `annals diff` compares two of them.
 *
 * The folding is the read models' own (`buildFresh`, what `annals rebuild` runs), cut at
 * knownAt, into a temporary SQLite file that only this replay uses; the entities are then
 * read out of it a keyset page at a time. Memory holds one page and one entity's lists,
 * never the record: the record's size is on disk, in the temporary file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EntityKind } from '../../events/index.js';
import { pino, type Logger } from 'pino';
import { ReadQueries, buildFresh, everything, type Key, type RebuildProgress } from '../../projections/index.js';
import Database from 'better-sqlite3';
import type { LogSource } from '../../projections/runner.js';
import type { Database as Db } from 'better-sqlite3';
import { sessionsJson } from '../../projections/sessions/json.js';
import { documentsJson } from '../../projections/documents/json.js';
import { membersWhole } from '../../projections/organizations/queries.js';
import { readOutWithThread } from './replay-readout.js';

/** The kinds in the order a replay gives them; within a kind, the order of its API list (sessions and documents: by id). */
export const ENTITY_ORDER = ['organization', 'office', 'person', 'session', 'document'] as const satisfies readonly EntityKind[];

/**
 * One entity as it stood at knownAt: `entity` (its kind), then the fields of its API answer (`id`, `key`,
 * `name`, …), with, for an organization, `members` and `chairs`, for an office `holders`, and
 * for a session its own lists whole.
 */
export type Entity = { entity: EntityKind; id: string } & Record<string, unknown>;

export interface ReplayOptions {
  /** Progress of the fold (the rebuild's own reports, about once a second). */
  onProgress?: (p: RebuildProgress) => void;
  log?: Logger;
  /** Where the temporary read-model file goes (default: the system's temporary directory). */
  tmpDir?: string;
  /**
   * Folds only the tables and indexes the read-out reads (projections/read-out.ts; default
   * true); false: every read model, as a rebuild makes them (the same lines, at more cost).
   */
  readOutOnly?: boolean;
  /** Hears the read-out's stages (replay-readout.ts ReadOutOptions.onStage). */
  onStage?: (stage: string) => void;
}

const PAGE = 1000;
/**
 * Entities a unit of the read-out holds at most (an organization is one): offices 10 (~22 KB of
 * text each on the 1,000,000-fact record), sessions 25 (~6 KB each), people and documents 100
 * (under 0.5 KB each), so that a unit's text stays near 0.25 MB at most (s36-rp's units of 100
 * offices were ~2.2 MB each, and in flight between the threads they were most of what the
 * read-out's second thread cost in memory: bench/RESULTS.md, session 37).
 */
const UNIT: Record<Unit['kind'], number> = { organization: 1, office: 10, person: 100, session: 25, document: 100 };
/**
 * A unit's text is cut into chunks of about this many characters (whole lines): each stays a
 * string of V8's young generation (below its 128 KiB of a regular object, one byte a character
 * for ASCII), not of its large-object space, which only a full collection frees.
 */
export const CHUNK = 32_768;
/**
 * The read-out connection's page cache, KiB: 2 MiB (s35 measured the read-out's CPU within the
 * noise with 2, 16 and 64 MiB); with the read-out thread's connection beside it, the
 * 1,000,000-fact record's read-out reached 263 MB (sampled) with 16 MiB here; s37-rp's whole
 * replay peaked at 246 MB with 2 MiB here and in the thread (4 MB young generation there) against
 * 250 MB with 4 MiB (8 MB), at lower load (bench/RESULTS.md, session 37).
 */
const READ_CACHE_KIB = 2048;
const none = { items: [], next: null };
const all = (after: Key | null) => ({ after, limit: PAGE });
/** A session's own lists, whole: the state of everything leaves nothing for later. */
const WHOLE = 1_000_000_000;

/**
 * The state of everything recorded by `knownAt`, entity by entity. The temporary file is
 * removed when the iteration ends (finished, broken off or failed).
 */
export async function* replayTo(store: LogSource, knownAt: string, options: ReplayOptions = {}): AsyncGenerator<Entity> {
  yield* folded(store, knownAt, options, (db) => entitiesAt(new ReadQueries(db), db, knownAt));
}

/**
 * What `annals replay` prints: the NDJSON lines of `replayTo`'s entities, in its order, a chunk
 * of whole lines at a time (about CHUNK characters; `entities`: the lines it ends, counted on a
 * unit's last chunk), read out and serialized on this thread and one of its own (replay-readout.ts).
 */
export async function* replayLines(store: LogSource, knownAt: string, options: ReplayOptions = {}): AsyncGenerator<{ text: string; entities: number }> {
  yield* folded(store, knownAt, options, (db, path) => readOutWithThread(db, path, knownAt, options.onStage === undefined ? {} : { onStage: options.onStage }));
}

/** The log recorded by knownAt folded into a temporary file, then `readOut` of it; the file removed at the end. */
async function* folded<T>(store: LogSource, knownAt: string, options: ReplayOptions, readOut: (db: Db, path: string) => Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'annals-replay-'));
  try {
    const path = join(dir, 'readmodels.db');
    await buildFresh(store, path, options.log ?? pino({ level: 'silent' }), options.onProgress, undefined, { knownAt, tempOnDisk: true, readOutOnly: options.readOutOnly ?? true });
    // What the fold left in this thread's heap (the log's batches; the terms' cut when made on this
    // thread, from TypeScript sources: ~70 MB on the 1,000,000-fact record before session 41 cut it
    // in smaller chunks; garbage once done) collected now, before the read-out's thread starts: left to
    // V8, it was collected only well into the read-out, after the thread and caches came on top.
    // Twice, a moment apart: the first collection leaves its pages committed (heapTotal 79 MB
    // for 15.5 MB live on that record, old space 44 MB) until its sweeping is done; the second
    // gives the empty pages back (old space 15.8 MB, the process's RSS 236 -> 186 MB), so the
    // read-out's thread and its pass start on the memory the fold's garbage held (session 40).
    await settleHeap();
    // Read only, as the read-out's thread opens it: openDb would make what the fold left out
    // (its schema's indexes, spans and temporal indexes, in memory: +60 MB and ~30 s on the
    // 1,000,000-fact record, seen in session 38's first runs).
    const db = new Database(path, { readonly: true });
    // The read-out's page cache: 2 MiB, not the 64 MiB of a server's connection (which
    // filled on the 1,000,000-fact record's file as the entities were read out).
    db.pragma(`cache_size = -${READ_CACHE_KIB}`);
    db.pragma('temp_store = MEMORY');
    try {
      yield* readOut(db, path);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A full collection of this thread's heap (V8's `gc`, reached through a context made after the flag that exposes it). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** The wait between settleHeap's two collections, ms (V8's sweeping and its freeing of pages run on its own threads meanwhile). */
const SETTLE_MS = 50;

/** Two full collections SETTLE_MS apart: this thread's garbage collected and its emptied pages given back to the system. */
async function settleHeap(): Promise<void> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  collectGarbage();
}

/** The entities of read models that hold the log (at least) up to knownAt, as they stood at knownAt. */
export function* entitiesAt(queries: ReadQueries, db: Db, knownAt: string): Generator<Entity> {
  for (const unit of entityUnits(queries, db, knownAt)) yield* readUnit(queries, knownAt, unit);
}

/**
 * A piece of the state that can be read out apart, as plain data (a thread is handed it as a
 * message): an organization, or a page of offices, people, sessions' or documents' ids.
 */
export type Unit =
  | { readonly kind: 'organization' | 'office' | 'person'; readonly items: ReadonlyArray<{ readonly id: string }> }
  | { readonly kind: 'session' | 'document'; readonly ids: readonly string[] };

/**
 * The state's units in the order a replay gives them: listing them is cheap (the list pages,
 * the ids), reading a unit out (`readUnit`) is the work, which replay-readout.ts shares
 * between two threads.
 */
export function* entityUnits(queries: ReadQueries, db: Db, knownAt: string): Generator<Unit> {
  yield* organizationUnits(queries, knownAt);
  yield* officeUnits(queries, knownAt);
  yield* laterUnits(queries, db, knownAt);
}

/** The organizations' units (entityUnits' first). */
export function* organizationUnits(queries: ReadQueries, knownAt: string): Generator<Unit> {
  for (const o of everything((after) => queries.organizations(knownAt, {}, all(after)) ?? none)) yield { kind: 'organization', items: [o] };
}

/** The offices' units (entityUnits' second). */
export function* officeUnits(queries: ReadQueries, knownAt: string): Generator<Unit> {
  for (const page of pages((after) => queries.offices(undefined, knownAt, all(after)) ?? none)) for (const items of cut(page, UNIT.office)) yield { kind: 'office', items };
}

/** The units after the offices' (people, sessions, documents), in entityUnits' order. */
export function* laterUnits(queries: ReadQueries, db: Db, knownAt: string): Generator<Unit> {
  for (const page of pages((after) => queries.people(knownAt, undefined, all(after)))) for (const items of cut(page, UNIT.person)) yield { kind: 'person', items };
  // Sessions and documents by id, each once (their API lists are per organization).
  for (const page of idPages(db, 'session', knownAt)) for (const ids of cut(page, UNIT.session)) yield { kind: 'session', ids };
  for (const page of idPages(db, 'document', knownAt)) for (const ids of cut(page, UNIT.document)) yield { kind: 'document', ids };
}

/** A page cut into units of `size` (a unit of 1,000 offices was 6.4 MB of text on the 1,000,000-fact record's first 300,000 events). */
function* cut<T>(page: readonly T[], size: number): Generator<readonly T[]> {
  for (let i = 0; i < page.length; i += size) yield page.slice(i, i + size);
}

/** A unit's entities as they stood at knownAt, in order. */
export function readUnit(queries: ReadQueries, knownAt: string, unit: Unit): Entity[] {
  const out: Entity[] = [];
  switch (unit.kind) {
    case 'organization':
      for (const o of unit.items) {
        out.push({
          entity: 'organization',
          ...o,
          members: [...everything((after) => queries.members(o.id, knownAt, undefined, all(after)) ?? none)],
          chairs: [...everything((after) => queries.chairs(o.id, knownAt, undefined, all(after)) ?? none)],
        });
      }
      break;
    case 'office':
      for (const office of unit.items) out.push({ entity: 'office', ...office, holders: [...everything((after) => queries.holders(office.id, knownAt, all(after))?.page ?? none)] });
      break;
    case 'person':
      for (const p of unit.items) out.push({ entity: 'person', ...p });
      break;
    case 'session':
      // The unit's sessions rendered together (each as `session(id)` answers it): s40-ro's profile had
      // sessions one at a time ~16 s of the 1,000,000-fact record's read-out, ~5 statements each.
      for (const s of queries.sessionsByRef(unit.ids, knownAt, WHOLE)) out.push({ entity: 'session', ...s });
      break;
    case 'document':
      for (const id of unit.ids) {
        const d = queries.document(id, knownAt);
        if (d) out.push({ entity: 'document', ...d });
      }
      break;
  }
  return out;
}

/** A unit's NDJSON lines, in chunks of whole lines of about CHUNK characters (a longer line is a chunk alone). */
export function unitLines(queries: ReadQueries, knownAt: string, unit: Unit, succession?: Succession): { texts: string[]; entities: number } {
  const texts: string[] = [];
  let text = '';
  let entities = 0;
  for (const line of unitLineTexts(queries, knownAt, unit, succession)) {
    if (text.length > 0 && text.length + line.length > CHUNK) {
      texts.push(text);
      text = '';
    }
    text += line;
    entities += 1;
  }
  if (text.length > 0) texts.push(text);
  return { texts, entities };
}

/**
 * A unit's NDJSON lines: JSON.stringify of readUnit's entities for people, and of the same object
 * for an organization, its members read and paired once (organizations/queries.ts membersWhole); an
 * office's line written around its succession's JSON text as SQLite writes it
 * (ReadQueries.successionJson: one statement an office, no rows made into objects; equal to the
 * JSON of `holders`, which test/replay-state.test.ts checks against entitiesAt); a unit of
 * sessions or of documents as SQLite writes their JSON text, one statement a unit (equal to
 * their objects' JSON: test/replay-read-out-sessions.test.ts).
 */
function* unitLineTexts(queries: ReadQueries, knownAt: string, unit: Unit, succession: Succession = (office) => queries.successionJson(office, knownAt)): Generator<string> {
  if (unit.kind === 'session') {
    // The unit's sessions as SQLite writes their JSON (sessions/json.ts, a page of sessions' text:
    // every column read where its row is, `correctedBy` from the rows' corrected_by), one statement
    // for the unit: sessionsByRef's objects cost ~10.5 s of CPU on the 1,000,000-fact record's
    // 68,337 sessions, this ~5.5 (session 43). Null only for a list longer than WHOLE.
    const texts = sessionsJson(queries.q, unit.ids, knownAt, WHOLE);
    if (texts !== null) {
      for (const text of texts) yield `{"entity":"session",${text.slice(1)}\n`;
      return;
    }
  }
  if (unit.kind === 'document') {
    // The unit's documents as SQLite writes a document's item (documents/json.ts documentsJson, as a
    // session's list has it), one statement for the unit where `document(id)` ran ~5 a document:
    // ~2.0 -> ~0.5 s of CPU on the 1,000,000-fact record's 49,142 documents (session 43).
    for (const text of documentsJson(queries.q, unit.ids, knownAt)) yield `{"entity":"document",${text.slice(1)}\n`;
    return;
  }
  if (unit.kind === 'organization') {
    // readUnit's object, its members read and paired once for the organization (membersWhole), not
    // again on each page of 1,000 (the organizations' units ~2.2–3.2 -> ~0.4–0.6 s of CPU on the
    // 1,000,000-fact record, session 44; equal to readUnit's: test/replay-read-out-members.test.ts).
    for (const o of unit.items) {
      const chairs = [...everything((after) => queries.chairs(o.id, knownAt, undefined, all(after)) ?? none)];
      yield `${JSON.stringify({ entity: 'organization', ...o, members: membersWhole(queries.q, o.id, knownAt), chairs })}\n`;
    }
    return;
  }
  if (unit.kind !== 'office') {
    for (const e of readUnit(queries, knownAt, unit)) yield `${JSON.stringify(e)}\n`;
    return;
  }
  for (const office of unit.items) {
    // The office's fields after "entity" ({"id":…,…}), then its holders, last, as in readUnit's object.
    const fields = JSON.stringify(office);
    yield `{"entity":"office",${fields.slice(1, -1)},"holders":[${succession(office.id)}]}\n`;
  }
}

/**
 * An office's whole succession at the read-out's knownAt as JSON text (ReadQueries.successionJson's):
 * by default that statement, an office at a time; `annals replay` reads it from the table of
 * every office's made beforehand in one pass (projections/offices/successions-pass.ts).
 */
export type Succession = (office: string) => string;

/** A keyset list a page at a time. */
function* pages<T>(fetch: (after: Key | null) => { items: readonly T[]; next: Key | null }): Generator<readonly T[]> {
  let after: Key | null = null;
  for (;;) {
    const page = fetch(after);
    if (page.items.length > 0) yield page.items;
    if (page.next === null) return;
    after = page.next;
  }
}

/** The ids of a kind's entities known by knownAt, ascending, a page at a time. */
export function* idsOf(db: Db, kind: EntityKind, knownAt: string): Generator<string> {
  for (const ids of idPages(db, kind, knownAt)) yield* ids;
}

/** The ids of a kind's entities known by knownAt, ascending, in pages of PAGE. */
function* idPages(db: Db, kind: EntityKind, knownAt: string): Generator<string[]> {
  const page = db.prepare('SELECT DISTINCT id FROM entities WHERE kind = ? AND id > ? AND known_from <= ? ORDER BY id LIMIT +?').pluck();
  let after = '';
  for (;;) {
    const ids = page.all(kind, after, knownAt, PAGE) as string[];
    if (ids.length > 0) yield ids;
    if (ids.length < PAGE) return;
    after = ids[ids.length - 1] as string;
  }
}
