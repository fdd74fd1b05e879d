/**
 * `annals import FILE`: loads facts through the write side's batch path (the same checks as
 * POST /v1/facts/batch), in chunks, in file order. Resumable: a fact whose factId is already
 * recorded is answered with its original result and counted as "already recorded", so a run
 * stopped half-way (or refused at a fact you then fix) is simply run again. A fact without a
 * factId gets one derived from the file's name and its line, for the same reason.
 *
 * Lines of `annals export` (or GET /v1/audit/events) are accepted too. To give back the same
 * log order, they are chunked as they were recorded: one chunk per run of consecutive facts
 * with one correlationId (a batch, or a single POST, of the original).
 */
import { basename } from 'node:path';
import { DomainError } from '../domain/errors.js';
import { StoreUnavailableError } from '../store/errors.js';
import { factIdFromIdempotencyKey, type BatchOutcome, type RecordedFact, type Recorder } from '../record/index.js';
import type { FactBody } from '../example/facts.js';
import type { Command } from './main.js';
import { CliError, EXIT, GLOBAL_HELP, describeStore, message, usageError, withRuntime } from './common.js';
import { countLines, readInput, type InputItem } from './input.js';
import { progress } from './progress.js';

/** The recorder's limit for one batch. */
export const MAX_CHUNK = 10_000;
const DEFAULT_CHUNK = 1_000;
const PRINCIPAL = 'cli:import';

interface Pending {
  line: number;
  index: number;
  fact: FactBody;
  /** The original correlationId, for lines of an export. */
  run?: string;
}

export interface ImportSummary {
  recorded: number;
  already: number;
  skipped: number;
}

const HELP = `annals import — load facts from a file through the write side

Usage: annals import FILE [--chunk N]

FILE is NDJSON (one fact a line) or JSON (an array of facts, or { "facts": [...] }; a file
ending in .json or starting with '['). A fact is what POST /v1/facts takes:
  { "type": "...", "factId": "...", "data": { ... }, "source": { "title": "...", ... } }
Lines written by 'annals export' (or GET /v1/audit/events) are read too; their bookkeeping
events (KeyReserved) are skipped, the write side records them again.

  --chunk N   facts per batch, 1 to ${MAX_CHUNK} (default ${DEFAULT_CHUNK}); an export is chunked as
              it was recorded, in runs of one correlationId, at most N each

Every fact is checked as POST /v1/facts checks it. Already recorded factIds are skipped,
so an interrupted or refused import is resumed by running it again. A progress line goes
to stderr (a bar on a terminal), then a summary. Exit 1 at the first refused fact, with its
index (from 1), line, factId and the reason; facts before it stay recorded. Exit 4 when the
event store fails (unreachable, timed out, a disk error): the facts it stored stay recorded,
and running the same import again resumes without recording any twice.
${GLOBAL_HELP}`;

function problemText(err: unknown): string {
  if (err instanceof DomainError) {
    const kind = { invalid: 'invalid', not_found: 'not found', conflict: 'conflict' }[err.kind];
    // The message names the first three fields at fault; list them all when there are more.
    const fields = (err.extra.errors?.length ?? 0) > 3 ? `\n${(err.extra.errors ?? []).map((e) => `    ${e.path}: ${e.message}`).join('\n')}` : '';
    const collides = err.extra.collidesWith ? ` (collides with fact ${err.extra.collidesWith})` : '';
    return `${kind}: ${err.message}${collides}${fields}`;
  }
  return message(err);
}

/**
 * What an error that is not a refusal (a store fault) means for the import, and what to do.
 * `stored`: whether it may have been stored all the same (the store did not answer a write).
 */
function faultText(err: unknown): { what: string; next: string; stored: boolean } {
  if (err instanceof StoreUnavailableError) {
    return {
      what: `the event store ${err.outcomeUnknown ? 'did not answer the write' : 'is unavailable'} (${message(err)}); nothing was refused`,
      next: 'once the store answers again, run the same import again to resume',
      stored: err.outcomeUnknown,
    };
  }
  return { what: `recording failed (${message(err)}); nothing was refused`, next: 'once what failed is put right, run the same import again to resume', stored: false };
}

/**
 * Why running the import again is safe: every fact carries a factId (the file's own, or one
 * derived from the file's name and the line), and a recorded factId is answered, not recorded again.
 */
const SAFE_AGAIN = 'it is safe: every fact has a factId (its own, or one made from the file\'s name and its line), and a fact already recorded is found by it and counted as already recorded, never recorded twice';

