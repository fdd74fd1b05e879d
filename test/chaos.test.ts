/**
 * The fault campaign's short version (bench/chaos.ts, `npm run chaos -- --short`): every
 * scenario of bench/chaos/ against the real server and the real `annals` command, children
 * started with tap's loader so their coverage counts. The long campaign (25 kill rounds, more
 * writers, longer faults) is `npm run chaos`; its figures are in the README.
 */
import t from 'tap';
import { runCampaign } from '../bench/chaos.js';
import { SCENARIOS } from '../bench/chaos/index.js';
import { nodeArgs } from './fixtures/node-child.js';

t.test('the fault campaign, short', async (t) => {
  const reports = await runCampaign(SCENARIOS, { short: true, nodeArgs, say: (line) => t.comment(line) });
  for (const r of reports) {
    const name = `${r.scenario} (${(r.ms / 1000).toFixed(1)} s)`;
    if (r.result.skipped) {
      t.comment(`${name}: skipped: ${r.result.skipped}`);
      continue;
    }
    t.test(name, async (t) => {
      t.ok(r.result.checks.length > 0, 'ran its checks');
      for (const c of r.result.checks) t.ok(c.ok, c.name, c.ok ? {} : { detail: c.detail });
    });
  }
});
