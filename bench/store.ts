/**
 * Throughput of the embedded store on this machine: `npm run bench:store`.
 *
 * Phases (all on one fresh file in a temp dir, removed at the end):
 *   0. baselines: plain better-sqlite3 with the same schema and pragmas on a second file in
 *      the same directory (what the disk and SQLite allow right now, without the store);
 *   1. single-event appends, sequential and awaited: every one is its own COMMIT (fsync);
 *   2. single-event appends from 32 concurrent callers to different streams: group commit;
 *   3. appends of 100 events, sequential and awaited, up to >= 1,000,000 events in the file;
 *   4. readAll from the start over everything, in pages of 10,000;
 *   5. a subscription catching up from the start over everything,
 *   6. the seal's cost: CPU time per event of appends of 100 to a sealed and an unsealed file,
 *      in alternating slices of one run, and of the HMAC alone,
 * with the same read as plain better-sqlite3 rows just before 4, for comparison. The store
 * seals every row with a key, as the service does (src/store/sqlite-seal.ts).
 * Event ids are ULIDs written as UUIDs, as facts' are (events/ids.ts): time-ordered, so the
 * id index grows at its end like in production; random v4 UUIDs would measure a worse case.
 * Progress goes to stderr, results to stdout.
 *
 * Environment: BENCH_EVENTS (default 1,000,000) is the number of events phase 3 appends;
 * BENCH_SINGLE (default 20,000) the number of sequential single-event appends; BENCH_ONLY=seal
 * runs the baselines and phase 6 alone.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { ulidToUuid } from '../events/ids.js';
import type { EventStore, NewEvent, Position } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { Sealer } from '../src/store/sqlite-seal.js';
import { randomBytes } from 'node:crypto';

const BATCH_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SINGLE_APPENDS = Number(process.env.BENCH_SINGLE ?? 20_000);
const CONCURRENT_CALLERS = 32;
const CONCURRENT_APPENDS = 32_000;
const BATCH_SIZE = 100;
/** Pages of 1,000: larger pages measured slower (they outgrow V8's young generation). */
const READ_PAGE = 1_000;
const BASELINE_MS = 3_000;

const ulid = monotonicFactory();
const newId = (): string => ulidToUuid(ulid());

/** A fact-sized event: ~300 bytes of data, ~150 of metadata. */
function fact(i: number): NewEvent {
  return {
    id: newId(),
    type: i % 5 === 0 ? 'PersonJoinedOrganisation' : 'FactAsserted',
    data: {
      factId: ulid(),
      subject: { kind: 'person', id: `person-${i % 10_000}` },
      predicate: 'memberOf',
      object: { kind: 'organisation', id: `org-${i % 97}` },
      validFrom: { year: 1990 + (i % 30), month: (i % 12) + 1 },
      validTo: null,
      source: { title: 'Annual report', page: i % 300 },
      note: 'Recorded during the benchmark; the text is here to give the event a realistic size.',
    },
    metadata: { correlationId: ulid(), actor: 'bench', schemaVersion: 1, origin: 'bench/store.ts' },
  };
}

function progress(msg: string): void {
  process.stderr.write(`  .. ${msg}\n`);
}

function rate(n: number, ms: number): string {
  return Math.round((n * 1000) / ms).toLocaleString('en-US');
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await f();
  return { ms: performance.now() - start, value };
}

async function singleAppends(store: EventStore): Promise<void> {
  const { ms } = await timed(async () => {
    for (let i = 0; i < SINGLE_APPENDS; i++) {
      await store.append(`single-${i % 1000}`, [fact(i)], 'any');
      if ((i + 1) % 5000 === 0) progress(`single appends: ${i + 1}/${SINGLE_APPENDS}`);
    }
  });
  console.log(`single-event appends, sequential (1 commit each): ${rate(SINGLE_APPENDS, ms)} appends/s (${SINGLE_APPENDS} in ${ms.toFixed(0)} ms)`);
}

