/**
 * A replay's fold (`BuildOptions.readOutOnly`, src/cli/state.ts): a temporary file that only the
 * replay's read-out reads (organizations with members and chairs, offices with their
 * successions, people, sessions and documents by id, at one knownAt), so it is built with only
 * what the read-out's statements read, not every table and index a server's questions need.
 * Everything kept is built exactly as a rebuild builds it (the same rows, rowids and entries):
 * the read-out answers the same, byte for byte.
 *
 * What the read-out reads was taken from its statements' plans on the 1,000,000-fact record
 * (EXPLAIN QUERY PLAN of every statement it runs); test/replay-read-out-fold.test.ts checks
 * on a generated record that every statement it runs reads only these, and that its lines equal
 * those read out of a whole fold.
 */

/**
 * Tables whose rows a replay's fold does not write: the read-out never reads them (the
 * timeline's dated facts, 761,260 rows and two indexes on the 1,000,000-fact record; names,
 * for searches). Their events are decoded and checked as in a rebuild (an event a table would
 * refuse is still parked), only their rows are dropped.
 */
export const READ_OUT_SKIPPED_TABLES: readonly string[] = ['timeline', 'names'];

/**
 * The query indexes a replay's fold builds (of those `createIndexes`, `createAppendedIndexes`
 * and the terms' build make): each one a read-out statement's plan reads, or one the fold's
 * own finishing steps read (adoptions' `earliest`: adoptions_i0). The others, and the
 * temporal indexes (R*Trees) and `spans`, which only the API's pages and point questions
 * read, are not built. A table's sorted copy (its primary key) is made as in a rebuild.
 */
export const READ_OUT_INDEXES: ReadonlySet<string> = new Set([
  'facts_amendments',
  'entities_i2',
  'entities_i3',
  'attestations_i0',
  'chairmanships_i0',
  'membership_changes_i0',
  'membership_changes_i1',
  'sessions_i1',
  'adoptions_i0',
  'adoptions_i3',
  'considerations_i0',
  'considerations_i2',
  'terms_pair',
  'terms_office',
]);
