/**
 * The events file's writer alone at two WAL checkpoint intervals (#19, s39-sg): CPU an append
 * over commits of a group of single facts, in alternating slices in one process.
 *
 * Two fresh events files (the real schema, sealed rows, `configureConnection` as the store
 * opens them), each written by a `GroupWriter` (the store writer's group commit:
 * BEGIN IMMEDIATE … COMMIT with its WAL fsync, synchronous=FULL) with bench:record's mix in
 * commits of BENCH_GROUP facts (default 16): a PersonRegistered (its key reservation on a
 * stream of its own, with an id derived by hash, then the registration on the person's stream)
 * or a DelegateAttended on one of 32 session streams. File A checkpoints every
 * BENCH_A pages (default 1,000: SQLite's default, the events file's before s39-sg), file B every
 * BENCH_B (default 4,000); slices alternate A B B A … so that the machine's drift falls on both.
 * Prints µs of CPU (user + system, this process: the writer runs on this thread, checkpoints
 * and fsyncs included) an append per slice, and the medians.
 *
 * Environment: BENCH_GROUP, BENCH_SLICE (commits a slice, default 300), BENCH_SLICES (default
 * 8 of each), BENCH_WARM (commits on each file first, unmeasured, default 600: past the first
 * checkpoints), BENCH_A, BENCH_B.
 */
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { derivedEventId, ulidToUuid } from '../events/ids.js';
import { configureConnection, migrate } from '../src/store/sqlite-schema.js';
import { Sealer } from '../src/store/sqlite-seal.js';
import { GroupWriter, type AppendOutcome, type PendingAppend } from '../src/store/sqlite-writer.js';

const GROUP = Number(process.env['BENCH_GROUP'] ?? 16);
const SLICE = Number(process.env['BENCH_SLICE'] ?? 300);
const SLICES = Number(process.env['BENCH_SLICES'] ?? 8);
const WARM = Number(process.env['BENCH_WARM'] ?? 600);
const PAGES_A = Number(process.env['BENCH_A'] ?? 1000);
const PAGES_B = Number(process.env['BENCH_B'] ?? 4000);
const SESSIONS = 32;

const ulid = monotonicFactory();

interface Subject {
  name: string;
  writer: GroupWriter;
  db: Database.Database;
  n: number;
}

function subject(dir: string, name: string, pages: number): Subject {
  const db = new Database(join(dir, `${name}.db`));
  configureConnection(db, { busyTimeoutMs: 5000, cacheSizeKiB: 65536 });
  db.pragma(`wal_autocheckpoint = ${pages}`);
  const key = randomBytes(32);
  const logId = migrate(db, key, () => ulid());
  const writer = new GroupWriter(db, { maxAppendsPerCommit: 1000, onCommitted: () => undefined, sealer: new Sealer(key, logId), onStored: () => undefined });
  return { name, writer, db, n: 0 };
}

const sessions = Array.from({ length: SESSIONS }, () => ulid());
const source = { title: 'Benchmark', publisher: 'Annals' };

/** Every append of the mix is stored: a refusal would measure another path. */
function check(outcomes: AppendOutcome[][]): void {
  for (const wave of outcomes) for (const o of wave) if (o === null || !o.ok) throw new Error(`an append was not stored: ${String(o?.ok === false ? o.error : 'skipped')}`);
}

/** One commit of GROUP facts of the mix, as the recorder would hand them (one unit a fact). */
function commit(s: Subject): number {
  let appends = 0;
  for (let i = 0; i < GROUP; i++) {
    const k = s.n++;
    const factId = ulid();
    const metadata = JSON.stringify({ factId, source, recordedBy: 'recorder:01234567', correlationId: `req-${k}`, schemaVersion: 1 });
    let waves: PendingAppend[][];
    if (k % 2 === 0) {
      const key = `bench-c${k % 32}-p${k}`;
      const data = JSON.stringify({ key, name: `Person ${k % 32}/${k}`, gender: 'female', birthDate: '1970-01-01', nationality: 'FR' });
      waves = [
        [{ stream: `key-person-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`, expected: 'no_stream', events: [{ id: derivedEventId(factId, 'key'), type: 'KeyReserved', data: JSON.stringify({ key, kind: 'person', id: factId }), metadata }] }],
        [{ stream: `person-${factId}`, expected: 'no_stream', events: [{ id: ulidToUuid(factId), type: 'PersonRegistered', data, metadata }] }],
      ];
      appends += 2;
    } else {
      const session = sessions[k % SESSIONS] as string;
      const data = JSON.stringify({ session, person: ulid(), representing: sessions[0], role: 'delegate' });
      waves = [[{ stream: `session-${session}`, expected: 'any', events: [{ id: ulidToUuid(factId), type: 'DelegateAttended', data, metadata }] }]];
      appends += 1;
    }
    s.writer.enqueue({ waves, resolve: (outcomes) => check(outcomes), reject: (e) => { throw e; } });
  }
  s.writer.flush();
  return appends;
}

function slice(s: Subject, commits: number): number {
  const t0 = process.cpuUsage();
  let appends = 0;
  for (let c = 0; c < commits; c++) appends += commit(s);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / appends;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const dir = mkdtempSync(join(tmpdir(), 'annals-store-checkpoint-'));
try {
  const a = subject(dir, `a-${PAGES_A}`, PAGES_A);
  const b = subject(dir, `b-${PAGES_B}`, PAGES_B);
  process.stderr.write(`warming: ${WARM} commits of ${GROUP} facts on each (load ${loadavg()[0]?.toFixed(1)})\n`);
  slice(a, WARM);
  slice(b, WARM);
  const got: Record<string, number[]> = { [a.name]: [], [b.name]: [] };
  for (let i = 0; i < SLICES; i++) {
    const order = i % 2 === 0 ? [a, b] : [b, a];
    for (const s of order) {
      const us = slice(s, SLICE);
      (got[s.name] as number[]).push(us);
      process.stdout.write(`slice ${i + 1} ${s.name} pages: ${us.toFixed(1)} µs of CPU an append (load ${loadavg()[0]?.toFixed(1)})\n`);
    }
  }
  for (const s of [a, b]) process.stdout.write(`${s.name}: median ${median(got[s.name] as number[]).toFixed(1)} µs an append over ${SLICES} slices of ${SLICE} commits of ${GROUP} facts\n`);
  a.db.close();
  b.db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
