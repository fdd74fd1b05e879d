/**
 * Whether this process should be sent traffic (/readyz), and if not, which part is at fault:
 * the read models or the audit tree, each not ready while it is stopped or retrying after a
 * failure, catching up, further behind the log than ANNALS_READY_MAX_LAG_MS (the age of the
 * oldest event it has not taken in), or holding parked events (an event it could not apply,
 * or would not vouch for, waits for an operator); and the read workers, not ready while none
 * of them is (starting and warming up, or starting again after one stopped), since the event
 * loop then answers every read question itself, at a fraction of the rate the process is
 * sized for; and the event loop's warm-up (src/http/warm-up.ts), not ready while it waits for
 * a worker or asks its questions, so that the first clients do not meet a cold route.
 */
import type { Runtime } from '../runtime.js';
import type { EventStore, Position } from '../store/port.js';

export interface PartReadiness {
  readonly ready: boolean;
  readonly state: string;
  readonly position: Position | null;
  /** How long the oldest event not yet taken in has been in the log (ms); 0 when none. */
  readonly lagMs: number;
  readonly parked: number;
  readonly lastError: string | null;
  /** Why it is not ready, for an operator; empty when ready. */
  readonly problems: string[];
}

export interface WorkersReadiness {
  readonly ready: boolean;
  /** Read workers configured (ANNALS_READ_WORKERS; 0: reads are answered on the event loop by design). */
  readonly workers: number;
  /** Of them, ready to answer now. */
  readonly running: number;
  readonly problems: string[];
}

export interface WarmUpReadiness {
  readonly ready: boolean;
  /** none (not started: an app that is not warmed), waiting (for a read worker), running, done. */
  readonly state: string;
  /** Questions it asked, of them answered 200, and how long they took (ms). */
  readonly questions: number;
  readonly answered: number;
  readonly ms: number;
  readonly problems: string[];
}

export interface ServiceReadiness {
  readonly ready: boolean;
  readonly readModels: PartReadiness;
  readonly audit: PartReadiness;
  readonly readWorkers: WorkersReadiness;
  readonly warmUp: WarmUpReadiness;
}

/** What the warm-up says of itself (src/http/warm-up.ts's AppWarmUpState). */
interface WarmUpState {
  readonly state: string;
  readonly questions: number;
  readonly answered: number;
  readonly ms: number;
}

/** `reads`: the read workers (the runtime's `reads`, the app's `readPool`), null when there are none; `warmUp`: the app's warm-up, null when it has none. */
export async function serviceReadiness(runtime: Pick<Runtime, 'store' | 'readModels' | 'audit' | 'config'>, reads: { readonly ready: number } | null = null, warmUp: WarmUpState | null = null): Promise<ServiceReadiness> {
  const maxLagMs = runtime.config.readyMaxLagMs;
  const [readModels, audit] = await Promise.all([readModelsPart(runtime, maxLagMs), auditPart(runtime, maxLagMs)]);
  const readWorkers = workersPart(reads, runtime.config.readWorkers);
  const warm = warmUpPart(warmUp);
  return { ready: readModels.ready && audit.ready && readWorkers.ready && warm.ready, readModels, audit, readWorkers, warmUp: warm };
}

/** Not ready while it waits for a worker or asks its questions; done (early or not) or never started, ready. */
function warmUpPart(w: WarmUpState | null): WarmUpReadiness {
  const s = w ?? { state: 'none', questions: 0, answered: 0, ms: 0 };
  const problems = s.state === 'waiting' || s.state === 'running' ? [`warm-up: ${s.state === 'waiting' ? 'waiting for a read worker' : `asking the routes ${s.questions} question(s) so far`} before the first clients`] : [];
  return { ready: problems.length === 0, state: s.state, questions: s.questions, answered: s.answered, ms: Math.round(s.ms), problems };
}

/** Ready with one worker ready: with more, one starting again leaves the others answering. */
function workersPart(reads: { readonly ready: number } | null, size: number): WorkersReadiness {
  if (reads === null) return { ready: true, workers: 0, running: 0, problems: [] };
  const running = reads.ready;
  const problems = running > 0 ? [] : [`read workers: none of ${size} ready yet (starting and warming up, or starting again after one stopped); reads are answered on the event loop meanwhile`];
  return { ready: problems.length === 0, workers: size, running, problems };
}

async function readModelsPart(runtime: Pick<Runtime, 'store' | 'readModels'>, maxLagMs: number): Promise<PartReadiness> {
  const r = runtime.readModels.readiness();
  const problems: string[] = [];
  // During a rebuild reads go on from the old file until the fresh one is swapped in: not a fault.
  if (!r.rebuilding) {
    // A stop with an error is a file that will not open (after a failed rebuild), retried; without one, a thread restarting.
    if (r.state === 'stopped') problems.push(`read models: stopped (${r.lastError ?? 'their thread is restarting'})`);
    else if (r.state === 'retrying') problems.push(`read models: retrying after a failure (${r.lastError ?? 'unknown'}); they resume by themselves`);
    else if (!r.ready) problems.push(r.lastError === null ? 'read models: catching up with the log' : `read models: not answering (${r.lastError})`);
  }
  if (r.parked > 0) problems.push(`read models: ${r.parked} parked event(s) a projection could not apply; see GET /v1/admin/projections, fix, then POST /v1/admin/rebuild`);
  const lagMs = await lag(runtime.store, r.position);
  if (lagMs > maxLagMs) problems.push(`read models: ${Math.round(lagMs / 1000)} s behind the log (more than ANNALS_READY_MAX_LAG_MS=${maxLagMs})`);
  return { ready: problems.length === 0, state: r.state, position: r.position, lagMs, parked: r.parked, lastError: r.lastError, problems };
}

async function auditPart(runtime: Pick<Runtime, 'store' | 'audit'>, maxLagMs: number): Promise<PartReadiness> {
  const s = await runtime.audit.status();
  const problems: string[] = [];
  if (s.state === 'stopped') problems.push(`audit tree: stopped (${s.lastError ?? 'its follower is restarting'})`);
  else if (s.state === 'retrying') problems.push(`audit tree: retrying after a failed write (${s.failures} in a row: ${s.lastError ?? 'unknown'}); it catches up by itself`);
  else if (s.state === 'rebuilding') problems.push('audit tree: being rebuilt up to the head kept beside the key; nothing is signed until it matches');
  for (const p of s.parked.slice(0, 3)) problems.push(`audit tree: stopped before position ${p.position} (${p.reason}): ${p.detail}`);
  if (s.state === 'halted' && s.parked.length === 0) problems.push(`audit tree: halted (${s.lastError ?? 'unknown'})`);
  const lagMs = await lag(runtime.store, s.lastPosition);
  if (lagMs > maxLagMs && s.parked.length === 0) problems.push(`audit tree: ${Math.round(lagMs / 1000)} s behind the log (more than ANNALS_READY_MAX_LAG_MS=${maxLagMs})`);
  return { ready: problems.length === 0, state: s.state, position: s.lastPosition, lagMs, parked: s.parked.length, lastError: s.lastError, problems };
}

/** Age of the first event after `position` (0 when there is none, or the store cannot say now). */
async function lag(store: EventStore, position: Position | null): Promise<number> {
  try {
    const [next] = await store.readAll({ ...(position === null ? {} : { after: position }), limit: 1 });
    return next === undefined ? 0 : Math.max(0, Date.now() - Date.parse(next.recordedAt));
  } catch {
    return 0;
  }
}
