/**
 * The event loop's warm-up before /readyz (src/server.ts starts it once listening): holder
 * questions asked of the app itself (`inject`), through everything a client's question meets
 * on this thread (the hooks, Fastify's routing, the query check, the read pool and its batched
 * messages to the worker, the answer's ETag and headers), their answers thrown away.
 *
 * Why: the read worker warms itself before it says ready (projections/read-warm-up.ts), but
 * the event loop's side of a holder question was still cold when the first clients came: V8
 * compiling the route's path tier by tier under the first 32 connections. On the 1,000,000-fact
 * record the first 0.25 s of holder questions after /readyz had a p99 of ~19–26 ms against
 * 6–10 steady (bench/read.ts's cold slices; session 33).
 *
 * Nothing is answered from it: what stays is compiled code and the worker's pages, as any
 * question leaves them. It is not client traffic and is not counted as such: its requests
 * carry WARM_UP_HEADER with a value made at random by this process (so no client can send
 * it), and `isWarmUp` keeps them out of the request logs (app.ts's LogController), the
 * request-duration histogram (routes/metrics.ts), the per-client rate limit and the load
 * shedding (shedding.ts). Bounded in questions and in time, and never fatal: an error ends
 * it early, said in its state (/readyz's `warmUp` part) and logged once.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface AppWarmUpBudget {
  /** At most this many holder questions. */
  readonly questions: number;
  /** Asks no new question once this much time has passed since its questions began (ms: counted from after the office list it reads first), whatever is left; those in flight (up to `concurrency`) are waited for `graceMs` more at most. */
  readonly ms: number;
  /** How long past `ms` the questions in flight are waited for before the warm-up gives up on them (ms; default 10,000): a question that never answers does not hold /readyz. */
  readonly graceMs?: number;
  /** Questions in flight at once (the read pool batches what one turn sends). */
  readonly concurrency: number;
  /** Gives up waiting for a read worker after this long (ms): it then warms nothing. */
  readonly waitMs: number;
}

/** The server's (src/server.ts; `questions` and `ms` from ANNALS_WARM_UP_QUESTIONS and ANNALS_WARM_UP_MS). */
export const APP_WARM_UP: AppWarmUpBudget = { questions: 500, ms: 1_000, concurrency: 32, waitMs: 30_000 };

export interface AppWarmUpState {
  /** none: not started (an app built without the server, e.g. a test's); waiting: for a read worker; running; done. */
  readonly state: 'none' | 'waiting' | 'running' | 'done';
  /** Holder questions answered (any status). */
  readonly questions: number;
  /** Of them, answered 200. */
  readonly answered: number;
  readonly ms: number;
  /** Why it ended early, when it did. */
  readonly error?: string;
}

/** The header that marks a warm-up request; its value is WARM_UP_SECRET. */
export const WARM_UP_HEADER = 'x-annals-warm-up';
/** Made at random per process and never sent out: no client can mark a request as the warm-up. */
const WARM_UP_SECRET = randomBytes(18).toString('base64url');

/** Whether this request is the warm-up's own (not a client's). */
export function isWarmUp(request: Pick<FastifyRequest, 'headers'>): boolean {
  return request.headers[WARM_UP_HEADER] === WARM_UP_SECRET;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The event loop's warm-up before /readyz (warm-up.ts): its state. */
    readonly warmUp: { readonly current: AppWarmUpState };
  }
}

/** Offices asked about: the first page of the office list. */
const OFFICES = 200;

/**
 * Waits for a read worker, then asks holder questions of `app` within `budget`. The state is
 * on `app.warmUp.current` throughout; /readyz is 503 until it is `done`.
 */
