/**
 * The embedded store, what only SQLite promises (continued from test/store-sqlite.test.ts, split
 * to keep each file well inside tap's per-file timeout): another connection's commits, a slow
 * subscriber, type filters read in windows, appendWaves in one transaction and in units, group
 * commit's limit, the writer's protocol and the schema version.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import { StoreUnavailableError } from '../src/store/errors.js';
import type { NewEvent, StoredEvent } from '../src/store/port.js';
import { encodePosition } from '../src/store/positions.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { canonicalJson } from '../src/store/sqlite-rows.js';
import { appendWaves } from '../src/store/waves.js';
import { ev, sqliteFiles } from './fixtures/store-files.js';

// Writer threads (each loading TypeScript) make this file's time follow the machine's load: 240 s
// (.taprc) was crossed at a load average of 15-20 while this and the contract were one file; a
// hang is still caught at 600 s.
t.setTimeout(600_000);

const freshPath = sqliteFiles(t);

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
  // The subscriber is stalled after one event; appends still commit. The bound is against a
  // hang, not a speed: appends blocked behind the stalled subscriber would never finish, while 20
  // commits (an fsync each) may take seconds on a loaded machine whose disk is shared (it was 5 s).
  const started = Date.now();
  for (let i = 0; i < 20; i++) await store.append('b', [ev('B')], 'any');
  t.ok(Date.now() - started < 60_000, 'appends not blocked');
  let n = 1;
  while (n < 120) {
    const r = await it.next();
    if (r.done === true) break;
    n++;
  }
  t.equal(n, 120, 'all events delivered once the subscriber resumes');
  await sub.close();
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

t.test('sqlite: a unit\'s outcomes cross back packed, each made again exactly as the writer gave it', async (t) => {
  const { packOutcomes, unpackOutcomes, storedAny } = await import('../src/store/sqlite-writer-protocol.js');
  const { WrongExpectedRevisionError, DuplicateEventError } = await import('../src/store/errors.js');
  const e = (id: string) => ({ id, type: 'T', data: '{}', metadata: '{}' });
  const at = '2026-12-07T01:00:00.000Z';
  const got = (id: string, revision: number, position: number, recordedAt = at) => ({ id, revision, position: encodePosition(position), recordedAt });
  const waves = [
    [
      { stream: 'key-a', expected: 'no_stream' as const, events: [e('k1')] },
      { stream: 'person-a', expected: 'any' as const, events: [e('p1'), e('p2'), e('p3')] },
    ],
    [
      // An idempotent retry's originals: another recordedAt, positions apart.
      { stream: 'person-b', expected: 0, events: [e('r1'), e('r2')] },
      { stream: 'person-c', expected: 3, events: [e('x1')] },
      { stream: 'person-d', expected: 'any' as const, events: [] },
      { stream: 'person-e', expected: 'any' as const, events: [e('n1')] },
      { stream: 'person-f', expected: 'any' as const, events: [e('d1')] },
      { stream: 'person-g', expected: 7, events: [e('g1'), e('g2')] },
    ],
  ];
  const outcomes = [
    [
      { ok: true as const, value: { stream: 'key-a', nextRevision: 0, events: [got('k1', 0, 41)] } },
      { ok: true as const, value: { stream: 'person-a', nextRevision: 5, events: [got('p1', 3, 42), got('p2', 4, 43), got('p3', 5, 44)] } },
    ],
    [
      { ok: true as const, value: { stream: 'person-b', nextRevision: 1, events: [got('r1', 0, 7, '2026-01-01T00:00:00.000Z'), got('r2', 1, 9, '2026-01-01T00:00:00.000Z')] } },
      { ok: false as const, error: new WrongExpectedRevisionError('person-c', '3', '4') },
      { ok: true as const, value: { stream: 'person-d', nextRevision: -1, events: [] } },
      null,
      { ok: false as const, error: new DuplicateEventError('person-f', 'd1') },
      { ok: true as const, value: { stream: 'person-g', nextRevision: 9, events: [got('g1', 8, 45), got('g2', 9, 46)] } },
    ],
  ];
  const packed = structuredClone(packOutcomes(outcomes, waves));
  t.equal(packed.other.length, 5, 'the three appends stored as sent go as numbers, the others as they are');
  t.equal(packed.recordedAt, at);
  const back = unpackOutcomes(packed, waves);
  t.same(back, outcomes);
  t.equal(JSON.stringify(back), JSON.stringify(outcomes), 'the same members in the same order');
  const errors = back[1] as { ok: boolean; error?: unknown }[];
  t.ok(errors[1]?.error instanceof WrongExpectedRevisionError, 'errors come back as their classes');
  t.ok(errors[4]?.error instanceof DuplicateEventError);
  t.ok(storedAny(packed));
  // Nothing stored: a refusal and a skipped append.
  const none = packOutcomes([[{ ok: false, error: new WrongExpectedRevisionError('s', '0', '1') }, null]], [[{ stream: 's', expected: 0, events: [e('a')] }, { stream: 't', expected: 0, events: [e('b')] }]]);
  t.notOk(storedAny(none));
  t.equal(none.recordedAt, '');
  // A retry found among fresh appends: the same recordedAt but a revision apart is not packed.
  const odd = [[{ ok: true as const, value: { stream: 's', nextRevision: 4, events: [got('a', 2, 5), got('b', 4, 6)] } }]];
  const oddWaves = [[{ stream: 's', expected: 'any' as const, events: [e('a'), e('b')] }]];
  t.equal(packOutcomes(odd, oddWaves).other.length, 1);
  t.same(unpackOutcomes(structuredClone(packOutcomes(odd, oddWaves)), oddWaves), odd);
});

t.test('sqlite: a stream named with a lone surrogate is stored through the text unit, as before', async (t) => {
  const store = openSqliteStore(freshPath(), { writer: 'thread' });
  t.teardown(() => store.close());
  const stream = 'person-\ud800x';
  const r = await store.append(stream, [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: { a: 1 }, metadata: {} }], 'no_stream');
  t.equal(r.nextRevision, 0);
  t.equal((await store.readStream(stream)).length, 1);
});
