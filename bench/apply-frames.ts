/**
 * WAL frames a commit of the read models' live apply, by table or index: `node --import tsx
 * bench/apply-frames.ts`. Applies bench:record's mix (bench/apply-mix.ts) to a fresh live
 * read-model file in commits of BENCH_COMMIT events (default 16, a group of single facts), first
 * BENCH_WARM events (default 20,000) unmeasured, then, with automatic checkpoints off,
 * BENCH_COMMITS commits (default 200), and reads the WAL's frame headers: how many frames a
 * commit wrote, and whose pages they were (dbstat after a checkpoint). Each frame is a 4 KiB
 * page written (two `pwrite` calls) at the COMMIT and again at a checkpoint, so fewer frames
 * a commit is less of the store writer's I/O (s39-sg: ~37% of its CPU). Deterministic: the same
 * events and the same file every run, whatever the load. With BENCH_ROOT=<another worktree>
 * that worktree's code is measured too, first.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import type { LogEvent } from '../projections/db.js';
import { applyMix } from './apply-mix.js';

const COMMIT = Number(process.env['BENCH_COMMIT'] ?? 16);
const WARM = Number(process.env['BENCH_WARM'] ?? 20_000);
const COMMITS = Number(process.env['BENCH_COMMITS'] ?? 200);
const here = resolve(new URL('..', import.meta.url).pathname);
const roots = [...(process.env['BENCH_ROOT'] ? [resolve(process.env['BENCH_ROOT'])] : []), here];
const dir = mkdtempSync(join(tmpdir(), 'annals-apply-frames-'));

async function measure(root: string, name: string): Promise<void> {
  const { openDb, ReadModelWriter } = (await import(join(root, 'projections/db.ts'))) as typeof import('../projections/db.js');
  const path = join(dir, `${name}.db`);
  const db = openDb(path);
  const w = new ReadModelWriter(db, pino({ level: 'silent' }));
  const feed = applyMix('attendance');
  const take = (n: number): LogEvent[] => Array.from({ length: n }, () => feed.next().value as LogEvent);
  for (let done = 0; done < WARM; done += COMMIT) w.applyBatch(take(COMMIT));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  for (let i = 0; i < COMMITS; i++) w.applyBatch(take(COMMIT));
  const wal = readFileSync(`${path}-wal`);
  const pageSize = wal.readUInt32BE(8);
  const pages: number[] = [];
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) pages.push(wal.readUInt32BE(at));
  db.pragma('wal_checkpoint(TRUNCATE)');
  const owner = new Map<number, string>();
  for (const r of db.prepare('SELECT name, pageno FROM dbstat').all() as Array<{ name: string; pageno: number }>) owner.set(r.pageno, r.name);
  const by = new Map<string, number>();
  for (const p of pages) {
    const n = p === 1 ? 'page 1' : (owner.get(p) ?? 'free list');
    by.set(n, (by.get(n) ?? 0) + 1);
  }
  const top = [...by].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${(c / COMMITS).toFixed(1)}`).join(', ');
  console.log(`${name} (${root}): ${(pages.length / COMMITS).toFixed(1)} frames a commit of ${COMMIT} events (${new Set(pages).size} distinct pages in ${COMMITS} commits): ${top}`);
  db.close();
}

try {
  for (const [i, root] of roots.entries()) await measure(root, roots.length > 1 && i === 0 ? 'A' : 'B');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
