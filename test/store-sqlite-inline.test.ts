/**
 * The embedded store with its writer on the caller's thread (`writer: 'inline'`, what
 * ANNALS_SQLITE_WRITER=inline selects): the whole store contract again, so both ways of
 * committing keep every promise of the port. test/store-sqlite-contract-*.test.ts run it with
 * the writer thread, the default (its four parts in four files: test/fixtures/sqlite-contract.ts).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { decodePosition } from '../src/store/positions.js';
import { openSqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import { storeContract, type StoreHarness } from './fixtures/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-store-inline-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const options: SqliteStoreOptions = { subscriptionPageSize: 16, pollIntervalMs: 20, typeScanWindow: 3, writer: 'inline' };

storeContract(t, 'sqlite-inline', async (): Promise<StoreHarness> => {
  const path = join(dir, `${randomUUID()}.db`);
  const opened = [openSqliteStore(path, options)];
  return {
    store: opened[0] as ReturnType<typeof openSqliteStore>,
    reopen: async () => {
      await Promise.all(opened.map((s) => s.close()));
      const s = openSqliteStore(path, options);
      opened.push(s);
      return s;
    },
    positionOrdinal: decodePosition,
    startsEmpty: true,
    dispose: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
});
