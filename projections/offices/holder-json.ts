/**
 * The holder answer (`GET /v1/offices/{office}/holder`) as JSON text written by SQLite in one
 * statement: the office's view, the terms and attestations valid during validAt as known at
 * knownAt (the two temporal index searches of holder.ts), each item's certainty, its
 * `correctedBy` (the appointment's or attestation's row names it: `corrected_by`, json-sql.ts
 * CORRECTED), the attestations an appointment covers left out, the items in term order.
 * Byte for byte what JSON.stringify writes of queries.ts `holder`'s answer
 * (`{ office, validAt, knownAt, holders }`), which test/projections-holder-json.test.ts checks
 * on random histories and bench/holder-cpu.ts on the 1,000,000-fact record.
 *
 * Why one statement: holder.ts asks four (the office, the terms, the attestations, the
 * corrections), each bound from an object and handing back rows as objects whose JSON is then
 * written in JS. A read worker spent ~63 µs a question so on the 1,000,000-fact record, of
 * which better-sqlite3's calls (binding, rows made into objects, their keys interned) and the
 * rendering were a good part. Here one statement is bound once and hands back one
 * string.
 */
import { KNOWN, type QueryContext } from '../query-context.js';
import { CORRECTED, quoted } from '../json-sql.js';
import { SEARCH, dayKey, entityKey, secondKey } from '../temporal.js';
import { isPartialDate, lowerBound, upperBound } from '../../events/index.js';

/** `{"id":…,"key":…,"name":…}` of a person or session `id`, from its row `v` known at k (LEFT JOINed: NULL when not known then). */
const VIEW_OF = (id: string, v: string): string =>
  `CASE WHEN ${v}.id IS NULL THEN '{"id":' || ${quoted(id)} || ',"key":null,"name":null}' ELSE '{"id":' || ${quoted(`${v}.id`)} || ',"key":' || ${quoted(`${v}.key`)} || ',"name":' || ${quoted(`${v}.name`)} || '}' END`;

/** certaintyOf (terms.ts) for a row that overlaps [q0, q1] at least possibly. */
const CERTAINTY = (r: string): string => `CASE WHEN ${r}.s1 <= @q1 AND ${r}.e0 >= @q0 THEN '"certain"}' ELSE '"possible"}' END`;

/** The terms (appointments as cut) valid during validAt as known at k: holder.ts' search (the index search drives: CROSS JOIN). */
const APPOINTED = `SELECT t.appointment AS fact_id, t.person, t.s0, t.s1, t.e0, t.e1, '{"person":' || ${VIEW_OF('t.person', 'p')}
      || ',"term":{"from":' || ${quoted('a.from_raw')} || ',"to":' || ${quoted('t.to_raw')} || '},"acting":' || CASE a.acting WHEN 1 THEN 'true' ELSE 'false' END
      || ',"factId":' || ${quoted('t.appointment')} || ',"basis":"appointed","source":' || coalesce(a.source, 'null') || ${CORRECTED('a')} || ',"certainty":' || ${CERTAINTY('t')} AS j
    FROM terms_rt r CROSS JOIN terms t ON t.rowid = r.id JOIN appointments a ON a.rowid = t.version LEFT JOIN entities p ON p.id = t.person AND ${KNOWN('p')}
    WHERE ${SEARCH('r')} AND t.office = @office AND ${KNOWN('t')} AND t.s0 <= @q1 AND t.e1 >= @q0`;

/** Attestations valid then (their session's days as known at k), but those an appointment of the same person certainly covers (terms.ts covers). */
const ATTESTED = `SELECT a.fact_id, s.s0, s.s1, '{"person":' || ${VIEW_OF('a.person', 'p')}
      || ',"term":{"from":' || ${quoted('s.from_raw')} || ',"to":' || ${quoted('coalesce(s.to_raw, s.from_raw)')} || '},"acting":false,"factId":' || ${quoted('a.fact_id')}
      || ',"basis":"attested","source":' || coalesce(a.source, 'null') || ',"session":' || ${VIEW_OF('a.session', 'v')} || ',"capacity":' || ${quoted('a.capacity')}
      || ${CORRECTED('a')} || ',"certainty":' || ${CERTAINTY('s')} AS j
    FROM attestations_rt r CROSS JOIN attestations a ON a.rowid = r.id JOIN sessions s ON s.id = a.session AND ${KNOWN('s')}
      LEFT JOIN entities p ON p.id = a.person AND ${KNOWN('p')} LEFT JOIN entities v ON v.id = a.session AND ${KNOWN('v')}
    WHERE ${SEARCH('r')} AND a.office = @office AND ${KNOWN('a')} AND s.s0 <= @q1 AND s.e1 >= @q0
      AND NOT EXISTS (SELECT 1 FROM terms_rt rc CROSS JOIN terms c ON c.rowid = rc.id
        WHERE ${SEARCH('rc')} AND c.office = @office AND ${KNOWN('c')} AND c.s0 <= @q1 AND c.e1 >= @q0 AND c.person = a.person AND c.s1 <= s.s0 AND c.e0 >= s.e1)`;

