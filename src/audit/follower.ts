/**
 * The main thread's side of the audit follower thread (follower-thread.ts). The server reads
 * audit.db itself (an AuditLog opened with `follow: false`) and asks the thread only for what
 * needs the follower: signing a head now, and knowing when a just-recorded position is in
 * the tree (read-your-writes of inclusion proofs). The store pokes the thread after each
 * commit so it reads on at once. A thread that dies is started again a second later; until
 * then signing answers "unavailable" and proofs of new positions wait or 404 as before.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Position } from '../store/port.js';
import { PositionWaiters } from '../store/position-waiters.js';
import type { MetricsSink } from '../metrics/sink.js';
import { ThreadClient } from '../store/thread-client.js';
import type { FollowerInit, FollowerReply, FollowerRequest } from './follower-protocol.js';
import type { SignedTreeHead } from './signing.js';
import type { FeederStatus } from './feeder.js';
import { LogMismatchError } from '../store/identity.js';
import { AuditError, type AuditLog } from './tree-head.js';

export interface AuditFollower {
  /** The thread's state as it last said (feeder.ts). */
  status(): FeederStatus;
  /** True once the tree holds `position`; false after `timeoutMs`. */
  waitFor(position: Position, timeoutMs: number): Promise<boolean>;
  signHead(): Promise<SignedTreeHead>;
  /** The store committed: read on now. */
  poke(): void;
  /** The writer hands its commits to this thread (and to each thread started after it); false: it cannot (inline writer), poke instead. */
  feedFrom(source: CommittedSource): boolean;
  close(): Promise<void>;
}

/** Where a follower thread gets the writer's commits from (SqliteEventStore.handCommitted). */
export interface CommittedSource {
  handCommitted(name: string, deliver: (port: MessagePort) => void): boolean;
}

export async function startAuditFollower(init: FollowerInit, log: Logger, metrics?: MetricsSink): Promise<AuditFollower> {
  let audited: Position | null = null;
  let status: FeederStatus = { state: 'following', failures: 0, lastError: null };
  let closing = false;
  const waiters = new PositionWaiters();
  let source: CommittedSource | null = null;
  const connect = (w: Worker): boolean => source?.handCommitted('audit follower', (port) => w.postMessage({ kind: 'feed', port } satisfies FollowerRequest, [port])) ?? false;

  const advance = (position: Position): void => {
    if (audited === null || position > audited) audited = position;
    waiters.reached(audited);
  };

  const client: ThreadClient<FollowerRequest, FollowerReply> = new ThreadClient<FollowerRequest, FollowerReply>({
    module: new URL(`./follower-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
    workerData: init,
    label: 'audit follower',
    metrics,
    log,
    restart: 'later',
    unavailable: () => new AuditError('unavailable', 'the audit follower thread stopped; retry shortly'),
    handshake: (m) => (m.kind === 'ready' ? { ready: true } : m.kind === 'failed' ? { failed: m.mismatch ? new LogMismatchError(m.message) : new Error(`the audit follower thread could not start: ${m.message}`) } : null),
    onStart: (w) => connect(w),
    onExit: (code) => {
      status = { ...status, state: 'stopped', lastError: `the audit follower thread exited (${code})` };
      if (!closing) log.error({ code }, 'audit follower thread exited; starting another in 1 s');
    },
    onError: (e) => log.error({ err: e }, 'audit follower thread failed'),
    onRestartFailed: (e) => log.error({ err: e }, 'audit follower thread did not restart'),
    onMessage: (m) => {
      switch (m.kind) {
        case 'ready':
          status = m.status;
          if (m.audited !== null) advance(m.audited);
          break;
        case 'status':
          status = m.status;
          break;
        case 'audited':
          advance(m.position);
          break;
        case 'signed':
          client.settle(m.seq, m.head);
          break;
        case 'sign-failed':
          client.fail(m.seq, new AuditError(m.auditKind ?? 'unavailable', m.message));
          break;
        default:
          break;
      }
    },
  });

  await client.start();

  return {
    status: () => status,
    waitFor(position, timeoutMs) {
      if (audited !== null && audited >= position) return Promise.resolve(true);
      return closing ? Promise.resolve(false) : waiters.wait(position, timeoutMs);
    },
    signHead: () => client.request<SignedTreeHead>((seq) => ({ kind: 'sign', seq })),
    poke() {
      client.post({ kind: 'poke' });
    },
    feedFrom(s) {
      source = s;
      const w = client.worker;
      return w !== null && connect(w);
    },
    async close() {
      closing = true;
      waiters.cancelAll();
      await client.close({ kind: 'close' });
    },
  };
}

/**
 * The server's AuditLog when a follower thread feeds audit.db: reads from `reader` (opened
 * with follow: false), signing and read-your-writes through the thread.
 */
export function withFollower(reader: AuditLog, follower: AuditFollower): AuditLog {
  return {
    publicKeyPem: reader.publicKeyPem,
    keyId: reader.keyId,
    head: () => reader.head(),
    async status() {
      return { ...(await reader.status()), ...follower.status() };
    },
    state: () => reader.state(),
    heads: (range) => reader.heads(range),
    signHead: () => follower.signHead(),
    async inclusionProof(position, treeSize) {
      // Read-your-writes: a position just recorded may be a moment away from the tree.
      await follower.waitFor(position, 500);
      return reader.inclusionProof(position, treeSize);
    },
    consistencyProof: (fromSize, toSize) => reader.consistencyProof(fromSize, toSize),
    verify: (onProgress) => reader.verify(onProgress),
    waitFor: (position, timeoutMs) => follower.waitFor(position, timeoutMs),
    async close() {
      await follower.close();
      await reader.close();
    },
  };
}
