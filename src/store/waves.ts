/**
 * Appending in waves (EventStore.appendWaves) on any adapter: through the adapter's own
 * implementation when it has one (the embedded store commits all the waves in one
 * transaction), otherwise wave by wave, each wave's appends concurrently, with the same
 * outcomes.
 */
import type { AppendRequest, EventStore, WaveOutcome } from './port.js';

const SKIPPED: WaveOutcome = Object.freeze({ status: 'skipped' });

export function appendWaves(store: EventStore, waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]> {
  return store.appendWaves ? store.appendWaves(waves) : waveByWave(store, waves);
}

async function waveByWave(store: EventStore, waves: readonly (readonly AppendRequest[])[]): Promise<WaveOutcome[][]> {
  const outcomes: WaveOutcome[][] = [];
  let failed = false;
  for (const wave of waves) {
    if (failed) {
      outcomes.push(wave.map(() => SKIPPED));
      continue;
    }
    const settled = await Promise.allSettled(wave.map((a) => store.append(a.stream, a.events, a.expected)));
    failed = settled.some((o) => o.status === 'rejected');
    outcomes.push(settled);
  }
  return outcomes;
}

/** The outcome of an append that was never attempted because an earlier wave failed. */
export function skipped(): WaveOutcome {
  return SKIPPED;
}
