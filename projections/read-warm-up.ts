/**
 * A read worker's warm-up, before it says ready (read-worker.ts): holder questions about a few
 * offices of the record, at days spread over a century and at two knownAt (now, and the
 * recording time of the last event applied), their answers thrown away.
 *
 * Why: right after a start the first questions cost several times their steady CPU. On the
 * 1,000,000-fact record a holder question took ~300–370 µs of the worker's CPU for the first
 * 200 and ~230–260 µs for the next 1,800, against ~60 µs steady: V8 compiling the hot path
 * tier by tier, statements prepared on first use, and SQLite's cache of this connection
 * empty, the upper pages of every index read from the file (bench/read.ts: holder now p99
 * 13.9 ms with the cold start included, 10.8 ms steady). Warmed by ~1,000 questions, the
 * first 200 real ones took ~210–280 µs and the next 1,800 ~130–225 µs.
 *
 * Nothing is answered from it: what stays is what any question leaves behind (compiled code,
 * prepared statements, pages in SQLite's cache). The snapshot it read is ended after, so the
 * first real question reads what the read models hold then. Bounded in questions and in time
 * (the worker is not ready until it ends: questions are answered on the event loop meanwhile,
 * read-pool.ts), and never fatal: an error ends it early, said in the result.
 */
import type { ReadQueries } from './queries.js';

export interface WarmUpBudget {
  /** At most this many holder questions. */
  readonly questions: number;
  /** Stops once this much time has passed (ms), whatever is left of `questions`. */
  readonly ms: number;
}

export interface WarmedUp {
  /** Holder questions asked. */
  readonly questions: number;
  readonly ms: number;
  /** Why it ended early, when it did. */
  readonly error?: string;
}

/** ~150 ms on this 2-core machine when idle: the worker is ready well before /readyz (1.4 s after a restart). */
export const WARM_UP: WarmUpBudget = { questions: 2_000, ms: 250 };
/** Offices asked about: the first page of the office list. */
const OFFICES = 200;

export function warmUp(queries: ReadQueries, budget: WarmUpBudget = WARM_UP): WarmedUp {
  const t0 = performance.now();
  let asked = 0;
  try {
    if (budget.questions <= 0) return { questions: 0, ms: 0 };
    const now = new Date().toISOString();
    const offices = queries.offices(undefined, now, { after: null, limit: OFFICES })?.items.map((o) => o.id) ?? [];
    const recorded = queries.snapshot().recordedAt ?? now;
    const at = [now, recorded < now ? recorded : now];
    for (; offices.length > 0 && asked < budget.questions; asked++) {
      if (asked % 50 === 0 && performance.now() - t0 >= budget.ms) break;
      // Days over 1950–2049 and every month, as partial and full dates: each branch of the search.
      const year = 1950 + ((asked * 37) % 100);
      const month = String(1 + (asked % 12)).padStart(2, '0');
      const day = asked % 3 === 0 ? `${year}` : `${year}-${month}-${String(1 + (asked % 28)).padStart(2, '0')}`;
      queries.holderJson(offices[asked % offices.length] as string, day, at[asked % 2] as string);
    }
    return { questions: asked, ms: performance.now() - t0 };
  } catch (err) {
    return { questions: asked, ms: performance.now() - t0, error: err instanceof Error ? err.message : String(err) };
  } finally {
    queries.invalidate();
  }
}
