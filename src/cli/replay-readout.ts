/**
 * A replay's read-out on two threads (`annals replay`): once the fold is built, this thread lists
 * the state's units (state.ts `entityUnits`: an organization, a page of offices, people,
 * sessions' or documents' ids) and hands each to a thread of its own while that one has fewer
 * than AHEAD waiting, reading out and serializing the others itself; the texts go out in the
 * units' order. The thread reads on a read-only connection of its own to the fold's file. Memory
 * holds a few units' texts, never the record; the lines are those of `entitiesAt`, in its order.
 *
 * The offices' successions are made first, by the thread, in one pass over the fold's tables in
 * their files' order (projections/offices/successions-pass.ts) into a file beside the fold, not
 * office by office through seeks; meanwhile this thread reads out the organizations, then the
 * units after the offices' (people, sessions, documents), whose text goes to a file beside the
 * fold (`.later`) until the pass is done; then the offices are read out on both threads (each
 * succession read from the pass's table), the file's text follows them, then the remaining units.
 *
 * The units' texts come back through a port read synchronously (receiveMessageOnPort): this
 * thread reads out its own units without turning the event loop, and waits for the thread's
 * next text, when it must, on a shared counter the thread bumps after each (Atomics.waitAsync: the event loop turns).
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { ReadQueries } from '../../projections/index.js';
import { PASS_STEPS, SUCCESSIONS_TABLE } from '../../projections/offices/successions-pass.js';
import { startWorker } from '../store/worker-thread.js';
import { laterUnits, officeUnits, organizationUnits, unitLines, type Succession, type Unit } from './state.js';

export interface ReadOutInit {
  /** The fold's file (built, no longer written). */
  readonly path: string;
  readonly knownAt: string;
  /** The thread's page cache, KiB. */
  readonly cacheKiB: number;
  /** Where units come in and texts go back. */
  readonly port: MessagePort;
  /** Int32Array over it: [0] texts sent so far, [1] the successions' pass (PASS). */
  readonly sent: SharedArrayBuffer;
  /** Where the thread makes every office's succession first (successions-pass.ts); none: an office at a time. */
  readonly successions?: string;
  /** Float64Array over it (`--times`): each of the pass's steps' milliseconds and the thread's CPU milliseconds in it, in turn. */
  readonly passSteps?: SharedArrayBuffer;
}

/** The successions' pass as the thread says it (`sent[1]`). */
export const PASS = { pending: 0, done: 1, failed: 2 } as const;

/** The pass's file read only: an office's succession text ('' for none, as ReadQueries.successionJson). */
export function openSuccessions(path: string, cacheKiB: number): { db: Db; lookup: Succession } {
  const db = new Database(path, { readonly: true });
  db.pragma(`cache_size = -${cacheKiB}`);
  const get = db.prepare(`SELECT j FROM ${SUCCESSIONS_TABLE} WHERE office = ?`).pluck();
  return { db, lookup: (office) => (get.get(office) as string | undefined) ?? '' };
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

/** The page cache of a connection to the successions' file, KiB (an office's text is read whole, a few pages in a row). */
export const LOOKUP_CACHE_KIB = 512;
/** The later units' text is read back from its file this many bytes at a time (cut after the last whole line). */
const READ_BACK = 65_536;

/** Atomics.waitAsync (Node 16+; not in this TypeScript target's lib). */
type AsyncAtomics = { waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string } };

type Lines = { readonly texts: readonly string[]; readonly entities: number };
/** A unit's lines (or the thread's, to come), and whether they go to the file of later units; 'flush': that file's text goes out here. */
type Slot = { lines: Lines | 'thread'; spill: boolean } | 'flush';

/** The pass's steps' times as `--times` prints them: "ms (CPU ms)" a step, in order. */
function stepTimes(t: Float64Array): string {
  const out: string[] = [];
  for (let i = 0; i < t.length; i += 2) out.push(`${Math.round(t[i] as number)} (${Math.round(t[i + 1] as number)})`);
  return out.join(', ');
}

/** A unit's chunks as replayLines gives them: its entities counted on the last. */
function* chunks(lines: Lines): Generator<{ text: string; entities: number }> {
  const last = lines.texts.length - 1;
  for (let i = 0; i <= last; i++) yield { text: lines.texts[i] as string, entities: i === last ? lines.entities : 0 };
}

