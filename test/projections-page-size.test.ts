/**
 * The read-model file's SQLite page size (ANNALS_READ_PAGE_KIB, projections/page-size.ts readPageBytes):
 * set on a file when it is made (openDb's, a rebuild's fresh file, the terms' file beside it);
 * a kept file made with another size keeps it, opens and answers, and is made at the setting's
 * size when rebuilt (swapped in). Read back with PRAGMA page_size on the real files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { openDb } from '../projections/db.js';
import { DEFAULT_READ_PAGE_KIB, readPageBytes } from '../projections/page-size.js';
import { rebuildReadModels } from '../projections/index.js';
import { startTerms } from '../projections/terms-build.js';
import { TestLog, dumpTables, recordRichHistory, startReadApp } from './fixtures/history.js';

const silent = pino({ level: 'silent' });
const pageSizeOf = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
};
/** ANNALS_READ_PAGE_KIB for the rest of a test (worker threads started meanwhile copy it), put back after. */
const withPageKib = (t: Test, kib: string | undefined): void => {
  const before = process.env['ANNALS_READ_PAGE_KIB'];
  const set = (v: string | undefined): void => {
    if (v === undefined) delete process.env['ANNALS_READ_PAGE_KIB'];
    else process.env['ANNALS_READ_PAGE_KIB'] = v;
  };
  set(kib);
  t.teardown(() => set(before));
};
const tempDir = async (t: Test): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-page-size-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

t.test('readPageBytes: the setting in bytes, SQLite’s 4 KiB unless set, only SQLite’s sizes', async (t) => {
  t.equal(readPageBytes({}), DEFAULT_READ_PAGE_KIB * 1024);
  t.equal(readPageBytes({ ANNALS_READ_PAGE_KIB: '' }), DEFAULT_READ_PAGE_KIB * 1024, 'empty: the default');
  t.equal(readPageBytes({ ANNALS_READ_PAGE_KIB: '16' }), 16_384);
  t.equal(readPageBytes({ ANNALS_READ_PAGE_KIB: '64' }), 65_536);
  for (const bad of ['3', '128', '0', 'x', '8.5']) t.throws(() => readPageBytes({ ANNALS_READ_PAGE_KIB: bad }), /ANNALS_READ_PAGE_KIB/, bad);
});

t.test('a new file gets the setting’s page size, live (WAL) and bulk; an existing one keeps its own', async (t) => {
  const dir = await tempDir(t);
  withPageKib(t, '16');
  for (const bulk of [false, true]) {
    const path = join(dir, `new-${bulk}.db`);
    openDb(path, { bulk }).close();
    t.equal(pageSizeOf(path), 16_384, `bulk: ${bulk}`);
  }
  withPageKib(t, '8');
  const kept = join(dir, 'new-false.db');
  const db = openDb(kept);
  try {
    t.equal(db.pragma('page_size', { simple: true }), 16_384, 'opened with another setting: its own size kept');
    t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    db.close();
  }
});

t.test('the terms’ file beside a build is made at the setting’s size', async (t) => {
  const dir = await tempDir(t);
  withPageKib(t, '16');
  const path = join(dir, 'build.db');
  const db = openDb(path, { bulk: true });
  try {
    const terms = startTerms(db, false, () => undefined);
    t.ok(existsSync(`${path}.terms`), 'its file made');
    t.equal(pageSizeOf(`${path}.terms`), 16_384);
    await terms.abandon();
  } finally {
    db.close();
  }
});

t.test('a rebuild makes its file at the setting’s size, with the same rows as at 4 KiB', async (t) => {
  const dir = await tempDir(t);
  const log = new TestLog();
  recordRichHistory(log, 1500, 5);
  const small = join(dir, 'small.db');
  const large = join(dir, 'large.db');
  withPageKib(t, '4');
  await rebuildReadModels({ store: log, path: small, log: silent });
  withPageKib(t, '16');
  await rebuildReadModels({ store: log, path: large, log: silent });
  t.equal(pageSizeOf(small), 4096);
  t.equal(pageSizeOf(large), 16_384);
  t.notOk(existsSync(`${large}.terms`) || existsSync(`${large}.rebuild.terms`), 'the terms’ file removed');
  t.same(dumpTables(large), dumpTables(small), 'same rows');
  const check = new Database(large, { readonly: true });
  try {
    t.same(check.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  } finally {
    check.close();
  }
});

t.test('a kept 4 KiB file opens and answers under another setting; the service’s rebuild swaps in one of the new size', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'readmodels.db');
  const log = new TestLog();
  recordRichHistory(log, 1500, 9);
  const office = log.events.find((e) => e.type === 'OfficeEstablished')?.metadata['factId'] as string;
  const now = new Date().toISOString();
  let before: unknown;
  let rows: Record<string, unknown[][]> = {};
  // The service with 4 KiB files; closed at the end of this subtest, its data dir kept.
  await t.test('made at 4 KiB', async (t) => {
    withPageKib(t, '4');
    const first = await startReadApp(t, log, { dir });
    await first.readModels.caughtUp();
    before = first.readModels.queries.holders(office, now, { after: null, limit: 50 });
    t.ok(before, 'an answer');
    rows = dumpTables(path);
    t.equal(pageSizeOf(path), 4096);
  });
  // The same data dir opened again, the read models' files at 16 KiB from now on.
  withPageKib(t, '16');
  // A log of its own (the first service closed its store): the same events.
  const same = new TestLog();
  same.push(...log.events);
  const again = await startReadApp(t, same, { dir });
  await again.readModels.caughtUp();
  t.equal(pageSizeOf(path), 4096, 'the kept file keeps its size');
  t.same(again.readModels.queries.holders(office, now, { after: null, limit: 50 }), before, 'and answers as before');
  const rebuilt = await again.readModels.rebuild();
  t.equal(rebuilt.events, log.events.length);
  t.equal(pageSizeOf(path), 16_384, 'rebuilt and swapped in: the setting’s size');
  t.same(dumpTables(path), rows, 'the same rows');
  t.same(again.readModels.queries.holders(office, now, { after: null, limit: 50 }), before, 'the same answer');
  const res = await again.app.inject({ method: 'GET', url: `/v1/offices/${office}/holders` });
  t.equal(res.statusCode, 200, 'the app answers on the swapped file');
});
