/**
 * A value told at most every so often, the latest one: at once after a quiet spell, and the
 * values that follow within the spell as one, the last of them, at its end. The audit follower
 * tells the event loop how far the tree got this way (follower-thread.ts): under load, commits
 * come every few ms, and a message for each would wake the event loop once more for every
 * group of single facts, for the few proofs that wait on it.
 */
export interface Coalesced<T> {
  tell(value: T): void;
  /** Tells the value still waiting now (before the thread closes). */
  flush(): void;
}

export interface CoalescedClock {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. The default timer never keeps the thread alive. */
  later(fn: () => void, ms: number): () => void;
}

const REAL: CoalescedClock = {
  now: () => performance.now(),
  later(fn, ms) {
    const timer = setTimeout(fn, ms).unref();
    return () => clearTimeout(timer);
  },
};

export function coalesced<T>(tell: (value: T) => void, everyMs: number, clock: CoalescedClock = REAL): Coalesced<T> {
  let last = -Infinity;
  let waiting: { value: T } | null = null;
  let cancel: (() => void) | null = null;
  const flush = (): void => {
    cancel?.();
    cancel = null;
    if (waiting === null) return;
    const { value } = waiting;
    waiting = null;
    last = clock.now();
    tell(value);
  };
  return {
    tell(value) {
      waiting = { value };
      if (cancel !== null) return;
      const wait = last + everyMs - clock.now();
      if (wait <= 0) flush();
      else cancel = clock.later(flush, wait);
    },
    flush,
  };
}