export interface ReadOutOptions {
  /** The offices' successions made first in one pass (default true); false: an office at a time, as holder-json.ts SUCCESSION_SQL. */
  successionsPass?: boolean;
  /** Later units read out to their file before the offices whether or not the pass is done (default 0; tests). */
  laterFirst?: number;
  /** Hears the read-out's stages as this thread passes them (`annals replay --times`: their times). */
  onStage?: (stage: string) => void;
}

/** The NDJSON of every entity in the fold at `path` (open here as `db`) as it stood at knownAt, a unit's text at a time. */
export async function* readOutWithThread(db: Db, path: string, knownAt: string, { successionsPass = true, laterFirst = 0, onStage }: ReadOutOptions = {}): AsyncGenerator<{ text: string; entities: number }> {
  const { port1: here, port2: there } = new MessageChannel();
  const sent = new SharedArrayBuffer(8);
  const counter = new Int32Array(sent);
  const successions = successionsPass ? `${path}.successions` : undefined;
  // Beside this thread's file (the thread's may be another, or fail to open).
  const laterPath = `${db.name}.later`;
  if (successions !== undefined) rmSync(successions, { force: true });
  if (!successionsPass) Atomics.store(counter, 1, PASS.done);
  const passSteps = successions !== undefined && onStage !== undefined ? new SharedArrayBuffer(16 * PASS_STEPS) : undefined;
  const init: ReadOutInit = { path, knownAt, cacheKiB: CACHE_KIB, port: there, sent, ...(successions === undefined ? {} : { successions }), ...(passSteps === undefined ? {} : { passSteps }) };
  const url = new URL(`./replay-readout-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
  const worker: Worker = startWorker(url, { workerData: init, transferList: [there], resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } }, 'replay read-out');
  let failure: Error | null = null;
  // Either wakes a wait for the thread's next text, or for its pass, at once.
  const wake = (): void => {
    Atomics.notify(counter, 0);
    Atomics.notify(counter, 1);
  };
  worker.on('error', (err: unknown) => {
    failure ??= new Error(`the replay's read-out thread failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    wake();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the replay's read-out thread stopped (exit code ${code})`);
    wake();
  });
  let taken = 0;
  /** Until counter[index] is no longer `value`, the event loop turning meanwhile; the thread's failure thrown. */
  const waitWhile = async (index: number, value: number): Promise<void> => {
    // The event loop turns meanwhile: the thread's failure is heard there, and a thread running TypeScript sources
    // needs it to load (tsx's hooks answer on this thread; a blocking Atomics.wait had a test's read-out take minutes at load 25).
    const waited = (Atomics as unknown as AsyncAtomics).waitAsync(counter, index, value, 1000);
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
  };
  /** The thread's next text, in the order the units went to it. */
  const fromThread = async (): Promise<Lines> => {
    for (;;) {
      const m = receiveMessageOnPort(here)?.message as ReadOutMessage | undefined;
      if (m !== undefined) {
        taken += 1;
        if (m.kind === 'failed') throw new Error(`the replay's read-out failed: ${m.message}`);
        return m;
      }
      // Until its counter passes what was taken (it bumps it after each text).
      await waitWhile(0, taken);
    }
  };
  const pass = (): number => Atomics.load(counter, 1);
  /** Until the thread's pass is done: its failure (its message, the first it sent) thrown. */
  const passDone = async (): Promise<void> => {
    for (;;) {
      if (pass() === PASS.done) return;
      if (pass() === PASS.failed) await fromThread();
      else await waitWhile(1, PASS.pending);
    }
  };
  let told = passSteps === undefined;
  /** `--times`: the pass's steps, once it is done. */
  const toldSteps = (): void => {
    if (told || pass() !== PASS.done) return;
    told = true;
    onStage?.(`read-out: the successions' pass's steps, ms (its thread's CPU ms): ${stepTimes(new Float64Array(passSteps as SharedArrayBuffer))}`);
  };
  const queries = new ReadQueries(db);
  let mine: { db: Db; lookup: Succession } | null = null;
  let later: number | null = null;
  let laterEntities = 0;
  /** The units in the order they are read out: the organizations, the later units while the pass runs (to the file), the offices, then the rest. */
  function* ordered(): Generator<{ unit: Unit; spill: boolean } | 'flush'> {
    onStage?.('read-out: started (its thread too)');
    for (const unit of organizationUnits(queries, knownAt)) yield { unit, spill: false };
    onStage?.('read-out: organizations read out');
    const rest = laterUnits(queries, db, knownAt);
    let spilled = 0;
    const more = (): boolean => pass() === PASS.pending || spilled < laterFirst;
    let next = more() ? rest.next() : null;
    for (; next !== null && !next.done; next = more() ? rest.next() : null) {
      spilled += 1;
      yield { unit: next.value, spill: true };
    }
    onStage?.(`read-out: ${spilled} later units read out to their file, the successions' pass done`);
    toldSteps();
    for (const unit of officeUnits(queries, knownAt)) yield { unit, spill: false };
    onStage?.('read-out: offices read out');
    yield 'flush';
    if (next === null || !next.done) for (const unit of rest) yield { unit, spill: false };
  }
  /** The file of later units' text, as chunks of whole lines. */
  function* readBack(): Generator<{ text: string; entities: number }> {
    if (later === null) return;
    closeSync(later);
    later = null;
    const fd = openSync(laterPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(READ_BACK);
      let held = 0;
      for (;;) {
        const n = readSync(fd, buf, held, buf.length - held, null);
        const end = held + n;
        if (n === 0) {
          if (end > 0) yield { text: buf.toString('utf8', 0, end), entities: 0 };
          break;
        }
        const cut = buf.lastIndexOf(10, end - 1) + 1;
        if (cut === 0) throw new Error('a replay line longer than the read-back buffer');
        yield { text: buf.toString('utf8', 0, cut), entities: 0 };
        buf.copy(buf, 0, cut, end);
        held = end - cut;
      }
    } finally {
      closeSync(fd);
      rmSync(laterPath, { force: true });
    }
    yield { text: '', entities: laterEntities };
  }
  const slots: Slot[] = [];
  let inThread = 0;
  try {
    for (const next of ordered()) {
      if (next === 'flush') {
        await passDone();
        toldSteps();
        slots.push('flush');
      } else {
        const { unit, spill } = next;
        if (unit.kind === 'office' && pass() !== PASS.done) {
          await passDone();
          toldSteps();
        }
        if (inThread < AHEAD && pass() === PASS.done) {
          here.postMessage(unit satisfies Unit);
          slots.push({ lines: 'thread', spill });
          inThread += 1;
        } else {
          if (unit.kind === 'office' && successions !== undefined) mine ??= openSuccessions(successions, LOOKUP_CACHE_KIB);
          slots.push({ lines: unitLines(queries, knownAt, unit, mine?.lookup), spill });
        }
      }
      // What is ready at the head goes out; the thread's next text is waited for only with WAITING units behind it.
      while (slots.length > 0) {
        const head = slots[0] as Slot;
        if (head === 'flush') {
          slots.shift();
          yield* readBack();
          continue;
        }
        if (head.lines === 'thread') {
          if (slots.length <= WAITING && Atomics.load(counter, 0) <= taken) break;
          head.lines = await fromThread();
          inThread -= 1;
          continue;
        }
        slots.shift();
        if (head.spill) spillOut(head.lines);
        else yield* chunks(head.lines);
      }
    }
    for (const head of slots) {
      if (head === 'flush') yield* readBack();
      else {
        if (head.lines === 'thread') {
          head.lines = await fromThread();
          inThread -= 1;
        }
        if (head.spill) spillOut(head.lines);
        else yield* chunks(head.lines);
      }
    }
  } finally {
    here.close();
    await worker.terminate();
    mine?.db.close();
    if (later !== null) closeSync(later);
    rmSync(laterPath, { force: true });
    if (successions !== undefined) rmSync(successions, { force: true });
  }

  /** A later unit's text to its file while the pass runs. */
  function spillOut(lines: Lines): void {
    later ??= openSync(laterPath, 'w');
    for (const text of lines.texts) writeSync(later, text);
    laterEntities += lines.entities;
  }
}
