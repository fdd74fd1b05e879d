/**
 * The bundled example: the CSTO press release of 2025-11-27 as facts (csto-2025-11-27.ndjson,
 * one POST /v1/facts body a line, fixed factIds so loading it again records nothing new).
 * The reading choices are explained in README.md beside it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Source } from '../../events/index.js';

export const EXAMPLE_FILE_NAME = 'csto-2025-11-27.ndjson';

/** A fact as a client sends it (the POST /v1/facts body). */
export interface FactBody {
  type: string;
  factId: string;
  data: Record<string, unknown>;
  source: Source;
}

/**
 * Where the file is: beside this module when run from source (tsx), or in the source tree
 * when run from dist/ (the build compiles .ts only; the data file is not copied).
 */
export function exampleFilePath(): string {
  const candidates = [
    new URL(`./${EXAMPLE_FILE_NAME}`, import.meta.url),
    new URL(`../../../src/example/${EXAMPLE_FILE_NAME}`, import.meta.url),
  ].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the example data set is missing: looked in ${candidates.join(', ')}`);
  return found;
}

/** The example facts, in order. Parsed, not validated: the recorder validates. */
export function exampleFacts(): FactBody[] {
  return readFileSync(exampleFilePath(), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as FactBody);
}
