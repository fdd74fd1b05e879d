/**
 * Parts of the write path alone, CPU per operation in alternating slices (contention disturbs
 * them less than an end-to-end run): `npm run bench:write-parts`.
 *   - the store writer (GroupWriter): appends of one event each (a fact, a key reservation),
 *     sealed, 1,000 appends a commit, on a fresh file;
 *   - an audit leaf hash of an event handed by the writer (sqlite-writer-feed.ts), with the
 *     metadata in the order the recorder wrote it before session 23 and in sorted order (now).
 * BENCH_ROOT=<another worktree> measures that worktree's code instead (before/after).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StoredRow } from '../src/store/sqlite-writer.js';

const root = resolve(process.env['BENCH_ROOT'] ?? new URL('..', import.meta.url).pathname);
const ext = '.ts';
const { GroupWriter } = (await import(join(root, `src/store/sqlite-writer${ext}`))) as typeof import('../src/store/sqlite-writer.js');
const { configureConnection, migrate } = (await import(join(root, `src/store/sqlite-schema${ext}`))) as typeof import('../src/store/sqlite-schema.js');
const { Sealer } = (await import(join(root, `src/store/sqlite-seal${ext}`))) as typeof import('../src/store/sqlite-seal.js');
const { encodeCommitted, CommittedFeed } = (await import(join(root, `src/store/sqlite-writer-feed${ext}`))) as typeof import('../src/store/sqlite-writer-feed.js');
const { eventLeafHash } = (await import(join(root, `src/audit/leaf${ext}`))) as typeof import('../src/audit/leaf.js');

const cpu = (t0: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(t0);
  return d.user + d.system;
};

async function writerSlices(): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'annals-bench-writer-'));
  const db = new Database(join(dir, 'events.db'));
  try {
    configureConnection(db, { busyTimeoutMs: 5000, cacheSizeKiB: 65536 });
    const key = new Uint8Array(32).fill(7);
    const logId = migrate(db, key, () => 'bench-log');
    const w = new GroupWriter(db, { maxAppendsPerCommit: 1000, onCommitted: () => undefined, sealer: new Sealer(key, logId), onStored: () => undefined });
    const data = JSON.stringify({ key: 'k', name: 'Person 1/1' });
    const metadata = JSON.stringify({ correlationId: 'req-1', factId: '01JF', recordedBy: 'recorder', schemaVersion: 1, source: { publisher: 'Annals', title: 'Benchmark' } });
    let n = 0;
    const slice = async (units: number): Promise<number> => {
      const t0 = process.cpuUsage();
      for (let u = 0; u < units; u++) {
        const wave = Array.from({ length: 1000 }, () => {
          const i = n++;
          return { stream: `person-${i}`, expected: 'no_stream' as const, events: [{ id: `id-${i}`, type: 'PersonRegistered', data, metadata }] };
        });
        await new Promise<void>((res, rej) => w.enqueue({ waves: [wave], resolve: () => res(), reject: rej }));
      }
      return cpu(t0) / (units * 1000);
    };
    await slice(5);
    return [await slice(20), await slice(20), await slice(20)];
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function leafSlice(sorted: boolean): number {
  const data = JSON.stringify({ name: 'Person 3/17', key: 'single-c3-p17' });
  const metadata = (i: number): string =>
    sorted
      ? JSON.stringify({ correlationId: `req-${i}`, factId: `01JF${i}`, recordedBy: 'recorder', schemaVersion: 1, source: { publisher: 'Annals', title: 'Benchmark' } })
      : JSON.stringify({ factId: `01JF${i}`, recordedBy: 'recorder', source: { title: 'Benchmark', publisher: 'Annals' }, correlationId: `req-${i}`, schemaVersion: 1 });
  const rows = Array.from({ length: 10_000 }, (_, i): StoredRow => [i + 1, `id-${i}`, `person-${i}`, 0, 'PersonRegistered', data, metadata(i), '2026-12-05T00:00:00.000Z']);
  const feed = new CommittedFeed();
  // What the writer's port would deliver (the port itself is not needed to measure the leaf).
  (feed as unknown as { receive(b: unknown): void }).receive(encodeCommitted(rows, true));
  const got = feed.take(0, false);
  if (got === null || got === 'gap') throw new Error('the feed gave no batch');
  const t0 = process.cpuUsage();
  for (const e of got.events) eventLeafHash(e);
  return cpu(t0) / got.events.length;
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
process.stdout.write(`code: ${root}\n`);
process.stdout.write(`store writer, one-event appends, sealed, 1,000 a commit: ${fmt(await writerSlices())} us of CPU an append\n`);
for (let i = 0; i < 3; i++) leafSlice(i % 2 === 0);
const leaves: Record<'metadata as before' | 'metadata sorted', number[]> = { 'metadata as before': [], 'metadata sorted': [] };
for (let i = 0; i < 5; i++) {
  leaves['metadata as before'].push(leafSlice(false));
  leaves['metadata sorted'].push(leafSlice(true));
}
for (const [k, v] of Object.entries(leaves)) process.stdout.write(`audit leaf of a handed event, ${k}: ${fmt(v)} us of CPU a leaf\n`);

/**
 * audit.db alone (storage.ts): leaves appended to the incremental tree and written in commits
 * of `perCommit` (the follower's batches: a commit of 1,000 leaves in a batch, ~20 a 25 ms
 * flush of single facts), a head row every 1,000 leaves (its signature left out: the same in
 * every version). CPU a leaf, user + system (the commits' fsyncs included).
 */
async function auditSlices(perCommit: number): Promise<number[]> {
  const { AuditStorage } = (await import(join(root, `src/audit/storage${ext}`))) as typeof import('../src/audit/storage.js');
  const { hashLeaf, rootAt, toHex } = (await import(join(root, `src/audit/merkle${ext}`))) as typeof import('../src/audit/merkle.js');
  const dir = mkdtempSync(join(tmpdir(), 'annals-bench-audit-'));
  const storage = AuditStorage.open(join(dir, 'audit.db'));
  try {
    const tree = storage.loadTree();
    let headSize = 0;
    const slice = (leaves: number): number => {
      const hashes = Array.from({ length: leaves }, (_, i) => hashLeaf(Buffer.from(`leaf ${tree.size + i}`)));
      const t0 = process.cpuUsage();
      for (let done = 0; done < leaves; ) {
        const before = tree.size;
        const batch: Array<{ position: string; nodes: ReturnType<typeof tree.append> }> = [];
        for (let k = 0; k < perCommit && done < leaves; k++, done++) {
          const nodes = tree.append(hashes[done] as Buffer);
          batch.push({ position: String(tree.size).padStart(20, '0'), nodes });
        }
        storage.appendBatch(before, batch);
        if (tree.size - headSize >= 1000) {
          const { treeSize, lastPosition } = storage.size();
          storage.addHead({ format: 'annals-tree-head-v1', leafFormat: 'annals-event-v1', treeSize, rootHash: toHex(rootAt(storage, treeSize)), lastPosition, timestamp: new Date(0).toISOString(), keyId: 'bench', signature: 'bench' });
          headSize = treeSize;
        }
      }
      return cpu(t0) / leaves;
    };
    slice(2000);
    return [slice(10_000), slice(10_000), slice(10_000)];
  } finally {
    storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
for (const perCommit of [1000, 20]) process.stdout.write(`audit.db, leaves in commits of ${perCommit}, a head row every 1,000: ${fmt(await auditSlices(perCommit))} us of CPU a leaf\n`);
