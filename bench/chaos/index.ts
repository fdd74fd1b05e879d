/**
 * The fault campaign's scenarios, in the order `npm run chaos` runs them. A scenario is one
 * module exporting a Scenario (harness.ts); adding one is its file and a line here.
 */
import type { Scenario } from './harness.js';
import { backup } from './backup.js';
import { cliBeside } from './cli-beside.js';
import { diskFull } from './disk-full.js';
import { kill9 } from './kill9.js';
import { readers } from './readers.js';
import { refusals } from './refusals.js';
import { tamper } from './tamper.js';

export const SCENARIOS: readonly Scenario[] = [
  kill9,
  diskFull,
  refusals,
  tamper,
  cliBeside,
  backup,
  readers,
];
