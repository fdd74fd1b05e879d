/**
 * The read models' apply alone, CPU per event in alternating slices: `npm run bench:apply-cpu`.
 * A live read-model file (WAL, as the read-model thread opens it) applies bench:record's mix
 * (a PersonRegistered with a key, then a DelegateAttended naming that person at one of 32
 * sessions) in commits of BENCH_COMMIT events (default 16, a group of single facts; 10,000 is
 * a batch's), through `ReadModelWriter.applyBatch`, as the read-model thread does. With
 * BENCH_ROOT=<another worktree> the code of that worktree and of this one are measured in
 * turn, A B A B…, each on a file of its own, in one process (contention disturbs alternating
 * slices less than separate runs). BENCH_PAGE_KIB_A, BENCH_PAGE_KIB_B: each one's file made with that page size
 * (ANNALS_READ_PAGE_KIB; BENCH_ROOT may be this worktree). BENCH_MIX=talks: the second event talks on the sidelines of
 * the session (no `on`: dated by the session) instead; BENCH_MIX=considered: a document considered
 * at it (#19, session 32: neither has a timeline row any more); BENCH_MIX=adopted: a document
 * adopted at it (its entity made by the adoption; the adoption's stored item, documents@8). Prints µs of CPU (user + system, this process) an event
 * per slice and the median of each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import type { LogEvent } from '../projections/db.js';
import { applyMix, CLIENTS, mixOf } from './apply-mix.js';

const here = resolve(new URL('..', import.meta.url).pathname);
const other = process.env['BENCH_ROOT'] ? resolve(process.env['BENCH_ROOT']) : null;
const COMMIT = Number(process.env['BENCH_COMMIT'] ?? 16);
const SLICE = Number(process.env['BENCH_SLICE'] ?? 4_000);
const SLICES = Number(process.env['BENCH_SLICES'] ?? 8);
const MIX = mixOf(process.env['BENCH_MIX']);
const log = pino({ level: 'silent' });
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Subject {
  name: string;
  apply: (events: readonly LogEvent[]) => void;
  close: () => void;
}

async function subject(root: string, name: string, dir: string): Promise<Subject> {
  const { openDb, ReadModelWriter } = (await import(join(root, 'projections/db.ts'))) as typeof import('../projections/db.js');
  const path = join(dir, `${name}.db`);
  // BENCH_PAGE_KIB_A / _B: that subject's file made with this page size (ANNALS_READ_PAGE_KIB), e.g. BENCH_ROOT this worktree too.
  const kib = process.env[name.startsWith('A') ? 'BENCH_PAGE_KIB_A' : 'BENCH_PAGE_KIB_B'];
  const before = process.env['ANNALS_READ_PAGE_KIB'];
  if (kib !== undefined) process.env['ANNALS_READ_PAGE_KIB'] = kib;
  const db = openDb(path);
  if (before === undefined) delete process.env['ANNALS_READ_PAGE_KIB'];
  else process.env['ANNALS_READ_PAGE_KIB'] = before;
  console.log(`${name}: page size ${String(db.pragma('page_size', { simple: true }))} B`);
  const w = new ReadModelWriter(db, log);
  return {
    name,
    apply: (events) => w.applyBatch(events),
    close: () => db.close(),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'annals-bench-apply-'));
try {
  const subjects = [...(other ? [await subject(other, 'A (BENCH_ROOT)', dir)] : []), await subject(here, other ? 'B (this worktree)' : 'this worktree', dir)];
  const feeds = subjects.map(() => applyMix(MIX));
  const take = (k: number, n: number): LogEvent[] => Array.from({ length: n }, () => (feeds[k] as Generator<LogEvent>).next().value as LogEvent);
  const slice = (k: number, n: number): number => {
    const s = subjects[k] as Subject;
    const batches = Array.from({ length: Math.ceil(n / COMMIT) }, () => take(k, COMMIT));
    const t0 = process.cpuUsage();
    for (const b of batches) s.apply(b);
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / (batches.length * COMMIT);
  };
  console.log(`read models' apply, CPU an event, mix ${MIX}, commits of ${COMMIT} events, slices of ${SLICE}; load average ${load()}`);
  subjects.forEach((_, k) => {
    take(k, 0);
    (subjects[k] as Subject).apply(take(k, 1 + CLIENTS));
    slice(k, SLICE);
  });
  const results = subjects.map(() => [] as number[]);
  for (let i = 0; i < SLICES; i++) {
    for (let k = 0; k < subjects.length; k++) {
      const j = i % 2 === 0 ? k : subjects.length - 1 - k;
      (results[j] as number[]).push(slice(j, SLICE));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  subjects.forEach((s, k) => {
    const r = results[k] as number[];
    console.log(`${s.name}: ${r.map((x) => x.toFixed(1)).join(', ')} µs an event; median ${median(r).toFixed(1)}`);
  });
  console.log(`load average at the end ${load()}`);
  for (const s of subjects) s.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
