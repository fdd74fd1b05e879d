/**
 * A backup taken while 8 writers record, restored into another data dir (with a copy of the
 * key kept elsewhere), verified there: every leaf, seal and head; a head signed before the
 * backup matches the restored tree at its size; every fact acknowledged before the backup
 * began is in the restored log; and a service started on it is ready.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AuditStorage } from '../../src/audit/storage.js';
import { rootAt, toHex } from '../../src/audit/merkle.js';
import { annals, check, factCounts, http, layout, startServer, startWriters, verifyDataDir, waitReady, type Scenario } from './harness.js';

export const backup: Scenario = {
  name: 'backup',
  summary: 'a backup during 8 concurrent writers, restored elsewhere and verified against a head signed before it',
  async run(ctx) {
    const source = layout(ctx, 'live');
    const server = await startServer(ctx, source.env);
    await waitReady(server.base);
    const writers = startWriters(server.base, 8, 'bk');
    while (writers.acknowledged.length < (ctx.short ? 50 : 2000)) await new Promise((r) => setTimeout(r, 10));
    const before = (await http(server.base, '/v1/audit/tree-head', { method: 'POST', role: 'admin' })).json['head'] as { treeSize: number; rootHash: string };
    const acknowledgedBefore = [...writers.acknowledged];
    const dest = join(ctx.workDir, 'backup');
    const started = Date.now();
    const taken = await annals(ctx, source.env, ['backup', dest]);
    const tookMs = Date.now() - started;
    await writers.stop();
    const during = writers.acknowledged.length - acknowledgedBefore.length;
    await server.stop();

    // Elsewhere: another data dir, the key copied to a directory of its own (the live one's kept head stays with it).
    const target = layout(ctx, 'restored');
    mkdirSync(join(target.keyFile, '..'), { recursive: true, mode: 0o700 });
    copyFileSync(source.keyFile, target.keyFile);
    const restored = await annals(ctx, target.env, ['restore', dest]);
    const verified = await verifyDataDir(target.dataDir, target.keyFile);
    const storage = AuditStorage.open(join(target.dataDir, 'audit.db'), { readOnly: true });
    const rootThen = toHex(rootAt(storage, before.treeSize));
    storage.close();
    const counts = factCounts(target.dataDir);
    const missing = acknowledgedBefore.filter((id) => counts.get(id) !== 1);
    const doubled = [...counts.values()].filter((n) => n > 1).length;
    const db = new Database(join(target.dataDir, 'events.db'), { readonly: true });
    const events = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
    db.close();
    const again = await startServer(ctx, target.env);
    const ready = await waitReady(again.base).then(() => true, () => false);
    await again.stop();
    return {
      checks: [
        check('annals backup during the writers: exit 0', taken.code === 0, taken.stderr.trim()),
        check('writers went on during the backup', during > 0, `${during} facts acknowledged while it ran`),
        check('annals restore elsewhere: exit 0', restored.code === 0, restored.stderr.trim()),
        check('the restored copy verifies: every leaf, seal and head', verified.ok, verified.detail),
        check('a head signed before the backup matches the restored tree', rootThen === before.rootHash, `${before.treeSize} leaves: ${rootThen} vs ${before.rootHash}`),
        check('every fact acknowledged before the backup is in it, once', missing.length === 0 && doubled === 0, `${missing.length} missing, ${doubled} doubled`),
        check('a service starts ready on the restored data dir', ready),
      ],
      figures: { acknowledgedBefore: acknowledgedBefore.length, acknowledgedDuring: during, eventsInBackup: events, backupMs: tookMs },
    };
  },
};
