/**
 * kill -9 rounds under writers: each round starts the server on the same data dir, lets 8
 * writers record, and kills it with SIGKILL at a random moment. Afterwards: every fact that
 * got a 201 is in the log exactly once, nothing is doubled, the read models the killed
 * processes kept (resumed by a last start) equal a rebuild from the log, and the tree and
 * every seal verify.
 */
import { check, layout, lostAndDoubled, readModelsEqualRebuild, startServer, startWriters, verifyDataDir, waitReady, type Scenario } from './harness.js';

export const kill9: Scenario = {
  name: 'kill9',
  summary: 'SIGKILL rounds under 8 writers: 0 lost, 0 doubled, read models equal a rebuild, the tree verifies',
  async run(ctx) {
    const rounds = ctx.short ? 1 : 25;
    const writers = 8;
    const { dataDir, keyFile, env } = layout(ctx);
    const acknowledged: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      const server = await startServer(ctx, env);
      await waitReady(server.base);
      const w = startWriters(server.base, writers, `r${round}`);
      // Some facts acknowledged first, then a moment anywhere in the next group's life.
      const atLeast = ctx.short ? 50 : 200;
      while (w.acknowledged.length < atLeast) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * (ctx.short ? 50 : 1500)));
      w.lost();
      await server.kill9();
      await w.stop();
      acknowledged.push(...w.acknowledged);
      ctx.say(`round ${round}/${rounds}: killed after ${w.acknowledged.length} acknowledged facts`);
    }
    // A last start resumes the read models and the tree from their checkpoints, then stops cleanly.
    const last = await startServer(ctx, env);
    await waitReady(last.base);
    const code = await last.stop();
    const { lost, doubled } = lostAndDoubled(dataDir, acknowledged);
    const verified = await verifyDataDir(dataDir, keyFile);
    return {
      checks: [
        check('facts were acknowledged before the kills', acknowledged.length > 0, `${acknowledged.length}`),
        check('0 acknowledged facts lost', lost.length === 0, lost.slice(0, 5).join(', ')),
        check('0 facts doubled in the log', doubled.length === 0, doubled.slice(0, 5).join(', ')),
        check('the last start closed cleanly', code === 0, `exit ${code}`),
        check('the read models equal a rebuild from the log', await readModelsEqualRebuild(dataDir, ctx.workDir)),
        check('the tree and every seal verify', verified.ok, verified.detail),
      ],
      figures: { rounds, writers, acknowledged: acknowledged.length, events: verified.eventsRead },
    };
  },
};
