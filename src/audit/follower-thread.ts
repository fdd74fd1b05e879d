/**
 * The audit follower in a worker thread of its own: follows the event store with its own
 * connection, appends leaves to audit.db and signs heads (tree-head.ts with `follow: true`),
 * so hashing and audit.db's commits leave the main thread's event loop free. The main thread
 * opens the same audit.db read-only (follow: false) for heads and proofs; see follower.ts.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../logging.js';
import type { EventStore } from '../store/port.js';
import { openSqliteStore, type SqliteEventStore } from '../store/sqlite.js';
import type { FollowerInit, FollowerReply, FollowerRequest } from './follower-protocol.js';
import { AuditError, openAuditLog } from './tree-head.js';
import { keyPaths, loadKeys } from './keys.js';
import { LogMismatchError } from '../store/identity.js';
import { CommittedFeed } from '../store/sqlite-writer-feed.js';

const port = parentPort;
/* c8 ignore next: only ever started as a worker */
if (port === null) throw new Error('follower-thread runs as a worker thread');
const init = workerData as FollowerInit;
const post = (m: FollowerReply): void => port.postMessage(m);
const log = threadLogger(init.logLevel, 'audit follower');

let store: EventStore | null = null;
/** What the writer commits, handed here when the main thread connects us (src/store/sqlite-writer-feed.ts). */
const feed = new CommittedFeed();
try {
  // Reads only: subscriptions notice the server's commits when it pokes (or at the next poll).
  // The embedded store is read through its seal check: an event this service did not write is not taken in.
  const keys = loadKeys(keyPaths(init.dataDir, init.keyFile), log, { create: false });
  const sqlite = init.eventStore === 'sqlite' ? openSqliteStore(join(init.dataDir, 'events.db'), { readOnly: true, sealKey: keys.sealKey, feed }) : null;
  store = sqlite ?? (await (await import('../store/esdb.js')).openEsdbStore(init.eventStore));
  const opened = store;
  const audit = await openAuditLog({
    store: sqlite?.checked() ?? opened,
    dataDir: init.dataDir,
    keyFile: init.keyFile,
    createKey: false,
    log,
    onAudited: (position) => post({ kind: 'audited', position }),
    onStatus: (status) => post({ kind: 'status', status }),
  });
  port.on('message', (msg: FollowerRequest) => {
    if (msg.kind === 'poke') (opened as Partial<SqliteEventStore>).poke?.();
    else if (msg.kind === 'feed') feed.attach(msg.port);
    else if (msg.kind === 'sign') {
      audit.signHead().then(
        (head) => post({ kind: 'signed', seq: msg.seq, head }),
        (e: unknown) => post({ kind: 'sign-failed', seq: msg.seq, message: e instanceof Error ? e.message : String(e), ...(e instanceof AuditError ? { auditKind: e.kind } : {}) }),
      );
    } else {
      void (async () => {
        await audit.close();
        await opened.close();
        post({ kind: 'closed' });
        port.close();
      })();
    }
  });
  const { state, failures, lastError } = await audit.status();
  post({ kind: 'ready', audited: (await audit.state()).lastPosition, status: { state: state === 'reading' ? 'following' : state, failures, lastError } });
} catch (e) {
  await store?.close().catch(() => undefined);
  post({ kind: 'failed', message: e instanceof Error ? e.message : String(e), mismatch: e instanceof LogMismatchError });
  port.close();
}
