/**
 * The embedded store: the shared contract on a real file, plus what only SQLite promises
 * (durability settings, dense positions, group commit, other processes' writes).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { StoreUnavailableError } from '../src/store/errors.js';
import type { NewEvent, StoredEvent } from '../src/store/port.js';
import { decodePosition, encodePosition } from '../src/store/positions.js';
import { openSqliteStore, type SqliteStoreOptions } from '../src/store/sqlite.js';
import { canonicalJson } from '../src/store/sqlite-rows.js';
import { appendWaves } from '../src/store/waves.js';
import { translateSqliteError } from '../src/store/sqlite-errors.js';
import { storeContract, type ChildTask, type StoreHarness } from './fixtures/store-contract.js';
import { nodeArgs } from './fixtures/node-child.js';

// Child processes (each loading TypeScript) make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 15-20; a hang is still caught at 600 s.
t.setTimeout(600_000);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const childScript = join(repoRoot, 'test', 'fixtures', 'store-writer-child.ts');

const dir = mkdtempSync(join(tmpdir(), 'annals-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function freshPath(): string {
  return join(dir, `${randomUUID()}.db`);
}

function spawnWriter(path: string, task: ChildTask) {
  return spawn(process.execPath, nodeArgs(childScript, JSON.stringify({ adapter: 'sqlite', path }), JSON.stringify(task)), {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

// A small page size so catch-up crosses many pages in the contract's subscription cases.
const contractOptions: SqliteStoreOptions = { subscriptionPageSize: 16, pollIntervalMs: 20, typeScanWindow: 3 };

storeContract(t, 'sqlite', async (): Promise<StoreHarness> => {
  const path = freshPath();
  const opened = [openSqliteStore(path, contractOptions)];
  return {
    store: opened[0] as ReturnType<typeof openSqliteStore>,
    reopen: async () => {
      await Promise.all(opened.map((s) => s.close()));
      const s = openSqliteStore(path, contractOptions);
      opened.push(s);
      return s;
    },
    childWriter: { spawn: (task) => spawnWriter(path, task) },
    positionOrdinal: decodePosition,
    startsEmpty: true,
    dispose: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
});

function ev(type: string, data: unknown = {}): NewEvent {
  return { id: randomUUID(), type, data, metadata: {} };
}

t.test('sqlite: durability settings as SQLite reports them, on the connection that commits', async (t) => {
  for (const writer of ['thread', 'inline'] as const) {
    const store = openSqliteStore(freshPath(), { busyTimeoutMs: 1234, writer });
    t.teardown(() => store.close());
    t.equal(store.writer, writer);
    for (const [name, p] of [['reading connection', store.pragmas()], [`${writer} writer's connection`, await store.writerPragmas()]] as const) {
      t.equal(p.synchronous, 2, `${name}: synchronous = FULL (2), not the bundled WAL default NORMAL (1)`);
      t.equal(p.journalMode, 'wal', `${name}: WAL`);
      t.equal(p.busyTimeoutMs, 1234, `${name}: busy timeout`);
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

t.test('sqlite: another connection on the same file sees commits and wakes subscriptions', async (t) => {
  const path = freshPath();
  const a = openSqliteStore(path, { pollIntervalMs: 10 });
  const b = openSqliteStore(path, { pollIntervalMs: 10 });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const sub = b.subscribe();
  const it = sub[Symbol.asyncIterator]();
  // next() runs the subscription up to its sleep at once: the log is empty, so b is asleep,
  // polling data_version, before a appends (with a 1.5 s poll, `first` takes 1.5 s).
  const first = it.next();
  const written = await a.append('x', [ev('A')], 'no_stream');
  const got = await first;
  t.equal((got.value as StoredEvent).position, written.events[0]?.position, "b's subscription saw a's commit");
  await t.rejects(b.append('x', [ev('B')], 'no_stream'), { name: 'WrongExpectedRevisionError', actual: '0' });
  const r = await b.append('x', [ev('B')], 0);
  t.equal(r.events[0]?.position, encodePosition(2), "b continues a's positions");
  await sub.close();
});

t.test('sqlite: a slow subscriber holds at most one page and does not block appends', async (t) => {
  const store = openSqliteStore(freshPath(), { subscriptionPageSize: 10 });
  t.teardown(() => store.close());
  for (let i = 0; i < 10; i++) await store.append('a', Array.from({ length: 10 }, () => ev('A')), 'any');
  const sub = store.subscribe();
  const it = sub[Symbol.asyncIterator]();
  await it.next();
  // The subscriber is stalled after one event; appends still commit promptly.
  const started = Date.now();
  for (let i = 0; i < 20; i++) await store.append('b', [ev('B')], 'any');
  t.ok(Date.now() - started < 5000, 'appends not blocked');
  let n = 1;
  while (n < 120) {
    const r = await it.next();
    if (r.done === true) break;
    n++;
  }
  t.equal(n, 120, 'all events delivered once the subscriber resumes');
  await sub.close();
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
  t.throws(() => openSqliteStore(join(dir, 'no', 'such', 'dir', 'x.db')), StoreUnavailableError);
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

t.test('sqlite: several types read in windows, each match once and in order', async (t) => {
  const store = openSqliteStore(freshPath(), { typeScanWindow: 7, subscriptionPageSize: 5 });
  t.teardown(() => store.close());
  const types = Array.from({ length: 100 }, (_, i) => ['A', 'B', 'C'][i % 3] ?? 'A');
  await store.append('x', types.map((ty) => ev(ty)), 'no_stream');
  const want = types.flatMap((ty, i) => (ty === 'C' ? [] : [encodePosition(i + 1)]));
  t.same((await store.readAll({ types: ['A', 'B'] })).map((e) => e.position), want, 'readAll without limit');
  t.same((await store.readAll({ types: ['B', 'A'], limit: 9 })).map((e) => e.position), want.slice(0, 9), 'with a limit inside a window');
  t.same((await store.readAll({ types: ['A', 'B'], after: encodePosition(50) })).map((e) => e.position), want.filter((p) => p > encodePosition(50)));
  const sub = store.subscribe({ types: ['A', 'B'] });
  const got: string[] = [];
  for await (const e of sub) {
    got.push(e.position);
    if (got.length === want.length) break;
  }
  t.same(got, want, 'subscription');
});

t.test('sqlite: appendWaves commits every wave in one transaction', async (t) => {
  for (const writer of ['thread', 'inline'] as const) {
    const store = openSqliteStore(freshPath(), { writer });
    t.teardown(() => store.close());
    let commits = 0;
    store.onCommitted(() => commits++);
    const outcomes = await store.appendWaves([
      [{ stream: 'key-a', events: [ev('KeyReserved')], expected: 'no_stream' }],
      [{ stream: 'person-a', events: [ev('PersonRegistered')], expected: 'no_stream' }],
      [{ stream: 'session-a', events: [ev('DelegateAttended')], expected: 'no_stream' }],
    ]);
    t.same(outcomes.map((w) => w.map((o) => o.status)), [['fulfilled'], ['fulfilled'], ['fulfilled']], `${writer}: all appended`);
    // Inline, the listener runs once per COMMIT; from the thread, once per reply message (a COMMIT's outcomes go in one).
    t.equal(commits, 1, `${writer}: one ${writer === 'inline' ? 'COMMIT (one fsync)' : 'reply'} for the three waves`);
    const all = await store.readAll();
    t.equal(new Set(all.map((e) => e.recordedAt)).size, 1, `${writer}: one transaction, one recordedAt`);
    t.same(all.map((e) => e.position), [1, 2, 3].map(encodePosition), `${writer}: in wave order`);
  }
});

t.test('sqlite: appendWaves fails a malformed append like a refused one', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  const outcomes = await store.appendWaves([
    [
      { stream: '', events: [ev('A')], expected: 'any' },
      { stream: 'fine', events: [ev('A')], expected: 'no_stream' },
    ],
    [{ stream: 'later', events: [ev('B')], expected: 'no_stream' }],
    [{ stream: 'later', events: [ev('C')], expected: 0 }],
  ]);
  t.same(outcomes.map((w) => w.map((o) => o.status)), [['rejected', 'fulfilled'], ['skipped'], ['skipped']]);
  t.type((outcomes[0]?.[0] as PromiseRejectedResult).reason, TypeError, 'the reason is the validation error');
  t.same((await store.readAll()).map((e) => e.stream), ['fine'], 'only the valid append of the first wave is stored');
  const other = new Database(store.path);
  other.prepare('BEGIN IMMEDIATE').run();
  try {
    const none = await store.appendWaves([[{ stream: '', events: [ev('A')], expected: 'any' }], [{ stream: 'later', events: [ev('B')], expected: 'no_stream' }]]);
    t.same(none.map((w) => w.map((o) => o.status)), [['rejected'], ['skipped']], 'all malformed: answered without taking the write lock another connection holds');
  } finally {
    other.prepare('ROLLBACK').run();
    other.close();
  }
  await store.close();
  await t.rejects(store.appendWaves([[{ stream: 'x', events: [ev('A')], expected: 'any' }]]), StoreUnavailableError, 'refused once closed');
});

t.test('sqlite: appendWaves with maxUnit sends large waves in units, with the same outcomes', async (t) => {
  const store = openSqliteStore(freshPath());
  t.teardown(() => store.close());
  await store.append('taken', [ev('A')], 'no_stream');
  const calls: number[][] = [];
  const own = store.appendWaves.bind(store);
  const counting = Object.assign(Object.create(store) as typeof store, {
    appendWaves: (waves: Parameters<typeof own>[0]) => {
      calls.push(waves.map((w) => w.length));
      return own(waves);
    },
  });
  const ok = await appendWaves(counting, [
    ['a', 'b', 'c'].map((stream) => ({ stream, events: [ev('A')], expected: 'no_stream' as const })),
    [{ stream: 'd', events: [ev('B')], expected: 'no_stream' }],
  ], { maxUnit: 2 });
  t.same(ok.map((w) => w.map((o) => o.status)), [['fulfilled', 'fulfilled', 'fulfilled'], ['fulfilled']]);
  t.same(calls, [[2], [1], [1]], 'the first wave in units of two and one, then the second wave');
  calls.length = 0;
  const small = await appendWaves(counting, [[{ stream: 'e', events: [ev('A')], expected: 'no_stream' }], [{ stream: 'f', events: [ev('A')], expected: 'no_stream' }]], { maxUnit: 2 });
  t.same(small.map((w) => w.map((o) => o.status)), [['fulfilled'], ['fulfilled']]);
  t.same(calls, [[1, 1]], 'within the limit: one unit');
  calls.length = 0;
  const failed = await appendWaves(counting, [
    ['g', 'taken', 'h'].map((stream) => ({ stream, events: [ev('A')], expected: 'no_stream' as const })),
    [{ stream: 'i', events: [ev('B')], expected: 'no_stream' }],
  ], { maxUnit: 2 });
  t.same(failed.map((w) => w.map((o) => o.status)), [['fulfilled', 'rejected', 'fulfilled'], ['skipped']], 'a failed append in any unit stops the later waves');
  t.same(calls, [[2], [1]], 'the later wave was not sent');
  t.same((await store.readAll()).map((e) => e.stream), ['taken', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
});

t.test('sqlite: appendWaves() (the helper) never rejects for the store: a unit refused as a whole is every append rejected', async (t) => {
  const store = openSqliteStore(freshPath());
  const waves = [[{ stream: 'a', events: [ev('A')], expected: 'no_stream' as const }], [{ stream: 'b', events: [ev('B')], expected: 'no_stream' as const }]];
  for (const maxUnit of [0, -1, 1.5, Number.NaN]) await t.rejects(appendWaves(store, waves, { maxUnit }), RangeError, `maxUnit ${maxUnit} is refused`);
  t.same(await appendWaves(store, [[], []]), [[], []], 'nothing to append: nothing sent');
  await store.close();
  for (const maxUnit of [undefined, 1]) {
    const outcomes = await appendWaves(store, waves, maxUnit === undefined ? {} : { maxUnit });
    t.same(outcomes.map((w) => w.map((o) => o.status)), maxUnit === undefined ? [['rejected'], ['rejected']] : [['rejected'], ['skipped']], `closed store, maxUnit ${maxUnit}`);
    t.type((outcomes[0]?.[0] as PromiseRejectedResult).reason, StoreUnavailableError);
  }
});

t.test('sqlite: a unit of waves is never split across commits', async (t) => {
  const store = openSqliteStore(freshPath(), { maxAppendsPerCommit: 2, writer: 'inline' });
  t.teardown(() => store.close());
  let commits = 0;
  store.onCommitted(() => commits++);
  const big = store.appendWaves([
    [{ stream: 'k1', events: [ev('A')], expected: 'no_stream' }, { stream: 'k2', events: [ev('A')], expected: 'no_stream' }],
    [{ stream: 'p1', events: [ev('B')], expected: 'no_stream' }],
  ]);
  const small = store.append('other', [ev('C')], 'no_stream');
  await Promise.all([big, small]);
  const all = await store.readAll();
  const stamp = (s: string) => all.find((e) => e.stream === s)?.recordedAt;
  t.ok(stamp('k1') === stamp('p1') && stamp('k2') === stamp('p1'), 'the three appends of the unit share one recordedAt');
  t.equal(commits, 2, 'the unit of three appends in one commit (over the limit of two), the next append in another');
  t.same(all.map((e) => e.stream), ['k1', 'k2', 'p1', 'other'], 'in order');
});

t.test('sqlite: group commit splits at maxAppendsPerCommit', async (t) => {
  const store = openSqliteStore(freshPath(), { maxAppendsPerCommit: 2 });
  t.teardown(() => store.close());
  const results = await Promise.all(Array.from({ length: 7 }, (_, i) => store.append(`s${i}`, [ev('A')], 'no_stream')));
  t.same(results.map((r) => r.events[0]?.position), [1, 2, 3, 4, 5, 6, 7].map(encodePosition));
});

t.test('sqlite: canonical JSON', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [{ d: 1, c: null }] }), '{"a":[{"c":null,"d":1}],"b":1}');
  t.equal(canonicalJson(undefined), 'null');
  t.equal(canonicalJson('s'), '"s"');
});

t.test('sqlite: refuses a file written by a newer schema', async (t) => {
  const path = freshPath();
  const db = new Database(path);
  db.pragma('user_version = 99');
  db.close();
  t.throws(() => openSqliteStore(path), StoreUnavailableError);
});

t.test('sqlite: a unit crosses to the writer thread as one text, every field as it was', async (t) => {
  const { encodeUnit, decodeUnit } = await import('../src/store/sqlite-writer-protocol.js');
  // Texts that look like the format's own marks (digits, `:`, `,`, `n`), non-ASCII and astral
  // characters (lengths are UTF-16 code units), and every kind of expectation.
  const ev = (id: string, data: string) => ({ id, type: 'T:1,', data, metadata: JSON.stringify({ note: 'n5,3:abc', emoji: '\u{1F600}é' }) });
  const waves = [
    [
      { stream: 'person-12:34,', expected: 'no_stream' as const, events: [ev('1:x', JSON.stringify({ name: 'Zoë 😀', n: 12 })), ev('id-2', 'null')] },
      { stream: 'n', expected: 0, events: [ev('a', '"x"')] },
    ],
    [],
    [
      { stream: 'séance-\u{1F600}', expected: 41, events: [] },
      { stream: 's', expected: 'any' as const, events: [ev('b', '{}')] },
      { stream: '10:', expected: 'stream_exists' as const, events: [ev('c', '[1,2]')] },
    ],
  ];
  t.same(decodeUnit(encodeUnit(waves)), waves);
  t.same(decodeUnit(encodeUnit([])), []);
});

t.test('sqlite: a unit crosses to the writer thread as bytes, every field as it was; a lone surrogate keeps it text', async (t) => {
  const { encodeUnitBytes, decodeUnitBytes } = await import('../src/store/sqlite-writer-protocol.js');
  const ev = (id: string, data: string) => ({ id, type: 'T:1,', data, metadata: JSON.stringify({ note: 'n5,3:abc', emoji: '\u{1F600}é' }) });
  // Non-ASCII and astral texts (UTF-8 longer than the text), one long enough to make the buffer grow, every kind of expectation.
  const long = JSON.stringify({ text: 'ü€😀'.repeat(5_000) });
  const waves = [
    [
      { stream: 'person-12:34,', expected: 'no_stream' as const, events: [ev('1:x', JSON.stringify({ name: 'Zoë 😀', n: 12 })), ev('id-2', 'null'), ev('id-3', long)] },
      { stream: 'n', expected: 0, events: [ev('a', '"x"')] },
    ],
    [],
    [
      { stream: 'séance-\u{1F600}', expected: 2 ** 40, events: [] },
      { stream: 's', expected: 'any' as const, events: [ev('b', '{}'), ev('', '')] },
      { stream: '10:', expected: 'stream_exists' as const, events: [ev('c', '[1,2]')] },
    ],
  ];
  const bytes = encodeUnitBytes(waves);
  t.ok(bytes);
  t.same(decodeUnitBytes(bytes as Uint8Array), waves);
  // A view that does not start at its buffer's start (as a message may hand it) reads the same.
  const shifted = new Uint8Array((bytes as Uint8Array).length + 3);
  shifted.set(bytes as Uint8Array, 3);
  t.same(decodeUnitBytes(shifted.subarray(3)), waves);
  t.same(decodeUnitBytes(encodeUnitBytes([]) as Uint8Array), []);
  // UTF-8 would turn a lone surrogate into U+FFFD: such a unit goes as encodeUnit's text.
  t.equal(encodeUnitBytes([[{ stream: 'person-\ud800', expected: 'any', events: [] }]]), null);
  t.equal(encodeUnitBytes([[{ stream: 's', expected: 'any', events: [ev('\udc00', '{}')] }]]), null);
});

t.test('sqlite: a stream named with a lone surrogate is stored through the text unit, as before', async (t) => {
  const store = openSqliteStore(freshPath(), { writer: 'thread' });
  t.teardown(() => store.close());
  const stream = 'person-\ud800x';
  const r = await store.append(stream, [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: { a: 1 }, metadata: {} }], 'no_stream');
  t.equal(r.nextRevision, 0);
  t.equal((await store.readStream(stream)).length, 1);
});
