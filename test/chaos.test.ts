/**
 * The fault campaign's short version (bench/chaos.ts, `npm run chaos -- --short`): every
 * scenario of bench/chaos/ against the real server and the real `annals` command. The children
 * run under tsx, as `npm run chaos` runs them, not tap's loader: some twenty of them start, and
 * each costs ~0.8 s of CPU under tsx against ~8 s under tap's ts-node (measured on this
 * machine); their coverage is not collected (the in-process tests cover the same code). The
 * long campaign (25 kill rounds, longer faults) is `npm run chaos`; its figures are in the README.
 */
import t from 'tap';
import { runCampaign } from '../bench/chaos.js';
import { SCENARIOS } from '../bench/chaos/index.js';

// ~45 s of CPU over all the children; on a machine shared with other work the wall time
// stretches well past .taprc's 240 s per file (measured: 131 s at load average 17).
t.setTimeout(600_000);

t.test('the fault campaign, short', async (t) => {
  const reports = await runCampaign(SCENARIOS, { short: true, coverage: false, nodeArgs: (script, ...args) => ['--import', 'tsx', script, ...args], say: (line) => t.comment(line) });
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
