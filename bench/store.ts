/**
 * Throughput of the embedded store on this machine: `npm run bench:store`.
 *
 * Phases (all on one fresh file in a temp dir, removed at the end):
 *   1. single-event appends, sequential and awaited: every one is its own COMMIT (fsync);
 *   2. single-event appends from 32 concurrent callers to different streams: group commit;
 *   3. appends of 100 events, sequential and awaited, up to >= 1,000,000 events in the file;
 *   4. readAll from the start over everything, in pages of 10,000;
 *   5. a subscription catching up from the start over everything.
 * Progress goes to stderr, results to stdout.
 *
 * Environment: BENCH_EVENTS (default 1,000,000) is the number of events phase 3 appends.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, NewEvent, Position } from '../src/store/port.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const BATCH_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const SINGLE_APPENDS = 20_000;
const CONCURRENT_CALLERS = 32;
const CONCURRENT_APPENDS = 32_000;
const BATCH_SIZE = 100;
const READ_PAGE = 10_000;

/** A fact-sized event: ~300 bytes of data, ~150 of metadata. */
function fact(i: number): NewEvent {
  return {
    id: randomUUID(),
    type: i % 5 === 0 ? 'PersonJoinedOrganisation' : 'FactAsserted',
    data: {
      factId: randomUUID(),
      subject: { kind: 'person', id: `person-${i % 10_000}` },
      predicate: 'memberOf',
      object: { kind: 'organisation', id: `org-${i % 97}` },
      validFrom: { year: 1990 + (i % 30), month: (i % 12) + 1 },
      validTo: null,
      source: { title: 'Annual report', page: i % 300 },
      note: 'Recorded during the benchmark; the text is here to give the event a realistic size.',
    },
    metadata: { correlationId: randomUUID(), actor: 'bench', schemaVersion: 1, origin: 'bench/store.ts' },
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'annals-bench-'));
  const path = join(dir, 'events.db');
  console.log(
    `bench:store on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, file ${path}`,
  );
  const store = openSqliteStore(path);
  try {
    await singleAppends(store);
    await concurrentAppends(store);
    await batchAppends(store);
    const total = SINGLE_APPENDS + CONCURRENT_APPENDS + Math.ceil(BATCH_EVENTS / BATCH_SIZE) * BATCH_SIZE;
    console.log(`file: ${total.toLocaleString('en-US')} events, ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB`);
    await readAll(store, total);
    await catchUp(store, total);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
