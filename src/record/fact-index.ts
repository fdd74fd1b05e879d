/**
 * factId → stream, for the facts a correction or retraction names by factId only. The port
 * has no read by event id, so the recorder keeps this small index itself: fed by its own
 * appends as they return (so a correction can follow its original at once), and, when a
 * lookup misses, by reading the log from where it last read up to the head (facts recorded
 * by other processes, or before this one started). Reading lazily, rather than subscribing
 * from the start, keeps a busy writer from re-reading every event it has just written; the
 * first miss after start pays for reading the log once.
 *
 * Memory: one Map entry per fact, about 100–150 bytes (1M facts ≈ 100–150 MB). Stream names
 * are interned, so facts of one stream share the string.
 */
import { FACT_TYPES } from '../../events/index.js';
import type { EventStore, Position } from '../store/port.js';

export interface FactIndex {
  get(factId: string): string | undefined;
  /** Like get, but on a miss first reads what the log holds beyond what was read before. */
  lookup(factId: string): Promise<string | undefined>;
  set(factId: string, stream: string): void;
  /** Reads the log up to its head now. */
  catchUp(): Promise<void>;
}

/** Events read per page while catching up. */
const PAGE = 5_000;

export function openFactIndex(store: EventStore): FactIndex {
  const byFact = new Map<string, string>();
  const streams = new Map<string, string>();
  let read: Position | undefined;
  let running: Promise<void> | undefined;

  const intern = (s: string): string => {
    const known = streams.get(s);
    if (known) return known;
    streams.set(s, s);
    return s;
  };

  async function readToHead(): Promise<void> {
    for (;;) {
      const page = await store.readAll({ ...(read !== undefined ? { after: read } : {}), limit: PAGE, types: FACT_TYPES });
      for (const e of page) {
        const factId = e.metadata['factId'];
        if (typeof factId === 'string') byFact.set(factId, intern(e.stream));
        read = e.position;
      }
      if (page.length < PAGE) return;
    }
  }

  function catchUp(): Promise<void> {
    // One reader at a time; a caller arriving while it runs waits for the next round, which
    // surely starts after the caller's own question was asked.
    const next = (running ?? Promise.resolve()).then(readToHead, readToHead);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    running = settled;
    void settled.then(() => {
      if (running === settled) running = undefined;
    });
    return next;
  }

  return {
    get: (factId) => byFact.get(factId),
    async lookup(factId) {
      const hit = byFact.get(factId);
      if (hit !== undefined) return hit;
      await catchUp();
      return byFact.get(factId);
    },
    set(factId, stream) {
      byFact.set(factId, intern(stream));
    },
    catchUp,
  };
}
