/**
 * ANNALS_READ_MODELS=writer: a live rebuild's thread (writer-applied.ts starts it). Builds every
 * read model from the log into a fresh file (buildFresh) with a read-only connection of its own
 * to the log, so neither the event loop nor the store writer's thread does the build's work;
 * once it reached the log's head it asks for the writer thread's apply to pause (`pause`, then
 * waits for `paused`), reads the last events into the fresh file and finishes it. The swap is
 * the event loop's (writer-applied.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { threadLogger } from '../src/logging.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { crossing, type CrossedError } from './crossed-errors.js';
import { buildFresh, type RebuildProgress, type RebuildResult } from './index.js';

export interface WriterRebuildInit {
  /** The embedded log (events.db). */
  readonly events: string;
  /** Where the fresh file is built (`<readmodels.db>.rebuild`). */
  readonly fresh: string;
  readonly logLevel: string;
}
export type WriterRebuildRequest = { kind: 'paused' } | { kind: 'stop' };
export type WriterRebuildReply = { kind: 'progress'; value: RebuildProgress } | { kind: 'pause' } | { kind: 'built'; value: RebuildResult } | { kind: 'failed'; error: CrossedError };

const init = workerData as WriterRebuildInit;
const port = parentPort as NonNullable<typeof parentPort>;
const say = (m: WriterRebuildReply): void => port.postMessage(m);
const stop = new AbortController();
let paused: (() => void) | null = null;
port.on('message', (m: WriterRebuildRequest) => {
  if (m.kind === 'stop') stop.abort();
  else paused?.();
});

const log = threadLogger(init.logLevel, 'read models rebuild');
const store = openSqliteStore(init.events, { readOnly: true, cacheSizeKiB: 8192 });
try {
  log.info({ fresh: init.fresh }, 'rebuilding the read models from the log into a fresh file (reads go on from the file in use)');
  const value = await buildFresh(
    store,
    init.fresh,
    log,
    (p) => say({ kind: 'progress', value: p }),
    () =>
      new Promise<void>((resolve) => {
        paused = resolve;
        say({ kind: 'pause' });
      }),
    { signal: stop.signal },
  );
  say({ kind: 'built', value });
} catch (err) {
  say({ kind: 'failed', error: crossing(err) });
} finally {
  await store.close();
  port.close();
}
