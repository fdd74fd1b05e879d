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
import { decodeUnit, encodeOutcomes, encodeWriterError, readPragmas, type WriterInit, type WriterOutcome, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';
import { serveThread } from './thread-worker.js';

/** The outcomes of one COMMIT go back in one message. */
let outbox: WriterOutcome[] = [];
let send: (m: WriterReply) => void = () => undefined;
function reply(o: WriterOutcome): void {
  if (outbox.length === 0) queueMicrotask(flushReplies);
  outbox.push(o);
}
function flushReplies(): void {
  if (outbox.length === 0) return;
  const outcomes = outbox;
  outbox = [];
  send({ kind: 'outcomes', outcomes });
}

await serveThread<WriterInit, WriterRequest, WriterReply>({
  name: 'sqlite-writer-thread',
  failed: (e) => ({ kind: 'failed', error: encodeWriterError(e) }),
  open({ init, port, post }) {
    send = post;
    /** The followers' ports, by name: each COMMIT's rows go to every one. */
    const feeds = new Map<string, MessagePort>();
    const db = new Database(init.path, { timeout: init.busyTimeoutMs });
    configureConnection(db, { busyTimeoutMs: init.busyTimeoutMs, cacheSizeKiB: init.cacheSizeKiB });
    // Commit latencies reach the main thread's registry (src/metrics/thread.ts).
    const metrics = threadSink(port);
    const sealer = init.seal ? new Sealer(init.seal.key, init.seal.logId) : null;
    const writer = new GroupWriter(db, {
      maxAppendsPerCommit: init.maxAppendsPerCommit,
      onCommitted: () => undefined,
      metrics,
      sealer,
      onStored: (rows) => {
        if (feeds.size > 0) postCommitted(feeds, encodeCommitted(rows, sealer !== null));
      },
    });
    return {
      ready: { kind: 'ready' },
      onMessage(msg) {
        if (msg.kind === 'append') {
          writer.enqueue({
            waves: decodeUnit(msg.unit),
            resolve: (outcomes) => reply({ seq: msg.seq, ok: true, value: encodeOutcomes(outcomes) }),
            reject: (error) => reply({ seq: msg.seq, ok: false, error: encodeWriterError(error) }),
          });
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
        db.close();
      },
      closed: { kind: 'closed' },
    };
  },
});
