/**
 * The audit follower in a worker thread of its own: follows the event store with its own
 * connection, appends leaves to audit.db and signs heads (tree-head.ts with `follow: true`),
 * so hashing and audit.db's commits leave the main thread's event loop free. The main thread
 * opens the same audit.db read-only (follow: false) for heads and proofs; see follower.ts.
 * The thread's start-up, handshake and close are src/store/thread-worker.ts'; its log
 * connection is src/store/thread-follower.ts'.
 */
import { threadLogger } from '../logging.js';
import { followingFailed, openFollowedLog } from '../store/thread-follower.js';
import { serveThread } from '../store/thread-worker.js';
import type { FollowerInit, FollowerReply, FollowerRequest } from './follower-protocol.js';
import { AuditError, openAuditLog } from './tree-head.js';
import { keyPaths, loadKeys } from './keys.js';
import type { Position } from '../store/port.js';
import { coalesced } from './follower-coalesced.js';

/**
 * How often, at most, the event loop hears how far the tree got. Only a proof just after a
 * write waits for it (withFollower's read-your-writes, bounded at 500 ms), yet a message a
 * commit wakes the event loop once more a group of single facts: under load, commits come
 * every few ms. The first position after a quiet spell is told at once; the ones that follow
 * within this time go as one, the last of them.
 */
const AUDITED_EVERY_MS = 50;

await serveThread<FollowerInit, FollowerRequest, FollowerReply>({
  name: 'follower-thread',
  failed: followingFailed,
  async open({ init, post, undo }) {
    const log = threadLogger(init.logLevel, 'audit follower');
    // The embedded store is read through its seal check: an event this service did not write is not taken in.
    const keys = loadKeys(keyPaths(init.dataDir, init.keyFile), log, { create: false });
    const followed = await openFollowedLog(init, { sealKey: keys.sealKey });
    const audited = coalesced((position: Position) => post({ kind: 'audited', position }), AUDITED_EVERY_MS);
    undo(() => followed.store.close());
    const audit = await openAuditLog({
      store: followed.sqlite?.checked() ?? followed.store,
      dataDir: init.dataDir,
      keyFile: init.keyFile,
      createKey: false,
      log,
      onAudited: (position) => audited.tell(position),
      onStatus: (status) => post({ kind: 'status', status }),
    });
    const { state, failures, lastError } = await audit.status();
    return {
      ready: { kind: 'ready', audited: (await audit.state()).lastPosition, status: { state: state === 'reading' ? 'following' : state, failures, lastError } },
      onMessage(msg) {
        if (followed.handle(msg) || msg.kind !== 'sign') return;
        audit.signHead().then(
          (head) => post({ kind: 'signed', seq: msg.seq, head }),
          (e: unknown) => post({ kind: 'sign-failed', seq: msg.seq, message: e instanceof Error ? e.message : String(e), ...(e instanceof AuditError ? { auditKind: e.kind } : {}) }),
        );
      },
      async close() {
        await audit.close();
        audited.flush();
        await followed.store.close();
      },
      closed: { kind: 'closed' },
    };
  },
});
