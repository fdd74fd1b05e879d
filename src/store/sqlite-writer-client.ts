/**
 * The main thread's side of the writer thread (sqlite-writer-thread.ts): appends go to it as
 * messages, and each append's promise settles when the thread answers, after the COMMIT that
 * stored it. If the thread dies, the appends it held fail as "unavailable" (none of them was
 * acknowledged, so nothing acknowledged is lost) and the next append starts a new thread.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { MetricsSink } from '../metrics/sink.js';
import { StoreUnavailableError } from './errors.js';
import type { AppendOutcome, PendingAppend } from './sqlite-writer.js';
import { decodeOutcomes, decodeWriterError, type WriterInit, type WriterPragmas, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';
import { startWorker } from './worker-thread.js';

interface Waiter {
  resolve(r: AppendOutcome[][]): void;
  reject(e: unknown): void;
}

export class WriterThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private readonly asked = new Map<number, { resolve(p: WriterPragmas): void; reject(e: unknown): void }>();
  private seq = 0;
  private closed: Promise<void> | null = null;
  /** Followers to hand each COMMIT's rows to (sqlite-writer-feed.ts), by name. */
  private readonly feeds = new Map<string, (port: MessagePort) => void>();

  constructor(
    private readonly init: WriterInit,
    /** Called after answers that stored events arrive (subscriptions read on). */
    private readonly onCommitted: () => void,
    /** Hears the thread's commit latencies, and its restarts. */
    private readonly metrics?: MetricsSink,
  ) {}

  /** Settles after the COMMIT; rejects only when the transaction failed as a whole. */
  appendWaves(waves: readonly (readonly PendingAppend[])[]): Promise<AppendOutcome[][]> {
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ kind: 'append', seq, waves } satisfies WriterRequest);
    });
  }

  /**
   * A channel from the writer thread to a follower: one end to the thread, the other to
   * `deliver`; again whenever the writer thread starts (a new thread has no ports).
   */
  handCommitted(name: string, deliver: (port: MessagePort) => void): void {
    this.feeds.set(name, deliver);
    if (this.worker !== null) this.connect(this.worker, name, deliver);
  }

  private connect(worker: Worker, name: string, deliver: (port: MessagePort) => void): void {
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ kind: 'feed', name, port: port1 } satisfies WriterRequest, [port1]);
    deliver(port2);
  }

  /** The writer thread's connection settings, as SQLite reports them. */
  pragmas(): Promise<WriterPragmas> {
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.asked.set(seq, { resolve, reject });
      worker.ref();
      worker.postMessage({ kind: 'pragmas', seq } satisfies WriterRequest);
    });
  }

  /** Commits what was accepted, then stops the thread. */
  close(): Promise<void> {
    this.closed ??= this.stop();
    return this.closed;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === null) return;
    worker.ref();
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage({ kind: 'close' } satisfies WriterRequest);
    });
  }

  private start(): Worker {
    const worker = startWorker(new URL(`./sqlite-writer-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), { workerData: this.init }, 'store writer', this.metrics);
    this.worker = worker;
    worker.unref();
    worker.on('message', (msg: WriterReply) => this.receive(msg));
    worker.on('error', (e) => this.lost(worker, e));
    worker.on('exit', (code) => this.lost(worker, new Error(`writer thread exited with code ${code}`)));
    for (const [name, deliver] of this.feeds) this.connect(worker, name, deliver);
    return worker;
  }

  private receive(msg: WriterReply): void {
    if (msg.kind === 'outcomes') {
      let stored = false;
      for (const o of msg.outcomes) {
        const w = this.waiting.get(o.seq);
        if (w === undefined) continue;
        this.waiting.delete(o.seq);
        if (o.ok) {
          if (!stored) stored = o.value.some((wave) => wave.some((a) => a !== null && a.ok && a.value.events.length > 0));
          w.resolve(decodeOutcomes(o.value));
        } else w.reject(decodeWriterError(o.error));
      }
      if (this.waiting.size === 0 && this.asked.size === 0 && this.closed === null) this.worker?.unref();
      if (stored) this.onCommitted();
    } else if (msg.kind === 'pragmas') {
      this.asked.get(msg.seq)?.resolve(msg.value);
      this.asked.delete(msg.seq);
      if (this.waiting.size === 0 && this.asked.size === 0 && this.closed === null) this.worker?.unref();
    } else if (msg.kind === 'failed') {
      this.failAll(decodeWriterError(msg.error));
    }
  }

  /** The thread is gone: what it held was never acknowledged; the next append starts another. */
  private lost(worker: Worker, cause: unknown): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.failAll(new StoreUnavailableError(`the embedded store's writer thread stopped (${cause instanceof Error ? cause.message : String(cause)}); retry`, { cause }));
  }

  private failAll(error: Error): void {
    const waiting = [...this.waiting.values(), ...this.asked.values()];
    this.waiting.clear();
    this.asked.clear();
    for (const w of waiting) w.reject(error);
  }
}
