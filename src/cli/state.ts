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
import type { EntityKind } from '../../events/index.js';
import { pino, type Logger } from 'pino';
import { ReadQueries, buildFresh, everything, type Key, type RebuildProgress } from '../../projections/index.js';
import { openDb } from '../../projections/db.js';
import type { LogSource } from '../../projections/runner.js';
import type { Database as Db } from 'better-sqlite3';

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
}

const PAGE = 1000;
/** The read-out connection's page cache, KiB. */
const READ_CACHE_KIB = 16_384;
const none = { items: [], next: null };
const all = (after: Key | null) => ({ after, limit: PAGE });
/** A session's own lists, whole: the state of everything leaves nothing for later. */
const WHOLE = 1_000_000_000;

/**
 * The state of everything recorded by `knownAt`, entity by entity. The temporary file is
 * removed when the iteration ends (finished, broken off or failed).
 */
export async function* replayTo(store: LogSource, knownAt: string, options: ReplayOptions = {}): AsyncGenerator<Entity> {
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'annals-replay-'));
  try {
    const path = join(dir, 'readmodels.db');
    await buildFresh(store, path, options.log ?? pino({ level: 'silent' }), options.onProgress, undefined, { knownAt, tempOnDisk: true });
    const db = openDb(path);
    // The read-out's page cache: 16 MiB, not the 64 MiB of a server's connection (which
    // filled on the 1,000,000-fact record's file as the entities were read out).
    db.pragma(`cache_size = -${READ_CACHE_KIB}`);
    try {
      yield* entitiesAt(new ReadQueries(db), db, knownAt);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The entities of read models that hold the log (at least) up to knownAt, as they stood at knownAt. */
export function* entitiesAt(queries: ReadQueries, db: Db, knownAt: string): Generator<Entity> {
  for (const o of everything((after) => queries.organizations(knownAt, {}, all(after)) ?? none)) {
    yield {
      entity: 'organization',
      ...o,
      members: [...everything((after) => queries.members(o.id, knownAt, undefined, all(after)) ?? none)],
      chairs: [...everything((after) => queries.chairs(o.id, knownAt, undefined, all(after)) ?? none)],
    };
  }
  for (const office of everything((after) => queries.offices(undefined, knownAt, all(after)) ?? none)) {
    yield { entity: 'office', ...office, holders: [...everything((after) => queries.holders(office.id, knownAt, all(after))?.page ?? none)] };
  }
  for (const p of everything((after) => queries.people(knownAt, undefined, all(after)))) yield { entity: 'person', ...p };
  // Sessions and documents by id, each once (their API lists are per organization).
  for (const id of idsOf(db, 'session', knownAt)) {
    const s = queries.session(id, knownAt, WHOLE);
    if (s) yield { entity: 'session', ...s };
  }
  for (const id of idsOf(db, 'document', knownAt)) {
    const d = queries.document(id, knownAt);
    if (d) yield { entity: 'document', ...d };
  }
}

/** The ids of a kind's entities known by knownAt, ascending, a page at a time. */
export function* idsOf(db: Db, kind: EntityKind, knownAt: string): Generator<string> {
  const page = db.prepare('SELECT DISTINCT id FROM entities WHERE kind = ? AND id > ? AND known_from <= ? ORDER BY id LIMIT +?').pluck();
  let after = '';
  for (;;) {
    const ids = page.all(kind, after, knownAt, PAGE) as string[];
    yield* ids;
    if (ids.length < PAGE) return;
    after = ids[ids.length - 1] as string;
  }
}
