/**
 * The main thread's side of the writer thread (sqlite-writer-thread.ts): appends go to it as
 * messages, and each append's promise settles when the thread answers, after the COMMIT that
 * stored it. If the thread dies, the appends it held fail as "unavailable" (none of them was
 * acknowledged, so nothing acknowledged is lost) and the next append starts a new thread.
 * The thread's lifecycle and the numbered requests are thread-client.ts's.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { MetricsSink } from '../metrics/sink.js';
import { StoreUnavailableError } from './errors.js';
import type { AppendOutcome, PendingAppend } from './sqlite-writer.js';
import { decodeWriterError, encodeUnit, encodeUnitBytes, storedAny, unpackOutcomes, type PackedOutcomes, type WriterInit, type WriterModelsState, type WriterPragmas, type WriterReply, type WriterRequest } from './sqlite-writer-protocol.js';
import { ThreadClient } from './thread-client.js';

export class WriterThread {
  private readonly client: ThreadClient<WriterRequest, WriterReply>;
  /** Followers to hand each COMMIT's rows to (sqlite-writer-feed.ts), by name. */
  private readonly feeds = new Map<string, (port: MessagePort) => void>();
  /** With the read models on the writer thread (WriterInit.readModels): told each position they reached. */
  private readonly appliedListeners: Array<(position: string | null) => void> = [];
  /** With the read models on the writer thread: told where they stand when it changes (catching up, live, failing). */
  private readonly stateListeners: Array<(state: WriterModelsState) => void> = [];
  /** A live rebuild paused their apply (`models('pause')` until `models('resume')`): a thread started meanwhile starts paused. */
  private modelsPaused = false;

  constructor(
    init: WriterInit,
    /** Called after answers that stored events arrive (subscriptions read on). */
    private readonly onCommitted: () => void,
    /** Hears the thread's commit latencies, and its restarts. */
    metrics?: MetricsSink,
    /** Where a restart is told (thread-client.ts). */
    log?: Pick<Logger, 'info' | 'warn'>,
  ) {
    const paused = (): boolean => this.modelsPaused;
    this.client = new ThreadClient<WriterRequest, WriterReply>({
      module: new URL(`./sqlite-writer-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
      // Read at each start: a thread started during a live rebuild's pause starts paused.
      get workerData(): WriterInit {
        return init.readModels && paused() ? { ...init, readModels: { ...init.readModels, paused: true } } : init;
      },
      label: 'store writer',
      metrics,
      log,
      readyMessage: (m) => m.kind === 'ready',
      restart: 'on-demand',
      refWhileWaiting: true,
      unavailable: (reason) => new StoreUnavailableError(`the embedded store's writer thread stopped (${reason}); retry`),
      onStart: (worker) => {
        for (const [name, deliver] of this.feeds) this.connect(worker, name, deliver);
      },
      onMessage: (msg) => this.receive(msg),
    });
  }

  /** The running thread, if any (tests terminate it to see a restart). */
  get worker(): Worker | null {
    return this.client.worker;
  }

  /** Hears the position the read models reached on the writer thread (WriterInit.readModels), before the outcomes of its COMMIT settle. */
  onApplied(listener: (position: string | null) => void): void {
    this.appliedListeners.push(listener);
  }

  /** Hears where the read models on the writer thread stand, whenever it changes (WriterModelsState). */
  onModelsState(listener: (state: WriterModelsState) => void): void {
    this.stateListeners.push(listener);
  }

  /** The read models on the writer thread: `pause` closes their file until `resume` (a live rebuild's swap). */
  models(op: 'pause' | 'resume'): Promise<void> {
    this.modelsPaused = op === 'pause';
    return this.client.request<void>((seq) => ({ kind: 'models', seq, op }));
  }

  /** Starts the thread now rather than at the first append (the read models on it catch up from the log at its start). */
  startNow(): void {
    if (this.client.worker === null) void this.client.start().catch(() => undefined);
  }

  /** Settles after the COMMIT; rejects only when the transaction failed as a whole. */
  appendWaves(waves: readonly (readonly PendingAppend[])[]): Promise<AppendOutcome[][]> {
    const bytes = encodeUnitBytes(waves);
    if (bytes === null) {
      const unit = encodeUnit(waves);
      return this.client.request<PackedOutcomes>((seq) => ({ kind: 'append', seq, unit })).then((p) => unpackOutcomes(p, waves));
    }
    // The bytes' buffer goes to the writer thread as it is (transferred): nothing here uses it after.
    return this.client
      .requestVia<PackedOutcomes>((seq) => ({ kind: 'append', seq, unit: bytes }), (m, w) => w.postMessage(m, [bytes.buffer as ArrayBuffer]))
      .then((p) => unpackOutcomes(p, waves));
  }

  /** The writer thread's connection settings, as SQLite reports them. */
  pragmas(): Promise<WriterPragmas> {
    return this.client.request<WriterPragmas>((seq) => ({ kind: 'pragmas', seq }));
  }

  /**
   * A channel from the writer thread to a follower: one end to the thread, the other to
   * `deliver`; again whenever the writer thread starts (a new thread has no ports).
   */
  handCommitted(name: string, deliver: (port: MessagePort) => void): void {
    this.feeds.set(name, deliver);
    const worker = this.client.worker;
    if (worker !== null) this.connect(worker, name, deliver);
  }

  /** Commits what was accepted, then stops the thread. */
  close(): Promise<void> {
    return this.client.close({ kind: 'close' });
  }

  private applied(position: string | null): void {
    for (const l of this.appliedListeners) l(position);
  }

  private connect(worker: Worker, name: string, deliver: (port: MessagePort) => void): void {
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ kind: 'feed', name, port: port1 } satisfies WriterRequest, [port1]);
    deliver(port2);
  }

  private receive(msg: WriterReply): void {
    if (msg.kind === 'outcomes') {
      if (msg.applied !== undefined) this.applied(msg.applied);
      let stored = false;
      for (const o of msg.outcomes) {
        if (o.ok) {
          if (!stored) stored = storedAny(o.value);
          this.client.settle(o.seq, o.value);
        } else this.client.fail(o.seq, decodeWriterError(o.error));
      }
      if (stored) this.onCommitted();
    } else if (msg.kind === 'applied') {
      this.applied(msg.position);
    } else if (msg.kind === 'ready') {
      if (msg.applied !== undefined) this.applied(msg.applied);
    } else if (msg.kind === 'models') {
      for (const l of this.stateListeners) l(msg.state);
      this.applied(msg.state.position);
    } else if (msg.kind === 'models-done') {
      this.client.settle(msg.seq, undefined);
    } else if (msg.kind === 'pragmas') {
      this.client.settle(msg.seq, msg.value);
    } else if (msg.kind === 'failed') {
      this.client.failAll(decodeWriterError(msg.error));
    }
  }
}
