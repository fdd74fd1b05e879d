/**
 * The witness webhook (ANNALS_AUDIT_WITNESS_URL): each newly signed tree head is POSTed, as
 * JSON, to a URL outside this service — the same document GET /v1/audit/tree-head answers
 * (`{ head, publicKey }`), so the receiver can keep it and `annals audit verify --head` takes
 * it as it is. A head a witness already holds cannot be contradicted by a rewritten history,
 * even by whoever holds the key.
 *
 * It watches the latest signed head (whichever thread signed it: audit.db is the one place
 * heads are written) and pushes the newest one; heads signed while a push is failing are not
 * queued, the newest replaces them (a witness needs the latest; any earlier one it can ask
 * the service for). A failure (network, timeout, any non-2xx answer) is retried with
 * exponential backoff (retryMs doubling to maxRetryMs); `status()` says what was last pushed,
 * how many attempts failed in a row, the last error and when the next attempt is. A
 * user:password in the URL is sent as Basic authorization and shown nowhere.
 */
import type { Logger } from 'pino';
import type { SignedTreeHead } from './signing.js';

export interface WitnessStatus {
  /** The witness's URL without credentials or query. */
  readonly url: string;
  /** The last head the witness accepted (2xx), and when. */
  readonly lastPushed: { treeSize: number; rootHash: string; timestamp: string } | null;
  readonly pushedAt: string | null;
  /** Failed attempts since the last accepted push. */
  readonly failures: number;
  readonly totalFailures: number;
  readonly lastError: string | null;
  /** When the next attempt is due while one is failing (RFC 3339), else null. */
  readonly nextAttemptAt: string | null;
}

export interface Witness {
  status(): WitnessStatus;
  stop(): Promise<void>;
}

export interface WitnessOptions {
  readonly url: string;
  /** The latest signed head, and the public key that goes with it. */
  readonly head: () => Promise<SignedTreeHead | null>;
  readonly publicKey: { keyId: string; pem: string };
  readonly log: Logger;
  /** How often to look for a new head. Default 1000 ms. */
  readonly pollMs?: number;
  /** First pause after a failure, doubling up to maxRetryMs. Defaults 1000 and 60000 ms. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  /** A push not answered by then fails. Default 10000 ms. */
  readonly timeoutMs?: number;
}

export function startWitness(opts: WitnessOptions): Witness {
  const pollMs = opts.pollMs ?? 1000;
  const retryMs = opts.retryMs ?? 1000;
  const maxRetryMs = opts.maxRetryMs ?? 60_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let lastPushed: SignedTreeHead | null = null;
  let pushedAt: string | null = null;
  let failures = 0;
  let totalFailures = 0;
  let lastError: string | null = null;
  let nextAttemptAt: number | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const abort = new AbortController();
  // The URL may carry a credential (user:password@, ?token=): neither status nor logs show it.
  // fetch takes no user:password@ in a URL: it goes as Basic authorization.
  const parsed = new URL(opts.url);
  const shown = `${parsed.origin}${parsed.pathname}`;
  const authorization = parsed.username || parsed.password ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}` : null;
  parsed.username = '';
  parsed.password = '';
  const target = parsed.toString();

  const newer = (h: SignedTreeHead): boolean => lastPushed === null || h.treeSize > lastPushed.treeSize || (h.treeSize === lastPushed.treeSize && h.timestamp > lastPushed.timestamp);

  async function push(head: SignedTreeHead): Promise<void> {
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ head, publicKey: { keyId: opts.publicKey.keyId, algorithm: 'Ed25519', pem: opts.publicKey.pem } }),
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`the witness answered ${res.status}`);
      lastPushed = head;
      pushedAt = new Date().toISOString();
      failures = 0;
      lastError = null;
      nextAttemptAt = null;
    } catch (err) {
      if (stopped) return;
      failures += 1;
      totalFailures += 1;
      lastError = err instanceof Error ? err.message : String(err);
      const wait = Math.min(maxRetryMs, retryMs * 2 ** (failures - 1));
      nextAttemptAt = Date.now() + wait;
      opts.log.warn({ url: shown, treeSize: head.treeSize, failures, retryInMs: wait, err: lastError }, 'witness push failed; retrying');
    }
  }

  async function tick(): Promise<void> {
    if (nextAttemptAt !== null && Date.now() < nextAttemptAt) return;
    const head = await opts.head().catch(() => null);
    if (head && newer(head)) await push(head);
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, pollMs);
    timer.unref();
  };
  running = tick().finally(schedule);

  return {
    status() {
      return {
        url: shown,
        lastPushed: lastPushed && { treeSize: lastPushed.treeSize, rootHash: lastPushed.rootHash, timestamp: lastPushed.timestamp },
        pushedAt,
        failures,
        totalFailures,
        lastError,
        nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
      };
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      abort.abort();
      await running.catch(() => undefined);
    },
  };
}
