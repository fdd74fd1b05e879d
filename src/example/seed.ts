/**
 * ANNALS_SEED=example: loads the bundled example (the CSTO press release, fact by fact)
 * through the recorder's batch path. API.md: "loaded only into an empty store". A store that
 * already holds the example's first fact (a previous start, or a seed interrupted half-way)
 * gets the batch again: every factId is fixed, so what is recorded stays recorded once and
 * only what is missing is added. A store holding other facts and not the example is left alone.
 */
import { streamOf } from '../../events/index.js';
import type { Runtime } from '../runtime.js';
import { exampleFacts } from './facts.js';

export interface SeedResult {
  /** `empty`: loaded into an empty store; `resumed`: the example was there (maybe in part); `skipped`: other facts, no example. */
  outcome: 'empty' | 'resumed' | 'skipped';
  /** Facts recorded now. */
  recorded: number;
  /** Facts of the example that were recorded before. */
  already: number;
}

export const SEED_PRINCIPAL = 'system:seed';

export async function seedExample(runtime: Pick<Runtime, 'store' | 'recorder' | 'log'>): Promise<SeedResult> {
  const facts = exampleFacts();
  const first = facts[0];
  if (!first) throw new Error('the example data set is empty');
  let outcome: SeedResult['outcome'] = 'empty';
  if ((await runtime.store.head()) !== null) {
    const mark = await runtime.store.readStream(streamOf('organization', first.factId), { limit: 1 });
    if (mark.length === 0) {
      runtime.log.info('ANNALS_SEED=example: the store holds other facts, not the example; nothing loaded');
      return { outcome: 'skipped', recorded: 0, already: 0 };
    }
    outcome = 'resumed';
    await runtime.recorder.ready();
  }
  const result = await runtime.recorder.recordBatch(facts, { principal: SEED_PRINCIPAL, correlationId: 'seed:example' });
  if (result.error) {
    const at = facts[result.error.index];
    const why = result.error.error instanceof Error ? result.error.error.message : String(result.error.error);
    throw new Error(`the example data set was refused at fact ${result.error.index + 1} (${at?.type} ${at?.factId}): ${why}`);
  }
  const recorded = result.results.filter((r) => r.created).length;
  const summary: SeedResult = { outcome, recorded, already: result.results.length - recorded };
  runtime.log.info(summary, 'ANNALS_SEED=example: the example data set (CSTO press release of 2025-11-27) is loaded');
  return summary;
}
