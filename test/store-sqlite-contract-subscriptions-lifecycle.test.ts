/**
 * The embedded store against the shared store contract, part 'subscriptions-lifecycle': subscriptions (catch-up, live, filters, close), durability across reopening, two OS processes racing, a writer killed mid-batch
 * (test/fixtures/sqlite-contract.ts; the other parts, and SQLite's own cases, are in the other
 * test/store-sqlite*.test.ts files).
 */
import t from 'tap';
import { sqliteContract } from './fixtures/sqlite-contract.js';

sqliteContract(t, ['subscriptions-lifecycle']);
