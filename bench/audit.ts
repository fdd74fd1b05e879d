/**
 * Throughput of the tamper-evident log on this machine: `npm run bench:audit`.
 *
 * Phases, over BENCH_EVENTS (default 1,000,000) synthetic fact-sized events generated on the
 * fly (never all held in memory):
 *   1. in memory: serialize + leaf hash + incremental tree append (the pure cost per leaf);
 *   2. proofs from the in-memory nodes: inclusion and consistency, generation and verification;
 *   3. the audit log itself: following a synthetic store into audit.db (SQLite, WAL, leaves
 *      committed with synchronous=NORMAL, heads with FULL: storage.ts) with a signed head every
 *      1000 events, then proofs served from audit.db, then a full verify (re-read, re-hash,
 *      compare every leaf, node and head).
 * Progress goes to stderr, results to stdout.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { eventLeafHash, leafBytes } from '../src/audit/leaf.js';
import { CompactTree, consistencyProof, fromHex, hashLeaf, inclusionProof, rootAt, verifyConsistency, verifyInclusion, type NodeSource } from '../src/audit/merkle.js';
import { openAuditLog } from '../src/audit/tree-head.js';
import type { EventStore, Position, ReadAllOptions, StoredEvent, SubscribeOptions, Subscription } from '../src/store/port.js';

const N = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PROOFS = 10_000;

const pos = (n: number): Position => String(n).padStart(20, '0');

/** Event number i (0-based), fact-sized: ~300 bytes of data, ~150 of metadata. */
function event(i: number): StoredEvent {
  const hex = i.toString(16).padStart(12, '0');
  return {
    id: `0190d6b0-0000-7000-8000-${hex}`,
    stream: `office-${i % 997}`,
    revision: Math.floor(i / 997),
    position: pos(i + 1),
    type: 'OfficialAppointed',
    data: {
      office: `office-${i % 997}`,
      person: `person-${i}`,
      term: { from: '2019-01-01', to: '2022-12-31' },
      acting: false,
      session: `session-${i % 31}`,
      appointedBy: 'csto-collective-security-council',
      note: 'x'.repeat(120),
    },
    metadata: {
      factId: `01JD${hex}AAAAAAAAAA`,
      recordedBy: 'recorder:1a2b3c4d',
      source: { title: 'Press release', publisher: 'CSTO', publishedOn: '2025-11-27' },
      schemaVersion: 1,
    },
    recordedAt: new Date(1_764_000_000_000 + i).toISOString(),
  };
}

/** A read-only store over the synthetic events: the first `size` of them. */
function syntheticStore(size: number): EventStore {
  const next = (after: Position | undefined): number => (after === undefined ? 0 : Number(after));
  return {
    name: 'synthetic',
    async append() {
      throw new Error('read-only');
    },
    async readStream() {
      return [];
    },
    async readAll(o: ReadAllOptions = {}) {
      const from = next(o.after);
      const to = Math.min(size, from + (o.limit ?? size));
      const out: StoredEvent[] = [];
      for (let i = from; i < to; i++) out.push(event(i));
      return out;
    },
    subscribe(o: SubscribeOptions = {}): Subscription {
      let open = true;
      let wake: (() => void) | undefined;
      return {
        async close() {
          open = false;
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          for (let i = next(o.after); i < size && open; i++) yield event(i);
          if (open) await new Promise<void>((r) => (wake = r));
        },
      };
    },
    async head() {
      return size === 0 ? null : pos(size);
    },
    async close() {},
  };
}

/** Perfect-subtree hashes in one flat buffer per level. */
class MemoryNodes implements NodeSource {
  readonly levels: Buffer[] = [];
  constructor(n: number) {
    for (let l = 0, w = n; w >= 1; l++, w = Math.floor(w / 2)) this.levels.push(Buffer.allocUnsafe(w * 32));
  }
  put(level: number, index: number, hash: Buffer): void {
    hash.copy(this.levels[level] as Buffer, index * 32);
  }
  node(level: number, index: number): Buffer {
    return (this.levels[level] as Buffer).subarray(index * 32, index * 32 + 32);
  }
}

const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
const us = (ms: number, n: number): string => `${((ms * 1000) / n).toFixed(1)} µs`;
const now = (): number => performance.now();
const progress = (msg: string): void => void process.stderr.write(`${msg}\n`);
const out: string[] = [];
const report = (line: string): void => {
  out.push(line);
  progress(line);
};

function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}

