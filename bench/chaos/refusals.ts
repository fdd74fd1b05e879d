/**
 * An events.db that is missing, emptied, or another data dir's, under the read models and the
 * tree of a longer log: the server refuses to start (non-zero exit, a message that says what
 * to do), never listens; put back, the same data dir starts again.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { check, layout, recordAndStop, startRefused, startServer, waitReady, type Check, type Scenario } from './harness.js';


const LOG = ['events.db', 'events.db-wal', 'events.db-shm'];

export const refusals: Scenario = {
  name: 'refusals',
  summary: 'a missing, emptied or foreign events.db is refused at start with a clear message',
  async run(ctx) {
    const a = layout(ctx, 'a');
    const b = layout(ctx, 'b');
    await Promise.all([recordAndStop(ctx, a.env, 'a', 20), recordAndStop(ctx, b.env, 'b', 20)]);
    const checks: Check[] = [];
    const refused = async (what: string, expect: RegExp) => {
      const r = await startRefused(ctx, a.env);
      checks.push(check(`${what}: refused, exit 1, never listening`, r.code === 1 && !r.listened, `exit ${r.code}`));
      checks.push(check(`${what}: the message says what happened and what to do`, expect.test(r.stderr), r.stderr.trim().split('\n').at(-1)));
    };
    const keep = join(ctx.workDir, 'a-log');
    // Stopped cleanly, the log is one file (SQLite folds the -wal in at the last close).
    for (const f of LOG) if (existsSync(join(a.dataDir, f))) renameSync(join(a.dataDir, f), `${keep}-${f}`);
    await refused('missing events.db', /could not start: the audit tree in .* does not cover this log: the log is empty.*restore a backup/);
    for (const f of LOG) rmSync(join(a.dataDir, f), { force: true });

    // The short version leaves the emptied log and the restart to test/integrity-start.test.ts.
    if (!ctx.short) {
      copyFileSync(`${keep}-events.db`, join(a.dataDir, 'events.db'));
      const db = new Database(join(a.dataDir, 'events.db'));
      db.exec('DELETE FROM events');
      db.close();
      await refused('emptied events.db', /could not start: .*the log is empty/);
      for (const f of LOG) rmSync(join(a.dataDir, f), { force: true });
    }

    copyFileSync(join(b.dataDir, 'events.db'), join(a.dataDir, 'events.db'));
    await refused("another data dir's events.db", /could not start: .*another log was followed/);
    if (!ctx.short) {
      copyFileSync(`${keep}-events.db`, join(a.dataDir, 'events.db'));
      const back = await startServer(ctx, a.env);
      await waitReady(back.base);
      checks.push(check('its own events.db put back: starts and is ready', (await back.stop()) === 0));
    }
    return { checks };
  },
};
