/**
 * SQL expressions that write an answer's JSON text in SQLite, byte for byte what
 * JSON.stringify writes of the objects the queries build in JS: a read worker hands the text
 * over instead of building objects from rows and serializing them (for a page of sessions
 * those two were ~40% of its CPU: bench/page-cpu.ts).
 *
 * Strings go through json_quote, whose escapes are JSON.stringify's (checked for every ASCII
 * character in test/projections-json-sql.test.ts; text in SQLite is well-formed UTF-8, so no
 * lone surrogate reaches either). NULL quotes as `null`. Every expression reads `@k`.
 */
import { KNOWN } from './query-context.js';

/** A string (or NULL) column as a JSON value. */
export const quoted = (x: string): string => `json_quote(${x})`;

/**
 * The entity view `{ id, key, name }` (offices: `title`) of the id `x` as known at k, as
 * query-context.ts `view` renders it: `null` for a NULL id, nulls for an id not known then.
 * `x` is evaluated up to three times: pass a column or a cheap expression.
 */
export const VIEW = (x: string): string =>
  `CASE WHEN ${x} IS NULL THEN 'null' ELSE coalesce((SELECT '{"id":' || json_quote(v.id) || ',"key":' || json_quote(v.key) || CASE v.kind WHEN 'office' THEN ',"title":' ELSE ',"name":' END || json_quote(v.name) || '}' FROM entities v WHERE v.id = ${x} AND ${KNOWN('v')}), '{"id":' || json_quote(${x}) || ',"key":null,"name":null}') END`;

/**
 * `,"correctedBy":{…}` for the fact `x` when a correction of it is known at k (the latest),
 * else '' (facts/queries.ts correctionsOf: the partial index facts_amendments, newest first).
 */
export const CORRECTED = (x: string): string =>
  `coalesce((SELECT ',"correctedBy":{"factId":' || json_quote(f.fact_id) || ',"reason":' || json_quote(f.reason) || ',"recordedAt":' || json_quote(f.recorded_at) || '}' FROM facts f WHERE f.type IN ('FactCorrected', 'FactRetracted') AND f.target = ${x} AND f.type = 'FactCorrected' AND f.recorded_at <= @k ORDER BY f.position DESC LIMIT 1), '')`;

/** A JSON text column holding an array (agenda, topics): itself, `[]` for NULL or `null` (as `parse(x) ?? []`). */
export const ARRAY = (x: string): string => `coalesce(nullif(${x}, 'null'), '[]')`;
