/**
 * The last signed tree head, kept beside the audit key (keys.ts), outside the data dir when
 * the key is. audit.db can be deleted and rebuilt from the log by anyone who can write the
 * data dir; this file says what the tree was, so a rebuilt tree that differs (a log rewritten
 * while its tree was away) is stopped at the size of this head, and a log shorter than it is
 * refused at start. It names the log it belongs to: a head of another log is refused rather
 * than compared.
 *
 * Format `annals-kept-head-v1`: `{ "format", "log": "<log identity>", "head": <signed head> }`,
 * written whole to a temporary file, fsynced and renamed over the old one. Heads only grow:
 * a head smaller than the one kept is not written (a replica behind another on one log).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SignedTreeHead } from './signing.js';

export const KEPT_HEAD_FORMAT = 'annals-kept-head-v1';

export interface KeptHead {
  readonly format: typeof KEPT_HEAD_FORMAT;
  /** The identity of the log the head covers (src/store/identity.ts). */
  readonly log: string;
  readonly head: SignedTreeHead;
}

/** The kept head at `path`, or null when there is none. Throws when the file is not one. */
export function readKeptHead(path: string): KeptHead | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let kept: KeptHead;
  try {
    kept = JSON.parse(text) as KeptHead;
  } catch {
    throw new Error(`${path} is not a kept tree head (not JSON): move it aside if it is not Annals'`);
  }
  if (kept?.format !== KEPT_HEAD_FORMAT || typeof kept.log !== 'string' || typeof kept.head?.treeSize !== 'number') {
    throw new Error(`${path} is not a kept tree head (format ${KEPT_HEAD_FORMAT}): move it aside if it is not Annals'`);
  }
  return kept;
}

/** Writes `kept` at `path` atomically (0600), unless the head kept there is larger. Returns whether it wrote. */
export function writeKeptHead(path: string, kept: KeptHead): boolean {
  const current = safeRead(path);
  if (current !== null && current.log === kept.log && current.head.treeSize > kept.head.treeSize) return false;
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(kept, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename itself must survive a power cut.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return true;
}

function safeRead(path: string): KeptHead | null {
  try {
    return readKeptHead(path);
  } catch {
    return null;
  }
}
