/**
 * What the writer committed, handed to the log's followers (the read models, the audit
 * follower) so that each event is read once: the writer thread posts the rows of each COMMIT,
 * already encoded (the JSON text it inserted, with positions), on a MessagePort of each
 * follower's own, and the follower's subscription (sqlite-subscription.ts) takes them instead
 * of reading them back from the file and parsing them row by row.
 *
 * The log stays the source of truth. A batch is taken only when it starts at the
 * subscription's next position; one that starts later (the follower was behind, restarted,
 * or a batch was dropped because it fell too far behind) makes the subscription read the log
 * up to it, and one it already has is dropped: never a gap, never a repeat. Commits the
 * writer did not make (another process on the same file) are read from the log as before.
 */
import type { MessagePort } from 'node:worker_threads';
import type { StoredEvent } from './port.js';
import { encodePosition } from './positions.js';
import type { StoredRow } from './sqlite-writer.js';

/** One COMMIT's rows: positions `first`..`last` (contiguous), as a JSON array of rows. */
export interface CommittedBatch {
  readonly kind: 'committed';
  readonly first: number;
  readonly last: number;
  /** `[[position, id, stream, revision, type, data, metadata, recordedAt], …]`: data and metadata are the stored JSON text itself. */
  readonly rows: string;
  /** Where each row's data and metadata text lie in `rows`: start and end of data, start and end of metadata, row after row (transferred, not copied). */
  readonly spans: Uint32Array;
  /** The writer sealed these rows (sqlite-seal.ts): a follower checking seals takes them as sealed. */
  readonly sealed: boolean;
}

/** The message for one COMMIT; built once, then posted to each follower's port. */
export function encodeCommitted(rows: readonly StoredRow[], sealed: boolean): CommittedBatch {
  const spans = new Uint32Array(rows.length * 4);
  let text = '[';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as StoredRow;
    text += `${i === 0 ? '' : ','}[${r[0]},${JSON.stringify(r[1])},${JSON.stringify(r[2])},${r[3]},${JSON.stringify(r[4])},`;
    spans[i * 4] = text.length;
    text += r[5];
    spans[i * 4 + 1] = text.length;
    text += ',';
    spans[i * 4 + 2] = text.length;
    text += r[6];
    spans[i * 4 + 3] = text.length;
    text += `,${JSON.stringify(r[7])}]`;
  }
  text += ']';
  return { kind: 'committed', first: (rows[0] as StoredRow)[0], last: (rows[rows.length - 1] as StoredRow)[0], rows: text, spans, sealed };
}

/** Posts one COMMIT to every follower; a port that fails (its follower gone) is dropped. */
export function postCommitted(ports: Map<string, MessagePort>, batch: CommittedBatch): void {
  let n = 0;
  for (const [name, port] of ports) {
    try {
      // The last port takes the spans' buffer as it is; the others get a copy.
      const last = ++n === ports.size;
      const spans = last ? batch.spans : batch.spans.slice();
      port.postMessage({ ...batch, spans }, [spans.buffer as ArrayBuffer]);
    } catch {
      ports.delete(name);
    }
  }
}

/**
 * The JSON text of an event's data and metadata as the writer stored them (for leaves that need
 * not re-serialise: src/audit/leaf.ts), kept on the event under a symbol of this module, not
 * enumerable: a spread copy (which may change its data) does not carry it, nor do JSON and
 * comparisons see it. A WeakMap entry cost ~1 µs of CPU an event with its collection (an
 * ephemeron for the GC to trace), the property ~0.3 µs (a stand-alone loop of 300,000).
 */
const STORED_TEXT: unique symbol = Symbol('stored text');
type Handed = StoredEvent & { readonly [STORED_TEXT]?: { data: string; metadata: string } };
export function storedText(e: StoredEvent): { data: string; metadata: string } | undefined {
  return (e as Handed)[STORED_TEXT];
}

/** Most events a follower keeps waiting to be taken; older batches beyond it are dropped (the log has them). */
const MAX_QUEUED = 100_000;

/**
 * A follower's end: batches from the writer, waiting for its subscription to take them.
 * One subscription takes them at a time (the store hands the feed to the latest unfiltered one).
 */
export class CommittedFeed {
  private port: MessagePort | null = null;
  private queue: CommittedBatch[] = [];
  private queued = 0;
  private wake: (() => void) | null = null;

  /** A port from the writer (a new one after either thread restarts). */
  attach(port: MessagePort): void {
    this.port?.close();
    this.port = port;
    port.on('message', (m: CommittedBatch) => this.receive(m));
    port.on('close', () => {
      if (this.port === port) this.port = null;
      this.poke();
    });
  }

  /** Batches arrive: a writer is handing what it commits. */
  get live(): boolean {
    return this.port !== null;
  }

  private receive(batch: CommittedBatch): void {
    this.queue.push(batch);
    this.queued += batch.last - batch.first + 1;
    while (this.queued > MAX_QUEUED && this.queue.length > 1) {
      const dropped = this.queue.shift() as CommittedBatch;
      this.queued -= dropped.last - dropped.first + 1;
    }
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Resolves at the next batch (or when the port closes), or when `cancel` of `sleep` is called. */
  arrival(): { wait: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const wait = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.wake = wake;
    // Cancelling ends this wait, even if another arrival() has replaced it since.
    return {
      wait,
      cancel: () => {
        if (this.wake === wake) this.wake = null;
        wake();
      },
    };
  }

  /**
   * The next events after position `after`: from a batch that starts at or before `after + 1`
   * (what the subscription already has is cut off), or 'gap' when the first batch starts later
   * (read the log up to it first), or null when nothing waits.
   */
  take(after: number, checksSeals: boolean): { events: StoredEvent[]; last: number } | 'gap' | null {
    for (;;) {
      const batch = this.queue[0];
      if (batch === undefined) return null;
      if (batch.first > after + 1) return 'gap';
      this.queue.shift();
      this.queued -= batch.last - batch.first + 1;
      if (batch.last <= after) continue;
      // Handed by the writer that sealed them (or sealed nothing): no seal to check, as no file was read.
      return { events: decode(batch, after, checksSeals ? (batch.sealed ? 'sealed' : 'unsealed') : undefined), last: batch.last };
    }
  }

  close(): void {
    this.port?.close();
    this.port = null;
    this.queue = [];
    this.queued = 0;
    this.poke();
  }
}

function decode(batch: CommittedBatch, after: number, integrity: StoredEvent['integrity'] | undefined): StoredEvent[] {
  const rows = JSON.parse(batch.rows) as Array<[number, string, string, number, string, unknown, Record<string, unknown>, string]>;
  const { spans, rows: text } = batch;
  const events: StoredEvent[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as (typeof rows)[number];
    if (r[0] <= after) continue;
    const e: StoredEvent = { id: r[1], stream: r[2], revision: r[3], position: encodePosition(r[0]), type: r[4], data: r[5], metadata: r[6], recordedAt: r[7], ...(integrity === undefined ? {} : { integrity }) };
    Object.defineProperty(e, STORED_TEXT, { value: { data: text.slice(spans[i * 4], spans[i * 4 + 1]), metadata: text.slice(spans[i * 4 + 2], spans[i * 4 + 3]) } });
    events.push(e);
  }
  return events;
}
