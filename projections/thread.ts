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
import { openReadModels, RebuildInProgressError, type Readiness } from './index.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

await serveThread<ReadModelThreadInit, ReadModelRequest, ReadModelReply>({
  name: 'projections/thread',
  failed: followingFailed,
  async open({ init, post, undo }) {
    const log = threadLogger(init.logLevel, 'read models');
    const followed = await openFollowedLog(init);
    undo(() => followed.store.close());
    const models = await openReadModels({ store: followed.store, path: init.path, log, onApplied: (position) => post({ kind: 'applied', position }) });
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
    const fail = (seq: number) => (e: unknown) => post({ kind: 'request-failed', seq, message: e instanceof Error ? e.message : String(e), inProgress: e instanceof RebuildInProgressError });
    return {
      ready: { kind: 'ready', readiness: models.readiness() },
      afterReady() {
        timer = setInterval(() => tell(models.readiness()), 200);
        void models.caughtUp().then(() => {
          tell(models.readiness());
          post({ kind: 'caught-up' });
        });
      },
      onMessage(msg) {
        if (followed.handle(msg)) return;
        switch (msg.kind) {
          case 'status':
            models.status().then((value) => post({ kind: 'status', seq: msg.seq, value }), fail(msg.seq));
            break;
          case 'rebuild':
            models.rebuild((value) => post({ kind: 'progress', seq: msg.seq, value })).then((value) => {
              tell(models.readiness());
              post({ kind: 'rebuilt', seq: msg.seq, value });
            }, fail(msg.seq));
            break;
        }
      },
      async close() {
        clearInterval(timer);
        await models.close();
        await followed.store.close();
      },
      closed: { kind: 'closed' },
    };
  },
});
