/**
 * Appending in waves (EventStore.appendWaves) on any adapter: through the adapter's own
 * implementation when it has one (the embedded store commits all the waves in one
 * transaction), otherwise wave by wave, each wave's appends concurrently, with the same
 * outcomes. This never rejects: a unit the store refuses as a whole (closed, unreachable, a
 * driver fault; nothing of it stored) comes back as every append of it rejected with that
 * error, so callers handle one shape of failure.
 *
 * A store with an `appendLimit` (EventStoreDB's MaxAppendSize) gets each append that is larger
 * as several that fit, one after the other, each expecting the revision the one before it left
 * (so a concurrent writer makes the next part fail rather than interleave). A part that fails
 * leaves the parts before it stored: the outcome is rejected and carries them as `stored`.
 * An event larger than the limit on its own is not split: its append is refused whole.
 */
import type { AppendLimit, AppendRequest, AppendResult, EventStore, WaveOutcome } from './port.js';

const SKIPPED: WaveOutcome = Object.freeze({ status: 'skipped' });

type Waves = readonly (readonly AppendRequest[])[];

export interface AppendWavesOptions {
  /**
   * Most appends sent as one unit (a positive integer). Larger waves go wave by wave, each
   * wave in units of at most this many (a wave's appends are independent), so that readers
   * of the log can apply the first ones while the next are written. Default: no limit.
   */
  readonly maxUnit?: number;
}

export async function appendWaves(store: EventStore, waves: Waves, options: AppendWavesOptions = {}): Promise<WaveOutcome[][]> {
  const max = options.maxUnit ?? Infinity;
  if (!(max === Infinity || (Number.isSafeInteger(max) && max > 0))) throw new RangeError(`maxUnit must be a positive integer, got ${max}`);
  if (waves.every((w) => w.length === 0)) return waves.map(() => []);
  const own = store.appendWaves?.bind(store);
  if (own === undefined) return waveByWave(waves, (wave) => Promise.all(wave.map((a) => appendFitting(store, a))));
  const unit = (w: Waves) => own(w).catch((reason: unknown) => w.map((wave) => wave.map((): WaveOutcome => ({ status: 'rejected', reason }))));
  if (waves.reduce((n, w) => n + w.length, 0) <= max) return unit(waves);
  return waveByWave(waves, async (wave) => {
    const units: (readonly AppendRequest[])[] = [];
    for (let i = 0; i < wave.length; i += max) units.push(wave.slice(i, i + max));
    return (await Promise.all(units.map(async (u) => (await unit([u]))[0] as WaveOutcome[]))).flat();
  });
}

async function waveByWave(waves: Waves, appendWave: (wave: readonly AppendRequest[]) => Promise<WaveOutcome[]>): Promise<WaveOutcome[][]> {
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

/** Splits `events` into runs whose sizes add up to at most `limit.maxBytes` (an event larger alone is a run of its own). */
export function fitting<T extends AppendRequest['events'][number]>(events: readonly T[], limit: AppendLimit): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = limit.size(e);
    if (part.length > 0 && bytes + size > limit.maxBytes) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += size;
  }
  if (part.length > 0 || parts.length === 0) parts.push(part);
  return parts;
}

async function appendFitting(store: EventStore, a: AppendRequest): Promise<WaveOutcome> {
  const parts = store.appendLimit ? fitting(a.events, store.appendLimit) : [a.events];
  let stored: AppendResult | undefined;
  for (const part of parts) {
    try {
      const expected = stored ? stored.nextRevision : a.expected;
      const r = await store.append(a.stream, part, expected);
      stored = stored ? { stream: a.stream, nextRevision: r.nextRevision, events: [...stored.events, ...r.events] } : r;
    } catch (reason) {
      return stored ? { status: 'rejected', reason, stored } : { status: 'rejected', reason };
    }
  }
  return { status: 'fulfilled', value: stored as AppendResult };
}

/** The outcome of an append that was never attempted because an earlier wave failed. */
export function skipped(): WaveOutcome {
  return SKIPPED;
}