async function concurrentAppends(store: EventStore): Promise<void> {
  const perCaller = CONCURRENT_APPENDS / CONCURRENT_CALLERS;
  const { ms } = await timed(() =>
    Promise.all(
      Array.from({ length: CONCURRENT_CALLERS }, async (_, c) => {
        for (let i = 0; i < perCaller; i++) {
          // Each caller owns its stream and states the exact revision, like a decider would.
          await store.append(`caller-${c}`, [fact(i)], i === 0 ? 'no_stream' : i - 1);
        }
      }),
    ),
  );
  console.log(
    `single-event appends, ${CONCURRENT_CALLERS} concurrent callers (group commit): ${rate(CONCURRENT_APPENDS, ms)} appends/s (${CONCURRENT_APPENDS} in ${ms.toFixed(0)} ms)`,
  );
}

async function batchAppends(store: EventStore): Promise<void> {
  const appends = Math.ceil(BATCH_EVENTS / BATCH_SIZE);
  let i = 0;
  const { ms } = await timed(async () => {
    for (let a = 0; a < appends; a++) {
      const events = new Array<NewEvent>(BATCH_SIZE);
      for (let j = 0; j < BATCH_SIZE; j++) events[j] = fact(i++);
      await store.append(`batch-${a % 5000}`, events, 'any');
      if ((a + 1) % 1000 === 0) progress(`batch appends: ${((a + 1) * BATCH_SIZE).toLocaleString('en-US')}/${(appends * BATCH_SIZE).toLocaleString('en-US')} events`);
    }
  });
  console.log(
    `appends of ${BATCH_SIZE} events, sequential: ${rate(appends * BATCH_SIZE, ms)} events/s (${rate(appends, ms)} appends/s; ${(appends * BATCH_SIZE).toLocaleString('en-US')} events in ${ms.toFixed(0)} ms)`,
  );
}

async function readAll(store: EventStore, total: number): Promise<void> {
  let n = 0;
  const { ms } = await timed(async () => {
    let after: Position | undefined;
    for (;;) {
      const page = await store.readAll(after === undefined ? { limit: READ_PAGE } : { after, limit: READ_PAGE });
      if (page.length === 0) break;
      n += page.length;
      after = page[page.length - 1]?.position;
      if (n % 200_000 === 0) progress(`readAll: ${n.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`);
    }
  });
  console.log(`readAll from the start, pages of ${READ_PAGE.toLocaleString('en-US')}: ${rate(n, ms)} events/s (${n.toLocaleString('en-US')} events in ${ms.toFixed(0)} ms)`);
}

async function catchUp(store: EventStore, total: number): Promise<void> {
  let n = 0;
  const { ms } = await timed(async () => {
    const sub = store.subscribe();
    for await (const e of sub) {
      n++;
      if (n % 200_000 === 0) progress(`subscription: ${n.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`);
      if (n === total) {
        void e;
        break;
      }
    }
    await sub.close();
  });
  console.log(`subscription catch-up from the start: ${rate(n, ms)} events/s (${n.toLocaleString('en-US')} events in ${ms.toFixed(0)} ms)`);
}

/** Plain better-sqlite3, same schema and pragmas, no store: the ceiling for phases 1 and 3. */
async function writeBaselines(dir: string): Promise<void> {
  const path = join(dir, 'baseline.db');
  await openSqliteStore(path).close(); // creates the schema
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const insert = db.prepare('INSERT INTO events (position, id, stream, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  let position = 0;
  const row = (): void => {
    position++;
    const e = fact(position);
    insert.run(position, e.id, `s-${position}`, 0, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), new Date().toISOString());
  };
  let n = 0;
  let start = performance.now();
  while (performance.now() - start < BASELINE_MS) {
    row();
    n++;
  }
  const single = rate(n, performance.now() - start);
  const tx100 = db.transaction(() => {
    for (let i = 0; i < BATCH_SIZE; i++) row();
  });
  n = 0;
  start = performance.now();
  while (performance.now() - start < BASELINE_MS) {
    tx100();
    n += BATCH_SIZE;
  }
  console.log(`baseline, plain better-sqlite3 (same schema, FULL): ${single} single-row commits/s, ${rate(n, performance.now() - start)} rows/s in transactions of ${BATCH_SIZE}`);
  db.close();
}