/** Records `items` chunk by chunk; throws CliError(1) at the first refused fact, CliError(4) at a store fault. */
export async function importItems(
  recorder: Recorder,
  items: AsyncIterable<InputItem>,
  options: { chunk: number; source: string; onProgress?: (done: number) => void },
): Promise<ImportSummary> {
  const summary: ImportSummary = { recorded: 0, already: 0, skipped: 0 };
  const runId = new Date().toISOString();
  let chunkNo = 0;
  let done = 0;
  let pending: Pending[] = [];
  let index = 0;

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const chunk = pending;
    pending = [];
    chunkNo += 1;
    const counted = () => `${summary.recorded} facts recorded and ${summary.already} already recorded before it`;
    let outcome: BatchOutcome;
    try {
      outcome = await recorder.recordBatch(
        chunk.map((p) => p.fact),
        { principal: PRINCIPAL, correlationId: `import:${runId}:${chunkNo}` },
      );
    } catch (err) {
      // The store failed before anything of this chunk was stored (a refusal is an outcome, never thrown).
      if (!(err instanceof StoreUnavailableError)) throw err;
      const first = chunk[0] as Pending;
      const last = chunk[chunk.length - 1] as Pending;
      const { what, next } = faultText(err);
      const facts = first === last ? `fact ${first.index} (line ${first.line})` : `facts ${first.index} to ${last.index} (lines ${first.line} to ${last.line})`;
      throw new CliError(EXIT.unavailable, `${facts} ${err.outcomeUnknown ? 'may not be recorded' : first === last ? 'was not recorded' : 'were not recorded'}: ${what}\n${counted()}; ${next}: ${SAFE_AGAIN}`);
    }
    const count = (results: readonly RecordedFact[]) => {
      for (const r of results) {
        if (r.created) summary.recorded += 1;
        else summary.already += 1;
      }
    };
    count(outcome.results);
    const before = counted();
    // Facts after a store fault's index stored all the same (EventStoreDB): recorded, so counted.
    count(outcome.alsoRecorded ?? []);
    done += outcome.results.length + (outcome.alsoRecorded?.length ?? 0);
    options.onProgress?.(done + summary.skipped);
    if (outcome.error) {
      const at = chunk[outcome.error.index] as Pending;
      const fact = `fact ${at.index} (line ${at.line}, factId ${at.fact.factId ?? '(none)'}, ${String(at.fact.type)})`;
      if (!(outcome.error.error instanceof DomainError)) {
        // Not a refusal: the store failed there (EventStoreDB may have stored some facts after it: counted above).
        const after = outcome.alsoRecorded?.length ? ` (${outcome.alsoRecorded.length} of the facts after it recorded too)` : '';
        const { what, next, stored } = faultText(outcome.error.error);
        throw new CliError(EXIT.unavailable, `${fact} ${stored ? 'may not be recorded' : 'was not recorded'}: ${what}\n${before}${after}; ${next}: ${SAFE_AGAIN}`);
      }
      throw new CliError(EXIT.refused, `${fact} was refused: ${problemText(outcome.error.error)}\n${before}; fix it and run the import again to resume`);
    }
  };

  for await (const item of items) {
    if (item.kind === 'skipped') {
      summary.skipped += 1;
      continue;
    }
    index += 1;
    const fact = item.fact;
    if (fact && typeof fact === 'object' && fact.factId === undefined) {
      // Derived from the file and line, so that running the import again names the same fact.
      fact.factId = factIdFromIdempotencyKey(PRINCIPAL, `${options.source}:${item.line}`);
    }
    const run = item.run;
    const last = pending[pending.length - 1];
    if (pending.length >= options.chunk || (last !== undefined && last.run !== run)) await flush();
    pending.push({ line: item.line, index, fact, ...(run !== undefined ? { run } : {}) });
  }
  await flush();
  return summary;
}

export const importCommand: Command = {
  name: 'import',
  summary: 'load facts from an NDJSON or JSON file (an export too), resumable by factId',
  help: HELP,
  options: { chunk: { type: 'string' } },
  positionals: { min: 1, max: 1, names: 'FILE (the facts to import)' },
  async run(call) {
    const { io } = call;
    const file = call.positionals[0] as string;
    const chunkText = (call.values.chunk as string | undefined) ?? String(DEFAULT_CHUNK);
    const chunk = Number(chunkText);
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK) throw usageError(`--chunk ${chunkText}: expected a whole number from 1 to ${MAX_CHUNK}`);
    const config = call.config;
    // Read the first item before opening the store: a missing or garbled file is exit 3, fast.
    const items = readInput(file);
    const first = await items.next();
    const total = await countLines(file);
    const beside = 'Stop the service first, or record through its POST /v1/facts/batch (the same checks, in one request per chunk)';
    return await withRuntime(config, io.env, 'annals import', beside, async (runtime) => {
      await runtime.recorder.ready();
      const bar = progress({ stream: io.stderr, label: 'import', total });
      const started = performance.now();
      const all = (async function* () {
        if (!first.done) yield first.value;
        yield* items;
      })();
      const summary = await importItems(runtime.recorder, all, { chunk, source: basename(file), onProgress: (n) => bar.update(n) });
      const seconds = (performance.now() - started) / 1000;
      bar.finish(summary.recorded + summary.already + summary.skipped);
      const rate = Math.round((summary.recorded + summary.already) / Math.max(seconds, 0.001));
      io.stderr.write(
        `imported ${file} into ${describeStore(config)}: ${summary.recorded} facts recorded, ${summary.already} already recorded` +
          `${summary.skipped ? `, ${summary.skipped} bookkeeping events skipped` : ''} in ${seconds.toFixed(1)} s (${rate} facts/s)\n`,
      );
      return EXIT.ok;
    });
  },
};
