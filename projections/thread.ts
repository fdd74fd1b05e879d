/**
 * The read models in a worker thread of their own: the projection runner follows the store
 * with its own connection and writes readmodels.db there, so applying events leaves the main
 * thread's event loop free. The main thread reads the same file with its own connection
 * (threaded.ts) and hears here what was applied, to answer writes and minPosition reads.
 * The thread's start-up, handshake and close are src/store/thread-worker.ts'; its log
 * connection is src/store/thread-follower.ts'.
 */
import { threadLogger } from '../src/logging.js';
import { followingFailed, openFollowedLog } from '../src/store/thread-follower.js';
import { serveThread } from '../src/store/thread-worker.js';
import { crossing } from './crossed-errors.js';
import { openReadModels, RebuildInProgressError, type Readiness, type ReadModels } from './index.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

await serveThread<ReadModelThreadInit, ReadModelRequest, ReadModelReply>({
  name: 'projections/thread',
  failed: followingFailed,
  async open({ init, post, undo }) {
    const log = threadLogger(init.logLevel, 'read models');
    const followed = await openFollowedLog(init);
    undo(() => followed.store.close());
    let models: ReadModels | null = null;
    /** Why the read models have no file open (a failed rebuild's reopen, retried), or null. */
    const unavailable = (): string | null => {
      try {
        void models?.queries;
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    };
    let fileTold: string | null = null;
    /** The main thread's readers follow: told whenever the file may have changed (`always`), or opened or stopped opening. */
    const checkFile = (always = false): void => {
      const now = unavailable();
      if (!always && now === fileTold) return;
      fileTold = now;
      post({ kind: 'file', unavailable: now });
    };
    // A reopen after a failed rebuild shows first in what is applied: the readers open the file before they are asked for it.
    const onApplied = (position: string): void => {
      checkFile();
      post({ kind: 'applied', position });
    };
    const opened = await openReadModels({ store: followed.store, path: init.path, log, onApplied });
    models = opened;
    // Readiness changes without events too (retrying, caught up): told when it changes.
    let told = '';
    const tell = (r: Readiness): void => {
      const text = JSON.stringify(r);
      if (text !== told) {
        told = text;
        post({ kind: 'readiness', readiness: r });
      }
    };
    let timer: NodeJS.Timeout | undefined;
    /** The rebuild in flight's stop (the main thread's `stop-rebuild`), or null. */
    let stopRebuild: AbortController | null = null;
    const fail = (seq: number) => (e: unknown) => post({ kind: 'request-failed', seq, error: crossing(e) });
    return {
      ready: { kind: 'ready', readiness: opened.readiness() },
      afterReady() {
        timer = setInterval(() => {
          tell(opened.readiness());
          checkFile();
        }, 200);
        void opened.caughtUp().then(() => {
          tell(opened.readiness());
          post({ kind: 'caught-up' });
        });
      },
      onMessage(msg) {
        if (followed.handle(msg)) return;
        switch (msg.kind) {
          case 'status':
            opened.status().then((value) => post({ kind: 'status', seq: msg.seq, value }), fail(msg.seq));
            break;
          case 'stop-rebuild':
            stopRebuild?.abort();
            break;
          case 'rebuild': {
            // Whatever the outcome, the readers move to the file at the path before the answer.
            const stop = new AbortController();
            const rebuilt = opened.rebuild((value) => post({ kind: 'progress', seq: msg.seq, value }), stop.signal);
            // One refused (one runs already) leaves that one's stop in place.
            if (stopRebuild === null) {
              stopRebuild = stop;
              void rebuilt.catch(() => undefined).finally(() => (stopRebuild = null));
            }
            rebuilt.then(
              (value) => {
                tell(opened.readiness());
                checkFile(true);
                post({ kind: 'rebuilt', seq: msg.seq, value });
              },
              (err: unknown) => {
                tell(opened.readiness());
                // Refused because one runs: that one moves the readers when it ends.
                if (!(err instanceof RebuildInProgressError)) checkFile(true);
                fail(msg.seq)(err);
              },
            );
            break;
          }
        }
      },
      async close() {
        clearInterval(timer);
        await opened.close();
        await followed.store.close();
      },
      closed: { kind: 'closed' },
    };
  },
});