/** The whole answer; no row when the office (an id) is not known at k. Its plan names what read-cache-warm.ts warms. */
export const HOLDER_SQL = `SELECT '{"office":{"id":' || ${quoted('o.id')} || ',"key":' || ${quoted('o.key')} || ',"title":' || ${quoted('o.name')} || '},"validAt":' || json_quote(@validAt) || ',"knownAt":' || json_quote(@k)
      || ',"holders":[' || coalesce((SELECT group_concat(j, ',' ORDER BY s0, s1, fact_id) FROM (SELECT fact_id, s0, s1, j FROM (${APPOINTED}) UNION ALL ${ATTESTED})), '') || ']}'
    FROM entities o WHERE o.id = @office AND o.kind = 'office' AND ${KNOWN('o')} LIMIT 1`;

/** The holder answer's JSON text for `office` (an id) during `validAt` as known at `k`; null when the office is not known then. */
export function holderAnswerJson(q: QueryContext, office: string, validAt: string, k: string): string | null {
  // A whole day (most questions) is its own first and last day: one check, no parse and padding twice.
  const day = validAt.length === 10 && isPartialDate(validAt);
  const q0 = day ? validAt : lowerBound(validAt);
  const q1 = day ? validAt : upperBound(validAt);
  const v0 = dayKey(q0);
  const text = q.pluck(HOLDER_SQL).get({ office, validAt, k, q0, q1, ek: entityKey(office), v0, v1: day ? v0 : dayKey(q1), km: secondKey(k) }) as string | undefined;
  return text ?? null;
}

/** An office's terms (appointments as cut) known at k, whole: holdersPage's appointed items (queries.ts), each `certain`. */
const SUCCESSION_APPOINTED = `SELECT t.appointment AS fact_id, t.s0, t.s1, '{"person":' || ${VIEW_OF('t.person', 'p')}
      || ',"term":{"from":' || ${quoted('a.from_raw')} || ',"to":' || ${quoted('t.to_raw')} || '},"acting":' || CASE a.acting WHEN 1 THEN 'true' ELSE 'false' END
      || ',"factId":' || ${quoted('t.appointment')} || ',"basis":"appointed","source":' || coalesce(a.source, 'null') || ${CORRECTED('a')} || ',"certainty":"certain"}' AS j
    FROM terms t JOIN appointments a ON a.rowid = t.version LEFT JOIN entities p ON p.id = t.person AND ${KNOWN('p')}
    WHERE t.office = @office AND ${KNOWN('t')}`;

/** Its attestations known at k but those an appointment of the same person certainly covers (terms.ts personBounds, covers), each `certain`. */
const SUCCESSION_ATTESTED = `SELECT a.fact_id, s.s0, s.s1, '{"person":' || ${VIEW_OF('a.person', 'p')}
      || ',"term":{"from":' || ${quoted('s.from_raw')} || ',"to":' || ${quoted('coalesce(s.to_raw, s.from_raw)')} || '},"acting":false,"factId":' || ${quoted('a.fact_id')}
      || ',"basis":"attested","source":' || coalesce(a.source, 'null') || ',"session":' || ${VIEW_OF('a.session', 'v')} || ',"capacity":' || ${quoted('a.capacity')}
      || ${CORRECTED('a')} || ',"certainty":"certain"}' AS j
    FROM attestations a JOIN sessions s ON s.id = a.session AND ${KNOWN('s')}
      LEFT JOIN entities p ON p.id = a.person AND ${KNOWN('p')} LEFT JOIN entities v ON v.id = a.session AND ${KNOWN('v')}
    WHERE a.office = @office AND ${KNOWN('a')}
      AND NOT EXISTS (SELECT 1 FROM terms c WHERE c.office = @office AND c.person = a.person AND ${KNOWN('c')} AND c.s1 <= s.s0 AND c.e0 >= s.e1)`;

/**
 * An office's whole succession as known at k (queries.ts holdersPage, every page: the items in
 * term order, each `certain`, `correctedBy` from its row as CORRECTED finds it), as the JSON text
 * of its items joined by commas ('' for none): what JSON.stringify writes of them inside the
 * brackets. `annals replay` writes an office's line with it (src/cli/state.ts): one statement an
 * office, no rows handed to JS and rendered there (session 39: the successions were ~48% of the
 * replay's read-out, much of it better-sqlite3's rows made into objects).
 */
export const SUCCESSION_SQL = `SELECT coalesce((SELECT group_concat(j, ',' ORDER BY s0, s1, fact_id) FROM (${SUCCESSION_APPOINTED} UNION ALL ${SUCCESSION_ATTESTED})), '')`;

/** The whole succession of `office` (an id) at k as JSON text, the items comma-joined (SUCCESSION_SQL). */
export function successionJson(q: QueryContext, office: string, k: string): string {
  return q.pluck(SUCCESSION_SQL).get({ office, k }) as string;
}
