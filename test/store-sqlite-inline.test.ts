/**
 * The embedded store with its writer on the caller's thread (`writer: 'inline'`, what
 * ANNALS_SQLITE_WRITER=inline selects): the whole store contract again, so both ways of
 * committing keep every promise of the port. test/store-sqlite-contract-*.test.ts run it with
 * the writer thread, the default (its four parts in four files: test/fixtures/sqlite-contract.ts).
 */
import t from 'tap';
import { sqliteContract } from './fixtures/sqlite-contract.js';
import { STORE_CONTRACT_PARTS } from './fixtures/store-contract.js';

sqliteContract(t, STORE_CONTRACT_PARTS, 'inline');
