/**
 * The deciders' view of streams, kept between requests so a decision does not replay a whole
 * stream each time: each cached state is caught up with `readStream(fromRevision)` before use,
 * so the store stays the truth and the cache only saves work. Cached states are never mutated:
 * a decision works on a clone, and a committed clone replaces the entry. Key reservations are
 * cached once made (a key is never released). Bounded: least recently used streams go first.
 * An optimistic decision may use a cached state without catching up (`peek`): the append's
 * expected revision catches a stale one, and a refusal is always re-decided on fresh reads.
 */
import { isFactType, keyStream, storedFact, upcast, type KeyReserved, type Source } from '../../events/index.js';
import { cloneState, evolveStream, initialStreamState, keyDecider, type KeyState, type StreamEvent, type StreamState } from '../domain/index.js';
import type { EventStore, StoredEvent } from '../store/port.js';

/**
 * A stored event of an entity stream as the deciders take it, its data upcast to the current
 * schema (a correction's replacement as a fact of the type it corrects: `state` says which).
 */
export function toStreamEvent(e: StoredEvent, state?: StreamState): StreamEvent {
  if (!isFactType(e.type)) throw new Error(`${e.stream} holds a ${e.type} at revision ${e.revision}: entity streams hold facts only`);
  const meta = e.metadata as { factId?: string; source?: Source; schemaVersion?: number };
  return {
    ...storedFact(e.type, upcast(e.type, e.data, meta.schemaVersion, (factId) => state?.facts.get(factId)?.type)),
    factId: meta.factId ?? '',
    source: meta.source as Source,
    revision: e.revision,
    position: e.position,
    recordedAt: e.recordedAt,
  };
}

export class StateCache {
  private readonly streams = new Map<string, StreamState>();
  private readonly keys = new Map<string, KeyState>();
  private readonly standing = new Set<string>();

  constructor(
    private readonly store: EventStore,
    /** Default 20,000 streams. */
    private readonly capacity = 20_000,
  ) {}

  /** The committed state of a stream, caught up with the store. Do not mutate it. */
  async load(stream: string): Promise<StreamState> {
    for (;;) {
      const cached = this.streams.get(stream);
      const base = cached ?? initialStreamState();
      const events = await this.store.readStream(stream, { fromRevision: base.revision + 1 });
      if (this.streams.get(stream) !== cached) continue; // replaced meanwhile: read again from it
      if (events.length === 0) {
        if (cached) this.touch(stream, cached);
        return base;
      }
      const next = cloneState(base);
      for (const e of events) evolveStream(next, toStreamEvent(e, next));
      this.put(stream, next);
      return next;
    }
  }

  /** The cached state as it is, not caught up (an optimistic decision; the append checks it). */
  peek(stream: string): StreamState | undefined {
    return this.streams.get(stream);
  }

  /**
   * Entities known to stand (registered, not retracted) as of this process's reads and writes.
   * A retraction by another process is seen only when the stream is read again.
   */
  isStanding(stream: string): boolean {
    return this.standing.has(stream);
  }

  noteStanding(stream: string, standing: boolean): void {
    if (!standing) this.standing.delete(stream);
    else {
      if (this.standing.size >= this.capacity * 10) this.standing.clear();
      this.standing.add(stream);
    }
  }

  /** A state decided and committed by this process, at least as new as the cached one. */
  offer(stream: string, state: StreamState): void {
    const cached = this.streams.get(stream);
    if (!cached || cached.revision < state.revision) this.put(stream, state);
  }

  drop(stream: string): void {
    this.streams.delete(stream);
  }

  /** A reservation this process made or read: keys are never released, so it stays true. */
  cachedKey(key: string): KeyState | undefined {
    return this.keys.get(key);
  }

  rememberKey(key: string, state: KeyState): void {
    if (state.reservation) this.keys.set(key, state);
  }

  async loadKey(key: string): Promise<KeyState> {
    const cached = this.keys.get(key);
    if (cached) return cached;
    let state = keyDecider.initialState();
    for (const e of await this.store.readStream(keyStream(key))) {
      state = keyDecider.evolve(state, { revision: e.revision, data: e.data as KeyReserved });
    }
    if (state.reservation) this.keys.set(key, state);
    return state;
  }

  private touch(stream: string, state: StreamState): void {
    this.streams.delete(stream);
    this.streams.set(stream, state);
  }

  private put(stream: string, state: StreamState): void {
    this.touch(stream, state);
    if (this.streams.size > this.capacity) {
      const oldest = this.streams.keys().next().value as string;
      this.streams.delete(oldest);
    }
  }
}
