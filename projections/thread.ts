/**
 * The read models in a worker thread of their own: the projection runner follows the store
 * with its own connection and writes readmodels.db there, so applying events leaves the main
 * thread's event loop free. The main thread reads the same file with its own connection
 * (threaded.ts) and hears here what was applied, to answer writes and minPosition reads.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../src/logging.js';
import type { EventStore } from '../src/store/port.js';
import { openSqliteStore, type SqliteEventStore } from '../src/store/sqlite.js';
import { LogMismatchError } from '../src/store/identity.js';
import { CommittedFeed } from '../src/store/sqlite-writer-feed.js';
import { openReadModels, RebuildInProgressError, type Readiness } from './index.js';
import type { ReadModelReply, ReadModelRequest, ReadModelThreadInit } from './thread-protocol.js';

const port = parentPort;
/* c8 ignore next: only ever started as a worker */
if (port === null) throw new Error('projections/thread runs as a worker thread');
const init = workerData as ReadModelThreadInit;
const post = (m: ReadModelReply): void => port.postMessage(m);
const log = threadLogger(init.logLevel, 'read models');

let store: EventStore | null = null;
/** What the writer commits, handed here when the main thread connects us (src/store/sqlite-writer-feed.ts). */
const feed = new CommittedFeed();
try {
  // Reads only: subscriptions notice the server's commits when it pokes (or at the next poll).
  store = init.eventStore === 'sqlite' ? openSqliteStore(join(init.dataDir, 'events.db'), { readOnly: true, feed }) : await (await import('../src/store/esdb.js')).openEsdbStore(init.eventStore); // loaded only when asked for: ~1 s of gRPC
  const opened = store;
  const models = await openReadModels({ store: opened, path: init.path, log, onApplied: (position) => post({ kind: 'applied', position }) });
  // Readiness changes without events too (retrying, caught up): told when it changes.
  let told = '';
  const tell = (r: Readiness): void => {
    const text = JSON.stringify(r);
    if (text !== told) {
      told = text;
      post({ kind: 'readiness', readiness: r });
    }
  };
  const timer = setInterval(() => tell(models.readiness()), 200);
  void models.caughtUp().then(() => {
    tell(models.readiness());
    post({ kind: 'caught-up' });
  });
  port.on('message', (msg: ReadModelRequest) => {
    const fail = (seq: number) => (e: unknown) => post({ kind: 'request-failed', seq, message: e instanceof Error ? e.message : String(e), inProgress: e instanceof RebuildInProgressError });
    switch (msg.kind) {
      case 'poke':
        (opened as Partial<SqliteEventStore>).poke?.();
        break;
      case 'feed':
        feed.attach(msg.port);
        break;
      case 'status':
        models.status().then((value) => post({ kind: 'status', seq: msg.seq, value }), fail(msg.seq));
        break;
      case 'rebuild':
        models.rebuild((value) => post({ kind: 'progress', seq: msg.seq, value })).then((value) => {
          tell(models.readiness());
          post({ kind: 'rebuilt', seq: msg.seq, value });
        }, fail(msg.seq));
        break;
      default:
        clearInterval(timer);
        void (async () => {
          await models.close();
          await opened.close();
          post({ kind: 'closed' });
          port.close();
        })();
    }
  });
  post({ kind: 'ready', readiness: models.readiness() });
} catch (e) {
  await store?.close().catch(() => undefined);
  post({ kind: 'failed', message: e instanceof Error ? e.message : String(e), mismatch: e instanceof LogMismatchError });
  port.close();
}
