/**
 * The fault campaign: `npm run chaos [-- --short] [name ...]` runs each scenario of
 * bench/chaos/ (index.ts lists them) against the real server and the real `annals` command,
 * each in a fresh directory, and prints every check and a summary; exit 1 if a check failed.
 * `--short` is the version the tests run (test/chaos.test.ts). Scenarios that cannot run here
 * (the full disk needs root) say why and count as skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaosContext, Scenario, ScenarioResult } from './chaos/harness.js';
import { SCENARIOS } from './chaos/index.js';

export interface CampaignReport {
  readonly scenario: string;
  readonly result: ScenarioResult;
  readonly ms: number;
}

/** Runs `scenarios`; a scenario that throws counts as one failed check. */
export async function runCampaign(scenarios: readonly Scenario[], options: Omit<ChaosContext, 'workDir'>): Promise<CampaignReport[]> {
  const reports: CampaignReport[] = [];
  for (const s of scenarios) {
    const workDir = mkdtempSync(join(tmpdir(), `annals-chaos-${s.name}-`));
    const started = Date.now();
    let result: ScenarioResult;
    try {
      result = await s.run({ ...options, workDir, say: (line) => options.say(`[${s.name}] ${line}`) });
    } catch (e) {
      result = { checks: [{ name: 'ran to the end', ok: false, detail: e instanceof Error ? (e.stack ?? e.message) : String(e) }] };
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
    reports.push({ scenario: s.name, result, ms: Date.now() - started });
  }
  return reports;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const short = args.includes('--short');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    process.exit(2);
  }
  const chosen = names.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));
  process.stdout.write(`fault campaign${short ? ' (short)' : ''}: ${chosen.map((s) => s.name).join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  const reports = await runCampaign(chosen, { short, nodeArgs: (script, ...rest) => ['--import', 'tsx', script, ...rest], say: (line) => process.stderr.write(`${line}\n`) });
  let failed = 0;
  for (const r of reports) {
    const s = SCENARIOS.find((x) => x.name === r.scenario) as Scenario;
    process.stdout.write(`\n${r.scenario} — ${s.summary} (${(r.ms / 1000).toFixed(1)} s)\n`);
    if (r.result.skipped) process.stdout.write(`  skipped: ${r.result.skipped}\n`);
    for (const c of r.result.checks) {
      if (!c.ok) failed++;
      process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail && (!c.ok || c.detail.length < 120) ? ` (${c.detail})` : ''}\n`);
    }
    if (r.result.figures) process.stdout.write(`  figures: ${Object.entries(r.result.figures).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  }
  const checks = reports.reduce((n, r) => n + r.result.checks.length, 0);
  const skipped = reports.filter((r) => r.result.skipped).map((r) => r.scenario);
  process.stdout.write(`\n${checks - failed} of ${checks} checks held${failed ? `, ${failed} failed` : ''}${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
