/**
 * What changed in the record between two moments of recording time: the facts recorded,
 * corrected and retracted after `since` and at or before `until`, a keyset page at a time
 * (GET /v1/changes, `annals diff`). The read models' `facts` table says which facts fall in
 * the window and where each lives in the log; the facts themselves are read from the log, so
 * an item shows exactly what was recorded (data, source, who recorded it). A correction
 * carries the data it replaced (`before`: the version that stood just before it) and its
 * replacement (`after`), a retraction the data it withdrew; both their `reason`.
 *
 * `organization`'s scope (`scope`): a fact is about it when its data names one of the ids
 * in the scope (the organization, its bodies, their offices, sessions and documents) or it
 * creates one of them; an amendment when the fact it names is, in its version before or after.
 */
import { isFactType, refSites, upcast, type FactType, type Source } from '../../events/index.js';
import type { ChangeRef, FactRef, Key, Page, ReadQueries } from '../../projections/index.js';
import type { EventStore } from '../store/port.js';

export type Data = Record<string, unknown>;

export interface ChangeItem {
  /** `recorded` a new fact; `correction` / `retraction` an amendment of the fact `fact` names. */
  kind: 'recorded' | 'correction' | 'retraction';
  factId: string;
  type: string;
  position: string;
  recordedAt: string;
  /** The principal that recorded it (`<role>:<token fingerprint>`). */
  recordedBy: string | null;
  stream: string;
  revision: number;
  /** The fact's data as recorded (for a correction: `{ fact, data, reason }`). */
  data: Data | null;
  source: Source | null;
  /** The fact an amendment names (resolved: a correction of a correction names the original). */
  fact?: { factId: string; type: string };
  /** An amendment's data before: the version it replaced or withdrew. */
  before?: Data | null;
  /** A correction's replacement data (null for a retraction). */
  after?: Data | null;
  reason?: string | null;
}

export interface ChangesWindow {
  /** Exclusive: facts recorded after it. */
  readonly since: string;
  /** Inclusive: facts recorded at or before it. */
  readonly until: string;
  /** Only facts about these ids (ReadQueries.scopeOf); null: every fact. */
  readonly scope: ReadonlySet<string> | null;
}

/** Rows read per step when a scope filters them, and at most this many rows per page (a page may then be short; its `next` goes on). */
const BATCH = 200;
export const SCAN_BOUND = 4000;

type Log = Pick<EventStore, 'readStream'>;

const keyOf = (r: { recordedAt: string; position: string }): Key => [r.recordedAt, r.position];

async function event(store: Log, ref: FactRef) {
  const [e] = await store.readStream(ref.stream, { fromRevision: ref.revision, limit: 1 });
  return e;
}

/** A version's data as its fact's type now reads it (a correction's: its replacement data). Also the feed's organization= filter. */
export async function versionData(store: Log, ref: FactRef, originalType: FactType | undefined): Promise<Data | null> {
  const e = await event(store, ref);
  /* c8 ignore next -- the read models name only events of this log */
  if (!e) return null;
  const data = upcast(e.type, e.data, (e.metadata as { schemaVersion?: number }).schemaVersion, () => originalType) as Data;
  return ref.type === 'FactCorrected' ? ((data['data'] as Data | undefined) ?? null) : data;
}

async function itemOf(queries: ReadQueries, store: Log, r: ChangeRef): Promise<ChangeItem> {
  const amendment = r.type === 'FactCorrected' || r.type === 'FactRetracted';
  const versions = amendment ? queries.fact(r.target, r.recordedAt) : null;
  const originalType = versions && isFactType(versions.fact.type) ? versions.fact.type : undefined;
  const e = await event(store, r);
  /* c8 ignore next -- the read models name only events of this log */
  const meta = (e?.metadata ?? {}) as { recordedBy?: string; source?: Source; schemaVersion?: number };
  const data = e ? (upcast(e.type, e.data, meta.schemaVersion, () => originalType) as Data) : null;
  const item: ChangeItem = { kind: 'recorded', factId: r.factId, type: r.type, position: r.position, recordedAt: r.recordedAt, recordedBy: meta.recordedBy ?? null, stream: r.stream, revision: r.revision, data, source: meta.source ?? null };
  if (!amendment || !versions) return item;
  // The version that stood just before this amendment: the latest correction recorded before it, else the original.
  const prior = [versions.fact, ...versions.amendments].filter((v) => v.position < r.position && v.type !== 'FactRetracted').at(-1) ?? versions.fact;
  const before = await versionData(store, prior, originalType);
  return {
    ...item,
    kind: r.type === 'FactCorrected' ? 'correction' : 'retraction',
    fact: { factId: versions.fact.factId, type: versions.fact.type },
    before,
    after: r.type === 'FactCorrected' ? ((data?.['data'] as Data | undefined) ?? null) : null,
    reason: r.reason,
  };
}

/** Does this change concern an id of the scope? */
export function isAbout(item: ChangeItem, scope: ReadonlySet<string>): boolean {
  const type = item.fact?.type ?? item.type;
  if (scope.has(item.fact?.factId ?? item.factId)) return true;
  const named = (data: Data | null | undefined): boolean => isFactType(type) && data != null && refSites(type, data).some((s) => scope.has(s.value));
  return item.fact ? named(item.before) || named(item.after) : named(item.data);
}

/**
 * One page of the changes in the window, after the key `after`. Without a scope: `limit`
 * items and `next` while more remain. With one: up to `limit` items about it among at most
 * SCAN_BOUND facts of the window; `next` is then where the scan stopped (a page may be short,
 * even empty, and still have a next one).
 */
export async function changesPage(queries: ReadQueries, store: Log, w: ChangesWindow, after: Key | null, limit: number): Promise<Page<ChangeItem>> {
  if (w.scope === null) {
    const rows = queries.changes(w.since, w.until, after, limit + 1);
    const page = rows.slice(0, limit);
    const items = await Promise.all(page.map((r) => itemOf(queries, store, r)));
    const last = page.at(-1);
    return { items, next: rows.length > limit && last ? keyOf(last) : null };
  }
  const items: ChangeItem[] = [];
  let from = after;
  let scanned = 0;
  for (;;) {
    const rows = queries.changes(w.since, w.until, from, BATCH);
    for (const r of rows) {
      const item = await itemOf(queries, store, r);
      if (isAbout(item, w.scope)) {
        if (items.length === limit) return { items, next: keyOf(items.at(-1) as ChangeItem) };
        items.push(item);
      }
      from = keyOf(r);
      if (++scanned >= SCAN_BOUND) return { items, next: from };
    }
    if (rows.length < BATCH) return { items, next: null };
  }
}

/** Every change in the window (annals diff). */
export async function allChanges(queries: ReadQueries, store: Log, w: ChangesWindow): Promise<ChangeItem[]> {
  const out: ChangeItem[] = [];
  let after: Key | null = null;
  for (;;) {
    const page = await changesPage(queries, store, w, after, 1000);
    out.push(...page.items);
    if (page.next === null) return out;
    after = page.next;
  }
}
