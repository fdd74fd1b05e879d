/**
 * Facts as facts: where each lives in the log, and the corrections and retraction that name
 * it, as known at `knownAt`. Kept by the runner itself (projections/db.ts, table `facts`), not
 * by a projection: a correction is applied to the fact it names, so only the runner sees both.
 *
 * `correctedBy` marks an item of an answer whose fact was corrected, so a reader never takes a
 * corrected statement for one first recorded so (API.md: "answers mark an item that was
 * corrected").
 */
import type { QueryContext } from '../query-context.js';

export interface CorrectedBy {
  /** The latest correction known at knownAt. */
  factId: string;
  reason: string | null;
  recordedAt: string;
}

export interface FactRef {
  factId: string;
  type: string;
  stream: string;
  revision: number;
  position: string;
  recordedAt: string;
  /** For a correction or retraction: why. */
  reason: string | null;
}

interface FactRow {
  fact_id: string;
  type: string;
  target: string;
  stream: string;
  revision: number;
  position: string;
  recorded_at: string;
  reason: string | null;
}

const AMENDMENTS = `type IN ('FactCorrected', 'FactRetracted')`;

const ref = (r: FactRow): FactRef => ({ factId: r.fact_id, type: r.type, stream: r.stream, revision: r.revision, position: r.position, recordedAt: r.recorded_at, reason: r.reason });

/** The latest correction known at `k` of each of these facts (facts never corrected are absent). */
export function correctionsOf(q: QueryContext, factIds: readonly string[], k: string): Map<string, CorrectedBy> {
  const out = new Map<string, CorrectedBy>();
  if (factIds.length === 0) return out;
  // The partial index facts_amendments holds corrections and retractions only: a few rows.
  // The ids drive the join (CROSS JOIN): no temporary index of them is built for an IN (for the
  // ~420 facts of a page of sessions, 0.6–0.9 against 0.8–1.4 ms of CPU, alternating runs).
  const rows = q.all<FactRow>(
    `SELECT f.fact_id, f.target, f.reason, f.recorded_at FROM json_each(@ids) j CROSS JOIN facts f WHERE f.${AMENDMENTS} AND f.target = j.value AND f.type = 'FactCorrected' AND f.recorded_at <= @k ORDER BY f.position`,
    { ids: JSON.stringify([...new Set(factIds)]), k },
  );
  for (const r of rows) out.set(r.target, { factId: r.fact_id, reason: r.reason, recordedAt: r.recorded_at });
  return out;
}

/** The corrections `ids` (their factIds, as rows' `corrected_by` name them) as `correctedBy` shows them. */
export function correctionsById(q: QueryContext, ids: readonly string[]): Map<string, CorrectedBy> {
  const out = new Map<string, CorrectedBy>();
  if (ids.length === 0) return out;
  for (const r of q.all<FactRow>(`SELECT f.fact_id, f.reason, f.recorded_at FROM json_each(@ids) j CROSS JOIN facts f WHERE f.fact_id = j.value`, { ids: JSON.stringify([...new Set(ids)]) })) {
    out.set(r.fact_id, { factId: r.fact_id, reason: r.reason, recordedAt: r.recorded_at });
  }
  return out;
}

export interface Corrected {
  correctedBy?: CorrectedBy;
}

/** Adds `correctedBy` to each item whose fact (`factId`, or `id` for an entity) was corrected by `k`; returns the items. */
export function markCorrected<T extends { factId: string } | { id: string }>(q: QueryContext, items: T[], k: string): (T & Corrected)[] {
  const idOf = (i: T): string => ('factId' in i ? i.factId : i.id);
  const found = correctionsOf(q, items.map(idOf), k);
  if (found.size) {
    for (const i of items) {
      const c = found.get(idOf(i));
      if (c) (i as T & Corrected).correctedBy = c;
    }
  }
  return items;
}

/**
 * A fact recorded by `k` and the corrections and retraction that name it (in log order); for
 * the factId of a correction or retraction, those of the fact it names. Null when no such
 * fact was recorded by `k`.
 */
export function factVersions(q: QueryContext, factId: string, k: string): { fact: FactRef; amendments: FactRef[] } | null {
  const asked = q.get<FactRow>('SELECT * FROM facts WHERE fact_id = @factId AND recorded_at <= @k', { factId, k });
  if (!asked) return null;
  const fact = asked.target === asked.fact_id ? asked : q.get<FactRow>('SELECT * FROM facts WHERE fact_id = @id', { id: asked.target });
  /* c8 ignore next -- a correction's target is recorded before it (the runner resolves it first) */
  if (!fact) return null;
  const amendments = q.all<FactRow>(`SELECT * FROM facts WHERE ${AMENDMENTS} AND target = @id AND recorded_at <= @k ORDER BY position`, { id: fact.fact_id, k });
  return { fact: ref(fact), amendments: amendments.map(ref) };
}

/** A fact recorded in a window of recording time; for a correction or retraction, `target` is the fact it names. */
export interface ChangeRef extends FactRef {
  target: string;
}

/**
 * Facts recorded after `since` and at or before `until`, in the keyset order (recordedAt,
 * position), after `after` (the key of the last one read), at most `n` of them.
 */
export function changesIn(q: QueryContext, since: string, until: string, after: readonly string[] | null, n: number): ChangeRef[] {
  const rows = q.all<FactRow>(
    `SELECT * FROM facts WHERE recorded_at > @since AND recorded_at <= @until AND (recorded_at, position) > (@a0, @a1) ORDER BY recorded_at, position LIMIT +@n`,
    { since, until, a0: after?.[0] ?? '', a1: after?.[1] ?? '', n },
  );
  return rows.map((r) => ({ ...ref(r), target: r.target }));
}

/**
 * The ids an organization's facts are about, as known by `k` (any version: an entity
 * retracted later still counts): the organization, its bodies down the parent chain, and
 * the offices, sessions and documents of any of them.
 */
export function scopeOf(q: QueryContext, org: string, k: string): string[] {
  return scope(q, org, 'known_from', k);
}

/**
 * scopeOf as it stood once the log's event at `position` had been applied: from every entity
 * version written at or before that position (a version's `position` is its event's, a
 * correction's included). The feed's `organization=` filter starts from it, so that a stream
 * resumed at any position filters the events after it as a stream that never stopped did.
 */
export function scopeAtPosition(q: QueryContext, org: string, position: string): string[] {
  return scope(q, org, 'position', position);
}

function scope(q: QueryContext, org: string, column: 'known_from' | 'position', bound: string): string[] {
  const rows = q.all<{ id: string }>(
    `WITH RECURSIVE orgs(id) AS (SELECT @org UNION SELECT e.id FROM entities e JOIN orgs o ON e.parent = o.id WHERE e.kind = 'organization' AND e.${column} <= @bound)
     SELECT id FROM orgs UNION SELECT e.id FROM entities e JOIN orgs o ON e.parent = o.id WHERE e.kind IN ('office', 'session', 'document') AND e.${column} <= @bound`,
    { org, bound },
  );
  return rows.map((r) => r.id);
}
