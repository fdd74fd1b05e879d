/**
 * A full disk under writers, for real: the data dir on a 30 MiB tmpfs (root only; skipped
 * with a message otherwise), filled to the last byte while writers record, then freed. While
 * full, nothing acknowledged is lost and a write is either recorded or refused with 503 (a write
 * may still find room in the WAL, which SQLite reuses in place); once there is room, the
 * audit tree and the read models catch up by themselves (no restart), /readyz is 200 again,
 * and the tree verifies over every event.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { check, http, layout, lostAndDoubled, readModelsEqualRebuild, startServer, startWriters, verifyDataDir, waitReady, type Scenario, type Server, type Writers } from './harness.js';

/** Writes zeros to `path` until the file system has no room left; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        // The last bytes: smaller writes until not even one fits.
        for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
          try {
            for (;;) written += writeSync(fd, chunk.subarray(0, size));
          } catch {
            // next size down
          }
        }
        return written;
      }
    }
  } finally {
    closeSync(fd);
  }
}

export const diskFull: Scenario = {
  name: 'disk-full',
  summary: 'a real full disk (30 MiB tmpfs, root only): 503s, nothing lost, the tree and read models catch up by themselves once space returns',
  async run(ctx) {
    if (process.getuid?.() !== 0) return { checks: [], skipped: 'needs root to mount a tmpfs; test/integrity-faults.test.ts makes audit.db full without root' };
    const mountPoint = join(ctx.workDir, 'tmpfs');
    mkdirSync(mountPoint, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=30m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (e) {
      return { checks: [], skipped: `could not mount a tmpfs here (${(e as Error).message.split('\n')[0]})` };
    }
    // Stopped in `finally` too: a scenario that throws must not leave a server or writers running (the campaign would never end).
    let started: { server?: Server; writers?: Writers } = {};
    try {
      const base = layout(ctx);
      const dataDir = join(mountPoint, 'data');
      const env = { ...base.env, ANNALS_DATA_DIR: dataDir };
      const server = await startServer(ctx, env);
      started = { server };
      await waitReady(server.base);
      const writers = startWriters(server.base, 4, 'full');
      started = { server, writers };
      await new Promise((r) => setTimeout(r, 1000));
      const filler = join(mountPoint, 'filler');
      const filled = fill(filler);
      ctx.say(`disk full (${(filled / 2 ** 20).toFixed(1)} MiB of filler); writers go on`);
      let sawAuditRetrying = false;
      let sawUnready = false;
      const look = async () => {
        const r = await http(server.base, '/readyz');
        if (r.status === 503) sawUnready = true;
        if (/audit tree: retrying/.test(String(r.json['detail'] ?? ''))) sawAuditRetrying = true;
      };
      const fullUntil = Date.now() + (ctx.short ? 1500 : 4000);
      while (Date.now() < fullUntil) {
        await look();
        await new Promise((res) => setTimeout(res, 100));
      }
      const refusedWhileFull = new Map(writers.refused);
      // Then room comes back a little at a time, as when logs are rotated: the log's commits and
      // the tree's writes race for each slice, so the tree falls behind the log, as in the finding.
      let size = filled;
      for (let i = 0; i < (ctx.short ? 15 : 40) && size > 0; i++) {
        size = Math.max(0, size - 48 * 1024);
        truncateSync(filler, size);
        await look();
        await new Promise((res) => setTimeout(res, 150));
      }
      rmSync(filler);
      ctx.say('space freed');
      await new Promise((r) => setTimeout(r, ctx.short ? 1000 : 3000));
      await writers.stop();
      // No restart, no nudge: the tree and the read models are only watched.
      type Tree = { lastPosition: string | null };
      type Projections = { head: string | null; checkpoint: string | null };
      let tree: Tree = { lastPosition: null };
      let projections: Projections = { head: null, checkpoint: null };
      // A read may be shed (503, Retry-After) while the event loop is pressed (shedding.ts: on a
      // loaded machine it is): asked again. Any other answer than 200 or 503 is kept for a check.
      const odd: string[] = [];
      // Whether both were ever answered 200: all shed for the whole minute, nothing was seen to catch up.
      let answered = false;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        const h = await http(server.base, '/v1/audit/tree-head', { role: 'auditor' });
        const p = await http(server.base, '/v1/admin/projections', { role: 'admin' });
        for (const r of [h, p]) if (r.status !== 200 && r.status !== 503) odd.push(`${r.status} ${JSON.stringify(r.json)}`);
        if (h.status !== 200 || p.status !== 200) continue;
        answered = true;
        tree = h.json['tree'] as Tree;
        projections = p.json as unknown as Projections;
        if (tree.lastPosition === projections.head && projections.checkpoint === projections.head) break;
      }
      const caughtUp = await waitReady(server.base, 30_000).then(() => true, () => false);
      const code = await server.stop();
      const { lost, doubled } = lostAndDoubled(dataDir, writers.acknowledged);
      const verified = await verifyDataDir(dataDir, base.keyFile);
      const other = [...writers.refused].filter(([status]) => status !== 503);
      return {
        checks: [
          check('no answer other than 201 and 503', other.length === 0, JSON.stringify(other)),
          check('the tree head and the projections answered 200 or 503 (shed) while watched', odd.length === 0, odd.slice(0, 3).join('; ')),
          check('the tree fell behind the log while space was short, and /readyz said 503 naming it', sawAuditRetrying && sawUnready, `audit seen retrying: ${sawAuditRetrying}`),
          check('0 acknowledged facts lost, 0 doubled', lost.length === 0 && doubled.length === 0, `${lost.length} lost, ${doubled.length} doubled`),
          check('ready again by itself once space returned (no restart)', caughtUp),
          check('the tree caught up with the log by itself', answered && tree.lastPosition === projections.head, answered ? `${tree.lastPosition} vs head ${projections.head}` : 'never answered 200 while watched'),
          check('the read models caught up by themselves', answered && projections.checkpoint === projections.head),
          check('closed cleanly', code === 0, `exit ${code}`),
          check('the tree and every seal verify, every event audited', verified.ok && verified.treeSize === verified.eventsRead, `${verified.treeSize}/${verified.eventsRead} ${verified.detail}`),
          check('the read models equal a rebuild', await readModelsEqualRebuild(dataDir, ctx.workDir)),
        ],
        // Not a check: a write may still succeed while the disk is full (SQLite rewrites its WAL
        // in place after a checkpoint, needing no new block), so whether any is refused depends
        // on where the WAL stood; what must hold is above (201 or 503 only, nothing lost).
        figures: { acknowledged: writers.acknowledged.length, refused503: writers.refused.get(503) ?? 0, refused503WhileFull: refusedWhileFull.get(503) ?? 0 },
      };
    } finally {
      await started.writers?.stop();
      // A server stuck (e.g. on a disk still full) is killed after a minute rather than waited for.
      const server = started.server;
      if (server) {
        const stopped = await Promise.race([server.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 60_000).unref())]);
        if (!stopped) await server.kill9();
      }
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    }
  },
};
