/**
 * Appending in waves (EventStore.appendWaves) on any adapter: through the adapter's own
 * implementation when it has one (the embedded store commits all the waves in one
 * transaction), otherwise wave by wave, each wave's appends concurrently, with the same
 * outcomes.
 */
import type { AppendRequest, EventStore, WaveOutcome } from './port.js';

const SKIPPED: WaveOutcome = Object.freeze({ status: 'skipped' });

export interface AppendWavesOptions {
  /**
   * Most appends sent as one unit. Larger waves go wave by wave, each wave in units of at
   * most this many (a wave's appends are independent), so that readers of the log can apply
   * the first ones while the next are written. Default: no limit.
   */
  readonly maxUnit?: number;
}

export function appendWaves(store: EventStore, waves: readonly (readonly AppendRequest[])[], options: AppendWavesOptions = {}): Promise<WaveOutcome[][]> {
  const own = store.appendWaves?.bind(store);
  if (own === undefined) return waveByWave(waves, (wave) => Promise.allSettled(wave.map((a) => store.append(a.stream, a.events, a.expected))));
  const max = options.maxUnit ?? Infinity;
  if (waves.reduce((n, w) => n + w.length, 0) <= max) return own(waves);
  return waveByWave(waves, async (wave) => {
    const units: (readonly AppendRequest[])[] = [];
    for (let i = 0; i < wave.length; i += max) units.push(wave.slice(i, i + max));
    return (await Promise.all(units.map(async (unit) => (await own([unit]))[0] as WaveOutcome[]))).flat();
  });
}

async function waveByWave(waves: readonly (readonly AppendRequest[])[], appendWave: (wave: readonly AppendRequest[]) => Promise<WaveOutcome[]>): Promise<WaveOutcome[][]> {
  const outcomes: WaveOutcome[][] = [];
  let failed = false;
  for (const wave of waves) {
    if (failed) {
      outcomes.push(wave.map(() => SKIPPED));
      continue;
    }
    const settled = await appendWave(wave);
    failed = settled.some((o) => o.status === 'rejected');
    outcomes.push(settled);
  }
  return outcomes;
}

/** The outcome of an append that was never attempted because an earlier wave failed. */
export function skipped(): WaveOutcome {
  return SKIPPED;
}
