/**
 * A replay's read-out on two threads (`annals replay`): once the fold is built, this thread lists
 * the state's units (state.ts `entityUnits`: an organization, a page of offices, people,
 * sessions' or documents' ids) and hands each to a thread of its own while that one has fewer
 * than AHEAD waiting, reading out and serializing the others itself; the texts go out in the
 * units' order. The thread reads on a read-only connection of its own to the fold's file. Memory
 * holds a few units' texts, never the record; the lines are those of `entitiesAt`, in its order.
 *
 * The units' texts come back through a port read synchronously (receiveMessageOnPort): this
 * thread reads out its own units without turning the event loop, and waits for the thread's
 * next text, when it must, on a shared counter the thread bumps after each (Atomics.waitAsync: the event loop turns).
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { Database as Db } from 'better-sqlite3';
import { ReadQueries } from '../../projections/index.js';
import { startWorker } from '../store/worker-thread.js';
import { entityUnits, unitLines, type Unit } from './state.js';

export interface ReadOutInit {
  /** The fold's file (built, no longer written). */
  readonly path: string;
  readonly knownAt: string;
  /** The thread's page cache, KiB. */
  readonly cacheKiB: number;
  /** Where units come in and texts go back. */
  readonly port: MessagePort;
  /** Int32Array over it: [0] texts sent so far. */
  readonly sent: SharedArrayBuffer;
}

/** A unit's lines (in chunks of whole lines, state.ts CHUNK), or the thread's failure. */
export type ReadOutMessage = { readonly kind: 'unit'; readonly texts: readonly string[]; readonly entities: number } | { readonly kind: 'failed'; readonly message: string };

/** The thread's young generation, MB: its garbage is a unit's rows and text, collected often. */
const YOUNG_MB = 4;
/** Units handed to the thread and not yet taken back (a unit: up to 100 entities, 0.25 MB of text at most on the 1,000,000-fact record). */
const AHEAD = 2;
/** Units read out and waiting to be written, at most, before this thread waits for the thread's next text. */
const WAITING = 4;
/** The thread's page cache, KiB (the read-out's CPU was the same with 2 MiB as with 16). */
const CACHE_KIB = 2048;

/** Atomics.waitAsync (Node 16+; not in this TypeScript target's lib). */
type AsyncAtomics = { waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string } };

type Lines = { readonly texts: readonly string[]; readonly entities: number };
type Slot = Lines | 'thread';

/** A unit's chunks as replayLines gives them: its entities counted on the last. */
function* chunks(lines: Lines): Generator<{ text: string; entities: number }> {
  const last = lines.texts.length - 1;
  for (let i = 0; i <= last; i++) yield { text: lines.texts[i] as string, entities: i === last ? lines.entities : 0 };
}

/** The NDJSON of every entity in the fold at `path` (open here as `db`) as it stood at knownAt, a unit's text at a time. */
export async function* readOutWithThread(db: Db, path: string, knownAt: string): AsyncGenerator<{ text: string; entities: number }> {
  const { port1: here, port2: there } = new MessageChannel();
  const sent = new SharedArrayBuffer(4);
  const counter = new Int32Array(sent);
  const init: ReadOutInit = { path, knownAt, cacheKiB: CACHE_KIB, port: there, sent };
  const url = new URL(`./replay-readout-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
  const worker: Worker = startWorker(url, { workerData: init, transferList: [there], resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } }, 'replay read-out');
  let failure: Error | null = null;
  // Either wakes a wait for the thread's next text at once.
  worker.on('error', (err: unknown) => {
    failure ??= new Error(`the replay's read-out thread failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    Atomics.notify(counter, 0);
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the replay's read-out thread stopped (exit code ${code})`);
    Atomics.notify(counter, 0);
  });
  let taken = 0;
  /** The thread's next text, in the order the units went to it. */
  const fromThread = async (): Promise<Lines> => {
    for (;;) {
      const m = receiveMessageOnPort(here)?.message as ReadOutMessage | undefined;
      if (m !== undefined) {
        taken += 1;
        if (m.kind === 'failed') throw new Error(`the replay's read-out failed: ${m.message}`);
        return m;
      }
      // Until its counter passes what was taken (it bumps it after each text), the event loop turning meanwhile: the
      // thread's failure is heard there, and a thread running TypeScript sources needs it to load (tsx's hooks answer
      // on this thread; a blocking Atomics.wait had a test's read-out take minutes at load 25).
      const waited = (Atomics as unknown as AsyncAtomics).waitAsync(counter, 0, taken, 1000);
      if (waited.async) {
        // A pending waitAsync does not keep the event loop alive (a thread gone, the process would end here): this timer does.
        const alive = setTimeout(() => undefined, 2000);
        try {
          await waited.value;
        } finally {
          clearTimeout(alive);
        }
      }
      if (failure) throw failure;
    }
  };
  const queries = new ReadQueries(db);
  const slots: Slot[] = [];
  let inThread = 0;
  try {
    for (const unit of entityUnits(queries, db, knownAt)) {
      if (inThread < AHEAD) {
        here.postMessage(unit satisfies Unit);
        slots.push('thread');
        inThread += 1;
      } else slots.push(unitLines(queries, knownAt, unit));
      // What is ready at the head goes out; the thread's next text is waited for only with WAITING units behind it.
      while (slots.length > 0) {
        const head = slots[0] as Slot;
        if (head === 'thread') {
          if (slots.length <= WAITING && Atomics.load(counter, 0) <= taken) break;
          slots[0] = await fromThread();
          inThread -= 1;
          continue;
        }
        slots.shift();
        yield* chunks(head);
      }
    }
    for (const head of slots) {
      if (head !== 'thread') yield* chunks(head);
      else {
        yield* chunks(await fromThread());
        inThread -= 1;
      }
    }
  } finally {
    here.close();
    await worker.terminate();
  }
}