/** Plain better-sqlite3 rows over the store's file: the ceiling for phases 4 and 5. */
function readBaseline(path: string): void {
  const db = new Database(path, { readonly: true });
  const page = db
    .prepare<[number, number], [number, ...unknown[]]>('SELECT position, id, stream, revision, type, data, metadata, recorded_at FROM events WHERE position > ? ORDER BY position LIMIT ?')
    .raw();
  for (const parse of [false, true]) {
    let n = 0;
    let after = 0;
    const start = performance.now();
    for (;;) {
      const rows = page.all(after, READ_PAGE);
      if (rows.length === 0) break;
      if (parse) {
        for (const r of rows) {
          JSON.parse(r[5] as string);
          JSON.parse(r[6] as string);
        }
      }
      n += rows.length;
      after = (rows[rows.length - 1] as [number])[0];
    }
    console.log(`baseline, plain better-sqlite3 raw rows${parse ? ' + JSON.parse of data and metadata' : ''}: ${rate(n, performance.now() - start)} rows/s`);
  }
  db.close();
}

/**
 * What sealing costs a write: CPU time (all threads of the process: the writer thread does the
 * work) per event appended in batches of 100, sealed and unsealed files in alternating slices
 * so machine load falls on both alike; and the HMAC alone over events of this size.
 */
async function sealCost(dir: string, key: Buffer): Promise<void> {
  const sealed = openSqliteStore(join(dir, 'sealed.db'), { sealKey: key });
  const plain = openSqliteStore(join(dir, 'plain.db'));
  const cpu = { sealed: 0, plain: 0 };
  const events = { sealed: 0, plain: 0 };
  let i = 0;
  try {
    for (let slice = 0; slice < 20; slice++) {
      for (const which of slice % 2 === 0 ? (['sealed', 'plain'] as const) : (['plain', 'sealed'] as const)) {
        const store = which === 'sealed' ? sealed : plain;
        const before = process.cpuUsage();
        for (let a = 0; a < 50; a++) {
          const batch = new Array<NewEvent>(BATCH_SIZE);
          for (let j = 0; j < BATCH_SIZE; j++) batch[j] = fact(i++);
          await store.append(`seal-${a % 500}`, batch, 'any');
        }
        const used = process.cpuUsage(before);
        cpu[which] += used.user + used.system;
        events[which] += 50 * BATCH_SIZE;
      }
    }
  } finally {
    await sealed.close();
    await plain.close();
  }
  const per = (w: 'sealed' | 'plain') => cpu[w] / events[w];
  const sealer = new Sealer(key, 'bench-log');
  const rows = Array.from({ length: 10_000 }, (_, k) => {
    const e = fact(k);
    return [k + 1, e.id, `s-${k}`, 0, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), new Date().toISOString()] as const;
  });
  const before = process.cpuUsage();
  for (let r = 0; r < 10; r++) for (const row of rows) sealer.seal(...row);
  const hmac = process.cpuUsage(before);
  console.log(
    `seal cost, appends of ${BATCH_SIZE} in alternating slices: ${per('sealed').toFixed(1)} µs CPU/event sealed, ${per('plain').toFixed(1)} unsealed ` +
      `(${(per('sealed') - per('plain')).toFixed(1)} µs more; ${events.sealed.toLocaleString('en-US')} events each); the HMAC alone: ${((hmac.user + hmac.system) / (rows.length * 10)).toFixed(2)} µs/event`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'annals-bench-'));
  const path = join(dir, 'events.db');
  console.log(
    `bench:store on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, file ${path}`,
  );
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  await writeBaselines(dir);
  const key = randomBytes(32);
  if (process.env.BENCH_ONLY === 'seal') {
    await sealCost(dir, key);
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const store = openSqliteStore(path, { sealKey: key });
  try {
    await singleAppends(store);
    await concurrentAppends(store);
    await batchAppends(store);
    const total = SINGLE_APPENDS + CONCURRENT_APPENDS + Math.ceil(BATCH_EVENTS / BATCH_SIZE) * BATCH_SIZE;
    console.log(`file: ${total.toLocaleString('en-US')} events, ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB`);
    // The baseline right before the store's reads, so both see the same machine load.
    readBaseline(path);
    await readAll(store, total);
    await catchUp(store, total);
    await sealCost(dir, key);
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
