/**
 * What every entity stream's decider knows: the facts in the stream, each in its current
 * version (a FactCorrected replaces a fact's data, a FactRetracted withdraws it), and the
 * stream's revision for the expected-revision check. Kind-specific deciders read this view.
 *
 * `evolve` updates the state in place and returns it: a stream of 100,000 facts replays in
 * O(n), where copying a Map per event would be O(n²). It never mutates a StreamFact (only
 * the recording that appended a version sets its `position` and `recordedAt`, before anyone
 * else can see it), so a `cloneState` can be evolved without touching the original: that is
 * how a decision is tried without disturbing what others read. A clone costs O(1) plus the
 * stream's corrected or retracted facts (FactLog), not O(n): deciding one more attendance at
 * a session of 10,000 does not copy 10,000 entries (deciders that read every fact, such as
 * an office's overlap check, still do their O(n) reading).
 */
import { storedFact, type Fact, type FactType, type Source } from '../../events/index.js';

/** A fact as the deciders see it: typed data, entity references resolved to ids. */
export type DomainEvent = Fact & {
  readonly factId: string;
  readonly source: Source;
};

/** An event read back from (or about to go into) a stream. */
export type StreamEvent = DomainEvent & {
  readonly revision: number;
  /** Absent while the event is only decided, not yet committed. */
  readonly position?: string;
  readonly recordedAt?: string;
};

/** A fact of a stream as it stands now: its type and current data (the original's, or the latest correction's). */
export type StreamFact = Fact & {
  readonly factId: string;
  readonly revision: number;
  position?: string;
  recordedAt?: string;
  /** Data and source as first recorded: a retry with the same factId must match them. */
  readonly original: Pick<DomainEvent, 'data' | 'source'>;
  /** The factId of the FactRetracted that withdrew this fact. */
  readonly retractedBy?: string;
  /** The factId of the latest FactCorrected that replaced this fact's data. */
  readonly correctedBy?: string;
};

/**
 * A stream's fact versions in stream order, by factId, as a Map would keep them (a new
 * version of a fact keeps the fact's place). Copies share what they came from: the entries
 * and their index are append-only and shared, each copy knowing its own length, and the
 * versions that replace recorded ones (corrections, retractions: few) are each copy's own.
 * A copy that appends where another copy already appended first takes its own entries
 * (O(n), only when two decisions on one stream race).
 */
export class FactLog {
  private constructor(
    private entries: StreamFact[],
    private index: Map<string, number>,
    private length: number,
    private readonly replaced: Map<string, StreamFact>,
  ) {}

  static empty(): FactLog {
    return new FactLog([], new Map(), 0, new Map());
  }

  get size(): number {
    return this.length;
  }

  get(factId: string): StreamFact | undefined {
    const own = this.replaced.get(factId);
    if (own) return own;
    const i = this.index.get(factId);
    return i !== undefined && i < this.length ? this.entries[i] : undefined;
  }

  /** The current version of the i-th fact in stream order (0 <= i < size): a walk without an iterator. */
  at(i: number): StreamFact {
    const e = this.entries[i] as StreamFact;
    return this.replaced.size === 0 ? e : this.replaced.get(e.factId) ?? e;
  }

  /** The current versions, in stream order. */
  *values(): IterableIterator<StreamFact> {
    if (this.replaced.size === 0) {
      for (let i = 0; i < this.length; i++) yield this.entries[i] as StreamFact;
      return;
    }
    for (let i = 0; i < this.length; i++) {
      const e = this.entries[i] as StreamFact;
      yield this.replaced.get(e.factId) ?? e;
    }
  }

  /** A fact's new version (in its place), or a new fact (at the end). */
  set(factId: string, version: StreamFact): void {
    const i = this.index.get(factId);
    if (i !== undefined && i < this.length) {
      this.replaced.set(factId, version);
      return;
    }
    if (this.entries.length !== this.length) {
      // Another copy appended past this one's end: continue on entries of its own.
      this.entries = this.entries.slice(0, this.length);
      this.index = new Map(this.entries.map((e, k) => [e.factId, k]));
    }
    this.index.set(factId, this.length);
    this.entries.push(version);
    this.length += 1;
  }

  clone(): FactLog {
    return new FactLog(this.entries, this.index, this.length, new Map(this.replaced));
  }
}

export interface StreamState {
  /** The revision of the stream's last event; -1 for a stream that does not exist. */
  revision: number;
  readonly facts: FactLog;
}

/** A copy to decide against: O(1) plus the stream's replaced versions (FactLog). */
export function cloneState(state: StreamState): StreamState {
  return { revision: state.revision, facts: state.facts.clone() };
}

export function initialStreamState(): StreamState {
  return { revision: -1, facts: FactLog.empty() };
}

/** A deterministic JSON text: object keys sorted, so equal content gives equal text. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function fingerprint(e: Pick<DomainEvent, 'type' | 'data' | 'source'>): string {
  return canonical([e.type, e.data, e.source]);
}

export function evolveStream(state: StreamState, event: StreamEvent): StreamState {
  state.revision = event.revision;
  // One literal with every field, position and recordedAt too (undefined until the recording
  // that appends it sets them): adding them later gave each version a second backing store
  // and a map transition, ~6% of the event loop's time a fact in a batch (bench:record).
  const version: StreamFact = {
    type: event.type,
    data: event.data,
    factId: event.factId,
    revision: event.revision,
    original: { data: event.data, source: event.source },
    position: event.position,
    recordedAt: event.recordedAt,
  } as StreamFact;
  state.facts.set(event.factId, version);
  if (event.type === 'FactCorrected' || event.type === 'FactRetracted') {
    // Copy, never mutate, the version: states share version objects (see cloneState).
    const target = state.facts.get(event.data.fact);
    if (target) {
      state.facts.set(
        target.factId,
        event.type === 'FactRetracted'
          ? { ...target, retractedBy: event.factId }
          : { ...target, ...storedFact(target.type, event.data.data), correctedBy: event.factId },
      );
    }
  }
  return state;
}

/** The facts of some types that stand (not retracted), in stream order, current versions. */
export function standing<T extends FactType>(state: StreamState, ...types: T[]): Array<Extract<StreamFact, { type: T }>> {
  const out: Array<Extract<StreamFact, { type: T }>> = [];
  for (const f of state.facts.values()) if (!f.retractedBy && isOf(f, types)) out.push(f);
  return out;
}

/** The fact that brought the stream's entity into the record, if it stands. */
export function creation<T extends FactType>(state: StreamState, ...types: readonly T[]): Extract<StreamFact, { type: T }> | undefined {
  // By index, not values(): a generator and its results for every fact named, at every decision (bench:record's batch).
  const facts = state.facts;
  for (let i = 0; i < facts.size; i++) {
    const f = facts.at(i);
    if (isOf(f, types)) return f.retractedBy ? undefined : f;
  }
  return undefined;
}

function isOf<T extends FactType>(f: StreamFact, types: readonly T[]): f is Extract<StreamFact, { type: T }> {
  return (types as readonly FactType[]).includes(f.type);
}
