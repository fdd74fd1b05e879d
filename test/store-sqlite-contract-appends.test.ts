/**
 * The embedded store against the shared store contract, part 'appends': appends and expected revisions, atomic multi-event appends, payloads
 * (test/fixtures/sqlite-contract.ts; the other parts, and SQLite's own cases, are in the other
 * test/store-sqlite*.test.ts files).
 */
import t from 'tap';
import { sqliteContract } from './fixtures/sqlite-contract.js';

sqliteContract(t, ['appends']);
