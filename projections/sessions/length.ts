/**
 * A session's length class, as SQL over its row's days (s0, e1: `YYYY-MM-DD`): 0 for a session
 * of one day (e1 = s0), 31 for one of at most 31 days after its first, 32 for a longer one
 * (a year named alone, an open end). A session of class c ≤ 31 that reaches a day q0 began at
 * q0 minus c days or later, so a page of sessions held within a day reads each class of its
 * body's index (body, class, s0, id) from there: the longest class from the day minus the body's
 * longest session (spans), as the whole index was read before. On the 1,000,000-fact record
 * 70% of the sessions are of one day, 15% of a month, 15% of a year: read from the day minus a
 * year, the one index gave ~650 entries a page to find ~11.
 *
 * The index is on this expression (sessions/evolve.ts), and SQLite uses it for a query that
 * writes the same expression (`${SESSION_LENGTH} = @c`).
 */
export const SESSION_LENGTH = '(CASE WHEN e1 <= s0 THEN 0 WHEN julianday(e1) <= julianday(s0) + 31 THEN 31 ELSE 32 END)';

/** The classes, each with the longest session it holds in days (null: the body's longest, from spans). */
export const SESSION_LENGTH_CLASSES: readonly (readonly [number, number | null])[] = [
  [0, 0],
  [31, 31],
  [32, null],
];
