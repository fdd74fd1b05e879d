/**
 * The embedded store against the shared store contract, part 'reads-retries': positions, readStream, readAll and head, identical retries and reused ids
 * (test/fixtures/sqlite-contract.ts; the other parts, and SQLite's own cases, are in the other
 * test/store-sqlite*.test.ts files).
 */
import t from 'tap';
import { sqliteContract } from './fixtures/sqlite-contract.js';

sqliteContract(t, ['reads-retries']);