async function main(): Promise<void> {
  report(`audit bench: ${N.toLocaleString('en-US')} events, node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);

  // 1. Pure in-memory cost.
  let t0 = now();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += leafBytes(event(i)).length;
  const tSerialize = now() - t0;
  report(`serialize only (generate + canonical JSON): ${rate(N, tSerialize)}, mean leaf ${Math.round(bytes / N)} bytes`);

  const nodes = new MemoryNodes(N);
  const tree = new CompactTree();
  t0 = now();
  for (let i = 0; i < N; i++) {
    for (const n of tree.append(hashLeaf(leafBytes(event(i))))) nodes.put(n.level, n.index, n.hash);
  }
  const tBuild = now() - t0;
  const root = tree.root();
  report(`build tree in memory (generate + serialize + leaf hash + append): ${rate(N, tBuild)} leaves (${(tBuild / 1000).toFixed(2)} s)`);
  report(`  of which hashing + tree (build minus serialize): ${rate(N, tBuild - tSerialize)} leaves`);
  t0 = now();
  const again = rootAt(nodes, N);
  report(`root from stored nodes: ${us(now() - t0, 1)} (matches incremental root: ${Buffer.from(again).equals(root)})`);

  // 2. Proofs from memory.
  const idx = Array.from({ length: PROOFS }, () => randomIndex(N));
  t0 = now();
  const proofs = idx.map((i) => inclusionProof(nodes, i, N));
  const tInc = now() - t0;
  t0 = now();
  let ok = 0;
  proofs.forEach((p, k) => (ok += verifyInclusion(idx[k] as number, N, nodes.node(0, idx[k] as number), p, root) ? 1 : 0));
  const tIncV = now() - t0;
  report(`inclusion proof (memory, size ${N}): generate ${us(tInc, PROOFS)}, verify ${us(tIncV, PROOFS)}, path length ${proofs[0]?.length}, ${ok}/${PROOFS} verified`);
  const pairs = Array.from({ length: PROOFS }, () => {
    const a = 1 + randomIndex(N);
    const b = 1 + randomIndex(N);
    return a <= b ? [a, b] : [b, a];
  }) as Array<[number, number]>;
  t0 = now();
  const cps = pairs.map(([a, b]) => consistencyProof(nodes, a, b));
  const tCon = now() - t0;
  const roots = pairs.map(([a, b]) => [rootAt(nodes, a), rootAt(nodes, b)] as const);
  t0 = now();
  ok = 0;
  cps.forEach((p, k) => (ok += verifyConsistency(pairs[k]![0], pairs[k]![1], p, roots[k]![0], roots[k]![1]) ? 1 : 0));
  const tConV = now() - t0;
  report(`consistency proof (memory): generate ${us(tCon, PROOFS)}, verify ${us(tConV, PROOFS)}, ${ok}/${PROOFS} verified`);
  nodes.levels.length = 0;

  // 3. The audit log over audit.db.
  const dir = mkdtempSync(join(tmpdir(), 'annals-bench-audit-'));
  try {
    const store = syntheticStore(N);
    const log = pino({ level: 'silent' });
    t0 = now();
    const audit = await openAuditLog({ store, dataDir: dir, log, checkpointEvents: 1000, checkpointIntervalMs: 0 });
    let last = 0;
    const timer = setInterval(() => {
      void audit.state().then((s) => {
        if (s.treeSize !== last) progress(`  audit.db: ${s.treeSize.toLocaleString('en-US')} leaves`);
        last = s.treeSize;
      });
    }, 5000);
    const caughtUp = await audit.waitFor(pos(N), 30 * 60_000);
    clearInterval(timer);
    const tFeed = now() - t0;
    const state = await audit.state();
    const heads = await audit.heads({ limit: 10_000 });
    report(
      `audit log catch-up into audit.db: ${rate(N, tFeed)} leaves (${(tFeed / 1000).toFixed(2)} s; caught up ${caughtUp}; ${heads.length} signed heads; ` +
        `root matches the in-memory tree: ${fromHex(state.rootHash).equals(root)}; audit.db ${(statSync(join(dir, 'audit.db')).size / 1e6).toFixed(0)} MB + WAL)`,
    );

    const head = (await audit.head())!;
    const sample = idx.slice(0, 2000);
    t0 = now();
    const served = [];
    for (const i of sample) served.push(await audit.inclusionProof(pos(i + 1)));
    const tServe = now() - t0;
    ok = served.filter((p, k) => verifyInclusion(sample[k] as number, p.treeSize, eventLeafHash(event(sample[k] as number)), p.auditPath.map(fromHex), fromHex(head.rootHash))).length;
    report(`inclusion proof from audit.db (size ${head.treeSize}, with root and head): ${us(tServe, sample.length)} each, ${ok}/${sample.length} verified against the signed head`);
    t0 = now();
    const cs = [];
    for (const h of heads.slice(0, 500)) cs.push(await audit.consistencyProof(h.treeSize, head.treeSize));
    const tCs = now() - t0;
    ok = cs.filter((c, k) => verifyConsistency(heads[k]!.treeSize, head.treeSize, c.proof.map(fromHex), fromHex(heads[k]!.rootHash), fromHex(head.rootHash))).length;
    report(`consistency proof from audit.db (head -> latest head): ${us(tCs, cs.length)} each, ${ok}/${cs.length} verified`);

    t0 = now();
    const v = await audit.verify((p) => {
      if (p.eventsRead % 200_000 === 0) progress(`  verify: ${p.eventsRead.toLocaleString('en-US')} events`);
    });
    const tVerify = now() - t0;
    report(`verify (re-read ${v.eventsRead.toLocaleString('en-US')} events, compare every leaf, node, ${v.headsChecked} heads): ${rate(v.eventsRead, tVerify)} (${(tVerify / 1000).toFixed(2)} s), ok ${v.ok}`);
    await audit.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
