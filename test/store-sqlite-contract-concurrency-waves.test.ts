/**
 * The embedded store against the shared store contract, part 'concurrency-waves': recordedAt, concurrent appends in one process, appendWaves
 * (test/fixtures/sqlite-contract.ts; the other parts, and SQLite's own cases, are in the other
 * test/store-sqlite*.test.ts files).
 */
import t from 'tap';
import { sqliteContract } from './fixtures/sqlite-contract.js';

sqliteContract(t, ['concurrency-waves']);
