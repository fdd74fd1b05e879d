/**
 * The embedded store: what only SQLite promises (durability settings, the writer thread, dense
 * positions, group commit, a busy file). Its waves, subscriptions and other connections' writes
 * are in test/store-sqlite-waves.test.ts; the shared contract on a real file is in
 * test/store-sqlite-contract-*.test.ts (four parts, test/fixtures/sqlite-contract.ts). One
 * file held them all until it took ~175 s at a load average of 7 (each case starts a writer
 * thread that loads TypeScript).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { StoreUnavailableError } from '../src/store/errors.js';
import type { NewEvent, StoredEvent } from '../src/store/port.js';
import { decodePosition, encodePosition } from '../src/store/positions.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { translateSqliteError } from '../src/store/sqlite-errors.js';
import { ev, sqliteFiles } from './fixtures/store-files.js';

// Writer threads (each loading TypeScript) make this file's time follow the machine's load: 240 s
// (.taprc) was crossed at a load average of 15-20 while the contract and the waves ran here too;
// a hang is still caught at 600 s.
t.setTimeout(600_000);

const freshPath = sqliteFiles(t);

t.test('sqlite: durability settings as SQLite reports them, on the connection that commits', async (t) => {
  for (const writer of ['thread', 'inline'] as const) {
    const store = openSqliteStore(freshPath(), { busyTimeoutMs: 1234, writer });
    t.teardown(() => store.close());
    t.equal(store.writer, writer);
    for (const [name, p] of [['reading connection', store.pragmas()], [`${writer} writer's connection`, await store.writerPragmas()]] as const) {
      t.equal(p.synchronous, 2, `${name}: synchronous = FULL (2), not the bundled WAL default NORMAL (1)`);
      t.equal(p.journalMode, 'wal', `${name}: WAL`);
      t.equal(p.busyTimeoutMs, 1234, `${name}: busy timeout`);
      t.equal(p.walAutocheckpoint, 4000, `${name}: a checkpoint every 4,000 WAL pages, not SQLite's 1,000`);
    }
    t.match(store.name, /^sqlite:.*\.db$/);
  }
});

t.test('sqlite: the writer thread commits appends off the event loop, and a new one starts if it dies', async (t) => {
  const path = freshPath();
  const store = openSqliteStore(path, { writer: 'thread' });
  t.teardown(() => store.close());
  const a = await store.append('w-1', [ev('A')], 'no_stream');
  // An event loop that never yields still sees the append answered only after the COMMIT.
  const other = new Database(path, { readonly: true });
  t.teardown(() => other.close());
  t.equal(other.prepare('SELECT count(*) FROM events').pluck().get(), 1, 'committed before acknowledged');
  t.equal(a.events[0]?.position, encodePosition(1));
  // Kill the thread from outside (as a crash would): what it held fails as unavailable, the next append works.
  const thread = (store as unknown as { thread: { worker: { terminate(): Promise<number> } | null } }).thread;
  await thread.worker?.terminate();
  await new Promise((resolve) => setImmediate(resolve));
  const b = await store.append('w-1', [ev('B')], 0);
  t.equal(b.nextRevision, 1, 'a new writer thread took over');
  const stream = await store.readStream('w-1');
  t.same(stream.map((e) => e.type), ['A', 'B']);
});

t.test('sqlite: positions are 20-digit zero-padded, dense from 1, in call order', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => store.append(`s${i % 5}`, [ev('A'), ev('B')], 'any')));
  const positions = results.flatMap((r) => r.events.map((e) => e.position));
  t.same(positions, Array.from({ length: 60 }, (_, i) => encodePosition(i + 1)), 'call order, no gaps');
  t.equal(positions[0], '00000000000000000001');
  t.equal(await store.head(), '00000000000000000060');
});

t.test('sqlite: position encoding', async (t) => {
  t.equal(encodePosition(0), '00000000000000000000');
  t.equal(encodePosition(12345), '00000000000000012345');
  t.equal(decodePosition('00000000000000012345'), 12345);
  t.ok(encodePosition(9) < encodePosition(10), 'string order = numeric order');
  t.throws(() => encodePosition(-1), RangeError);
  t.throws(() => encodePosition(1.5), RangeError);
  t.throws(() => decodePosition('12'), RangeError, 'wrong width');
  t.throws(() => decodePosition('0000000000000000001x'), RangeError);
  t.throws(() => decodePosition('99999999999999999999'), RangeError, 'beyond safe integers');
});

t.test('sqlite: a failed expectation in a group commit leaves the others committed', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  await store.append('a', [ev('A')], 'no_stream');
  const [ok1, bad, ok2] = await Promise.allSettled([
    store.append('b', [ev('B'), ev('B')], 'no_stream'),
    store.append('a', [ev('X'), ev('X')], 'no_stream'),
    store.append('c', [ev('C')], 'no_stream'),
  ]);
  t.equal(ok1.status, 'fulfilled');
  t.equal(bad.status, 'rejected');
  t.equal(ok2.status, 'fulfilled');
  const all = await store.readAll();
  t.same(all.map((e) => e.type), ['A', 'B', 'B', 'C']);
  t.same(all.map((e) => e.position), [1, 2, 3, 4].map(encodePosition), 'the failed append took no positions');
});

t.test('sqlite: a one-event append whose id is taken, in a group commit, fails alone (no savepoint: its INSERT undoes itself)', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  const taken = ev('A');
  await store.append('a', [taken], 'no_stream');
  const [before, bad, after] = await Promise.allSettled([
    store.append('b', [ev('B')], 'no_stream'),
    store.append('x', [{ ...taken, type: 'X' }], 'no_stream'),
    store.append('c', [ev('C')], 'no_stream'),
  ]);
  t.equal(before.status, 'fulfilled');
  t.match(bad, { status: 'rejected', reason: { name: 'DuplicateEventError', eventId: taken.id } });
  t.equal(after.status, 'fulfilled');
  const all = await store.readAll();
  t.same(all.map((e) => [e.stream, e.type]), [['a', 'A'], ['b', 'B'], ['c', 'C']], 'the appends before and after it are stored, it is not');
  t.same(all.map((e) => e.position), [1, 2, 3].map(encodePosition), 'the failed append took no position');
});

t.test('sqlite: one append with the same id twice is a DuplicateEventError', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  const e = ev('A');
  await t.rejects(store.append('a', [e, e], 'any'), { name: 'DuplicateEventError', eventId: e.id });
  t.same(await store.readAll(), []);
});

t.test('sqlite: invalid input is rejected before touching the file', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  await t.rejects(store.append('', [ev('A')], 'any'), TypeError);
  await t.rejects(store.append('a', [ev('A')], -1), TypeError);
  await t.rejects(store.append('a', [ev('A')], 'sometimes' as 'any'), TypeError);
  await t.rejects(store.append('a', [{ ...ev('A'), id: '' }], 'any'), TypeError);
  await t.rejects(store.append('a', [{ ...ev('A'), type: '' }], 'any'), TypeError);
  await t.rejects(store.append('a', [{ ...ev('A'), metadata: null as unknown as Record<string, unknown> }], 'any'), TypeError);
  await t.rejects(store.append('a', [ev('A', { n: 1n })], 'any'), TypeError, 'not JSON-serialisable');
  await t.rejects(store.append('a', 'nope' as unknown as NewEvent[], 'any'), TypeError);
  await t.rejects(store.readStream('a', { limit: -1 }), TypeError);
  await t.rejects(store.readAll({ after: 'garbage' }), RangeError, 'a position from another adapter');
  t.same(await store.readAll(), []);
  const r = await store.append('a', [{ ...ev('A'), data: undefined }], 'any');
  t.equal((await store.readAll())[0]?.data, null, 'undefined data is stored as null');
  t.equal(r.nextRevision, 0);
});

t.test('sqlite: recordedAt never goes back even if the last stored one is in the future', async (t) => {
  const path = freshPath();
  const store = openSqliteStore(path);
  t.teardown(() => store.close());
  await store.append('a', [ev('A')], 'any');
  // Another writer with a clock ahead of ours (simulated by editing the last row).
  const other = new Database(path);
  other.prepare("UPDATE events SET recorded_at = '2999-01-01T00:00:00.000Z'").run();
  other.close();
  const r = await store.append('a', [ev('B')], 'any');
  t.equal(r.events[0]?.recordedAt, '2999-01-01T00:00:00.000Z');
});

t.test('sqlite: busy file and closed store are StoreUnavailableError', async (t) => {
  const path = freshPath();
  const store = openSqliteStore(path, { busyTimeoutMs: 50 });
  await store.append('a', [ev('A')], 'any');
  const locker = new Database(path);
  locker.exec('BEGIN IMMEDIATE');
  await t.rejects(store.append('a', [ev('B')], 'any'), StoreUnavailableError, 'lock held by another connection');
  locker.exec('ROLLBACK');
  locker.close();
  t.equal((await store.append('a', [ev('C')], 'any')).nextRevision, 1, 'works again once the lock is gone');
  await store.close();
  await store.close();
  await t.rejects(store.head(), StoreUnavailableError);
  t.throws(() => store.pragmas(), StoreUnavailableError);
  const sub = store.subscribe();
  const none: StoredEvent[] = [];
  for await (const e of sub) none.push(e);
  t.same(none, [], 'subscribing to a closed store yields nothing');
  t.throws(() => openSqliteStore(join(freshPath(), 'no', 'such', 'dir', 'x.db')), StoreUnavailableError);
});

t.test('sqlite: driver errors translate at the boundary', async (t) => {
  const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY_SNAPSHOT' });
  t.ok(translateSqliteError(busy) instanceof StoreUnavailableError);
  t.ok(translateSqliteError(Object.assign(new Error('io'), { code: 'SQLITE_IOERR_FSYNC' })) instanceof StoreUnavailableError);
  const corrupt = Object.assign(new Error('malformed'), { code: 'SQLITE_CORRUPT' });
  t.equal(translateSqliteError(corrupt), corrupt, 'not mistaken for a transient condition');
  const plain = new Error('x');
  t.equal(translateSqliteError(plain), plain);
  const already = new StoreUnavailableError('x');
  t.equal(translateSqliteError(already), already);
});
