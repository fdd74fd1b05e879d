/**
 * ANNALS_SEED=example: loads the bundled example (the CSTO press release, fact by fact)
 * through the recorder's batch path. API.md: "loaded only into an empty store". A store that
 * already holds the example's first fact (a previous start, or a seed interrupted half-way)
 * gets the batch again: every factId is fixed, so what is recorded stays recorded once and
 * only what is missing is added. A fact the store holds with other content (the bundled file
 * changed since it was seeded, e.g. a quote made verbatim) is kept as recorded, and said so.
 * A store holding other facts and not the example is left alone.
 */
import { streamOf } from '../../events/index.js';
import { DomainError } from '../domain/index.js';
import type { Runtime } from '../runtime.js';
import { exampleFacts, type FactBody } from './facts.js';

export interface SeedResult {
  /** `empty`: loaded into an empty store; `resumed`: the example was there (maybe in part); `skipped`: other facts, no example. */
  outcome: 'empty' | 'resumed' | 'skipped';
  /** Facts recorded now. */
  recorded: number;
  /** Facts of the example that were recorded before. */
  already: number;
  /** Facts of the example recorded before with other content (the bundled file changed since): kept as they were recorded. */
  kept?: string[];
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
  let remaining = facts;
  let recorded = 0;
  let already = 0;
  const kept: string[] = [];
  for (;;) {
    const result = await runtime.recorder.recordBatch(remaining, { principal: SEED_PRINCIPAL, correlationId: 'seed:example' });
    recorded += result.results.filter((r) => r.created).length;
    already += result.results.filter((r) => !r.created).length;
    if (!result.error) break;
    const at = remaining[result.error.index];
    const err = result.error.error;
    // "factId … is already recorded with other content": this store was seeded from an older file.
    if (outcome === 'resumed' && at && err instanceof DomainError && err.kind === 'conflict' && err.extra.collidesWith === at.factId) {
      kept.push(at.factId);
      remaining = remaining.slice(result.error.index + 1);
      continue;
    }
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`the example data set was refused at fact ${facts.indexOf(at as FactBody) + 1} (${at?.type} ${at?.factId}): ${why}`);
  }
  const summary: SeedResult = { outcome, recorded, already, ...(kept.length > 0 ? { kept } : {}) };
  if (kept.length > 0) runtime.log.warn({ kept }, 'ANNALS_SEED=example: facts this store holds from an older example file were kept as recorded');
  runtime.log.info(summary, 'ANNALS_SEED=example: the example data set (CSTO press release of 2025-11-27) is loaded');
  return summary;
}
