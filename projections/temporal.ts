/**
 * The temporal index: an R*Tree (SQLite's rtree_i32 module, built into better-sqlite3) over
 * three intervals per row — the entity (a point: a hash of its id), the valid days, and the
 * recording time — so that "the rows of this office valid on this day and recorded by this
 * moment" is one index search, not a scan of the office's whole history. It is the shape of
 * XTDB 2's temporal index (a kd-tree over valid from/to and system from/to), on the storage
 * this project has.
 *
 * Every coordinate is conservative, so the index answers a superset and the query re-checks
 * the exact predicates on the row (entity id, partial-date bounds, known_from/known_to):
 * - the entity is a 32-bit FNV-1a hash of its id (two offices may share one: the row's
 *   `office` is compared);
 * - days are `y*416 + m*32 + d` (order-preserving, not arithmetic), an open end the maximum;
 * - recording time is the second (since 2020) of known_from (floor) to that of known_to
 *   (ceiling); a record made within one minute (the benchmark's) still tells its moments apart.
 *   Where the index follows a projection's rows (attestations) the upper end stays open:
 *   closing a version (a correction, a retraction) leaves its entry as it was, and the row's
 *   exact known_to drops it (a fact has few versions, and the index stays insert-only);
 *   `terms` (offices/terms-index.ts), whose rows end whenever a departure cuts a term,
 *   closes its entries too.
 */
import type { Database as Db } from 'better-sqlite3';

export const I32_MAX = 2_147_483_647;
const OPEN = '\uffff';

/** FNV-1a over the id's UTF-16 code units, as a signed 32-bit integer. */
export function entityKey(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;

/** A day `YYYY-MM-DD` (the stored bounds s0, e1, …) as an order-preserving integer; OPEN_END the maximum. */
export function dayKey(day: string): number {
  if (day === OPEN) return I32_MAX;
  const y = digit(day, 0) * 1000 + digit(day, 1) * 100 + digit(day, 2) * 10 + digit(day, 3);
  const m = digit(day, 5) * 10 + digit(day, 6);
  const d = digit(day, 8) * 10 + digit(day, 9);
  return y * 416 + m * 32 + d;
}

/** Recording times count seconds from here (2020-01-01T00:00:00Z): 32 bits reach 2088, and earlier or later times clamp (the index then only finds more). */
const EPOCH = Date.UTC(2020, 0, 1);
const clamp = (n: number): number => (n > I32_MAX - 1 ? I32_MAX - 1 : n < -I32_MAX ? -I32_MAX : n);

/** A recording time (RFC 3339 UTC, as stored) as its second since 2020, rounded down; OPEN_END the maximum. */
export function secondKey(at: string): number {
  if (at === OPEN) return I32_MAX;
  // The same moment as the call before (rows of one event or one batch follow each other in a build): Date.parse spared.
  if (at === lastDown) return lastDownKey;
  lastDown = at;
  return (lastDownKey = clamp(Math.floor((Date.parse(at) - EPOCH) / 1000)));
}
let lastDown = '';
let lastDownKey = 0;

/** The end of a recording interval: its second, rounded up; OPEN_END the maximum. */
export function secondKeyUp(at: string): number {
  if (at === OPEN) return I32_MAX;
  if (at === lastUp) return lastUpKey;
  lastUp = at;
  return (lastUpKey = clamp(Math.ceil((Date.parse(at) - EPOCH) / 1000)));
}
let lastUp = '';
let lastUpKey = 0;

/** The rtree companion of a table. */
export const rtreeOf = (table: string): string => `${table}_rt`;

export function createRtree(db: Db, table: string): void {
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${rtreeOf(table)} USING rtree_i32(id, elo, ehi, vlo, vhi, klo, khi)`);
}

/**
 * The search: entries of `entity` whose valid days may meet [q0, q1] and that may have been
 * recorded by `knownAt`. Bind `@ek`, `@v0`, `@v1`, `@km` with `searchParams`.
 */
export const SEARCH = (alias: string): string => `${alias}.elo <= @ek AND ${alias}.ehi >= @ek AND ${alias}.vlo <= @v1 AND ${alias}.vhi >= @v0 AND ${alias}.klo <= @km AND ${alias}.khi >= @km`;

export function searchParams(entity: string, q0: string, q1: string, knownAt: string): { ek: number; v0: number; v1: number; km: number } {
  return { ek: entityKey(entity), v0: dayKey(q0), v1: dayKey(q1), km: secondKey(knownAt) };
}
