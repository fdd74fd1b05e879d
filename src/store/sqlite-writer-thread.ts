/**
 * The embedded store's writer, in a worker thread of its own: its own connection to the file,
 * the same GroupWriter (group commit, a savepoint per append), so that inserting and the
 * COMMIT's fsync do not stop the process's event loop. The main thread keeps its connection
 * for reads. Messages: see WriterRequest / WriterReply in sqlite-writer-protocol.ts; the
 * thread's start-up, handshake and close are thread-worker.ts'.
 */
import Database from 'better-sqlite3';
import type { MessagePort } from 'node:worker_threads';
import { encodeCommitted, postCommitted } from './sqlite-writer-feed.js';
import { threadSink } from '../metrics/thread.js';
import { configureConnection } from './sqlite-schema.js';
import { GroupWriter } from './sqlite-writer.js';
import { Sealer } from './sqlite-seal.js';
import { decodeUnit, decodeUnitBytes, encodeWriterError, packOutcomes, readPragmas, type WriterInit, type WriterOutcome, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';
import { serveThread } from './thread-worker.js';
import type { StoredRow } from './sqlite-writer.js';
import type { WriterApply } from '../../projections/writer-apply.js';
import { threadLogger } from '../logging.js';

async function openWriterApply(db: Database.Database, init: NonNullable<WriterInit['readModels']>, post: (m: WriterReply) => void): Promise<WriterApply> {
  const { WriterApply } = await import('../../projections/writer-apply.js');
  return new WriterApply(db, init.path, threadLogger(init.logLevel, 'store writer (read models)'), (state) => post({ kind: 'models', state }), init.paused === true);
}

/** The outcomes of one COMMIT go back in one message. */
let outbox: WriterOutcome[] = [];
let send: (m: WriterReply) => void = () => undefined;
/** With the read models on this thread and one message a COMMIT: the position they reached, sent with the outcomes. */
let appliedNow: string | null | undefined;
function reply(o: WriterOutcome): void {
  if (outbox.length === 0) queueMicrotask(flushReplies);
  outbox.push(o);
}
function flushReplies(): void {
  if (outbox.length === 0) return;
  const outcomes = outbox;
  outbox = [];
  const applied = appliedNow;
  appliedNow = undefined;
  send(applied === undefined ? { kind: 'outcomes', outcomes } : { kind: 'outcomes', outcomes, applied });
}

await serveThread<WriterInit, WriterRequest, WriterReply>({
  name: 'sqlite-writer-thread',
  failed: (e) => ({ kind: 'failed', error: encodeWriterError(e) }),
  async open({ init, port, post, undo }) {
    send = post;
    /** The followers' ports, by name: each COMMIT's rows go to every one. */
    const feeds = new Map<string, MessagePort>();
    const db = new Database(init.path, { timeout: init.busyTimeoutMs });
    configureConnection(db, { busyTimeoutMs: init.busyTimeoutMs, cacheSizeKiB: init.cacheSizeKiB });
    // Commit latencies reach the main thread's registry (src/metrics/thread.ts).
    const metrics = threadSink(port);
    undo(() => db.close());
    const sealer = init.seal ? new Sealer(init.seal.key, init.seal.logId) : null;
    // ANNALS_READ_MODELS=writer: loaded only then (projections/writer-apply.ts).
    const models = init.readModels ? await openWriterApply(db, init.readModels, post) : null;
    if (models) undo(() => models.close());
    const replyFirst = init.readModels?.replyFirst === true;
    /** The rows of the COMMIT just made, for the read models (null: none stored). */
    let committed: readonly StoredRow[] | null = null;
    const writer = new GroupWriter(db, {
      maxAppendsPerCommit: init.maxAppendsPerCommit,
      onCommitted: () => {
        if (models === null || committed === null) return;
        const rows = committed;
        committed = null;
        if (replyFirst) {
          // The callers first (the recorder decides its next group on them), then the apply.
          flushReplies();
          post({ kind: 'applied', position: models.committed(rows) });
        } else appliedNow = models.committed(rows);
      },
      metrics,
      sealer,
      onStored: (rows) => {
        if (feeds.size > 0) postCommitted(feeds, encodeCommitted(rows, sealer !== null));
        if (models !== null) committed = rows;
      },
    });
    return {
      ready: models ? { kind: 'ready', applied: models.position } : { kind: 'ready' },
      onMessage(msg) {
        if (msg.kind === 'append') {
          const waves = typeof msg.unit === 'string' ? decodeUnit(msg.unit) : decodeUnitBytes(msg.unit);
          writer.enqueue({
            waves,
            resolve: (outcomes) => reply({ seq: msg.seq, ok: true, value: packOutcomes(outcomes, waves) }),
            reject: (error) => reply({ seq: msg.seq, ok: false, error: encodeWriterError(error) }),
          });
        } else if (msg.kind === 'models') {
          // A rebuild's swap: what was committed so far is applied (or left to the catch-up after resume).
          if (msg.op === 'pause') models?.pause();
          else models?.resume();
          post({ kind: 'models-done', seq: msg.seq });
        } else if (msg.kind === 'feed') {
          feeds.get(msg.name)?.close();
          feeds.set(msg.name, msg.port);
        } else post({ kind: 'pragmas', seq: msg.seq, value: readPragmas(db) });
      },
      close() {
        // What was accepted before is committed, then the connection closes.
        writer.flush();
        flushReplies();
        metrics.flush();
        for (const p of feeds.values()) p.close();
        models?.close();
        db.close();
      },
      closed: { kind: 'closed' },
    };
  },
});