export async function warmUpApp(app: FastifyInstance, budget: AppWarmUpBudget = APP_WARM_UP): Promise<AppWarmUpState> {
  const box = app.warmUp as { current: AppWarmUpState };
  const set = (s: AppWarmUpState): AppWarmUpState => (box.current = s);
  if (budget.questions <= 0) return set({ state: 'done', questions: 0, answered: 0, ms: 0 });
  set({ state: 'waiting', questions: 0, answered: 0, ms: 0 });
  const pool = app.readPool;
  // Without workers the event loop answers every question by design: its path is warmed the same way.
  if (pool !== null) {
    const t = performance.now();
    while (pool.ready === 0 && performance.now() - t < budget.waitMs) await new Promise((r) => setTimeout(r, 5));
    if (pool.ready === 0) return set({ state: 'done', questions: 0, answered: 0, ms: 0, error: `no read worker was ready within ${budget.waitMs} ms` });
  }
  const t0 = performance.now();
  /** When its holder questions began (after the office list): `budget.ms` counts from here. */
  let asking = t0;
  let asked = 0;
  let answered = 0;
  set({ state: 'running', questions: 0, answered: 0, ms: 0 });
  const headers = { [WARM_UP_HEADER]: WARM_UP_SECRET };
  // A question that never answers (a read worker stuck in a statement) must not hold /readyz:
  // past its time and the grace, the warm-up gives up on what is in flight, and says so. The
  // office list is bounded so too, and the questions get the whole bound again once it is read.
  const limitMs = Math.max(0, budget.ms) + (budget.graceMs ?? 10_000);
  let timer: NodeJS.Timeout | undefined;
  let fail: (e: Error) => void = () => undefined;
  let ended = false;
  const arm = (): void => {
    clearTimeout(timer);
    // A list that answered after the warm-up gave up on it starts no timer.
    if (ended) return;
    timer = setTimeout(() => fail(new Error(`the routes had not answered its questions after ${limitMs} ms: given up, /readyz not held for them`)), limitMs);
  };
  const giveUp = new Promise<never>((_, reject) => {
    fail = reject;
  });
  arm();
  try {
    await Promise.race([ask(), giveUp]);
    return set({ state: 'done', questions: asked, answered, ms: performance.now() - t0 });
  } catch (err) {
    return set({ state: 'done', questions: asked, answered, ms: performance.now() - t0, error: err instanceof Error ? err.message : String(err) });
  } finally {
    ended = true;
    clearTimeout(timer);
  }

  async function ask(): Promise<void> {
    const list = await app.inject({ method: 'GET', url: `/v1/offices?limit=${OFFICES}`, headers });
    if (list.statusCode !== 200) throw new Error(`the office list answered ${list.statusCode}`);
    const offices = (JSON.parse(list.body) as { offices: { id: string }[] }).offices.map((o) => o.id);
    if (offices.length === 0) return;
    // The cap counts from here: under load the list alone could take the whole of it, and the
    // warm-up then asked no question at all (seen at a load of ~30: 0 questions before /readyz).
    asking = performance.now();
    arm();
    // Past moments at which the record already held what it holds now (the last applied event's
    // recording time, and the seconds before it), so past questions take the answer's path, not a 404's.
    const last = Date.parse(app.readModels.queries.snapshot().recordedAt ?? new Date().toISOString());
    const url = (i: number): string => {
      // Days over 1950–2049, partial and full dates; every other question at a past knownAt.
      const year = 1950 + ((i * 37) % 100);
      const day = i % 3 === 0 ? `${year}` : `${year}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
      const office = encodeURIComponent(offices[i % offices.length] as string);
      return i % 2 === 0 ? `/v1/offices/${office}/holder?validAt=${day}` : `/v1/offices/${office}/holder?validAt=${day}&knownAt=${encodeURIComponent(new Date(last - (i % 64) * 1_000).toISOString())}`;
    };
    const one = async (): Promise<void> => {
      while (asked < budget.questions && performance.now() - asking < budget.ms) {
        const r = await app.inject({ method: 'GET', url: url(asked++), headers });
        if (r.statusCode === 200) answered++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, budget.concurrency) }, one));
  }
}
