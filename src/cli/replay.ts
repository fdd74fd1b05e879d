/**
 * `annals replay --known-at T`: the state of everything as the record stood at T, as NDJSON,
 * one entity a line (src/cli/state.ts folds; this file prints). The log recorded by T is
 * folded into fresh read models in a temporary file (the data dir's read models are not
 * touched, so this works beside a running server), then streamed out entity by entity.
 */
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import type { Command } from './main.js';
import { EXIT, GLOBAL_HELP, parseKnownAt, usageError, withStore } from './common.js';
import { replayLines } from './state.js';
import { holdYoungGenerations } from '../young-generation.js';

const HELP = `annals replay — the state of everything as the record stood at a moment

Usage: annals replay --known-at T [--times]

  --known-at T   the moment (RFC 3339 UTC with milliseconds, e.g. 2025-12-01T00:00:00.000Z);
                 facts recorded later, corrections included, are ignored
  --times        each progress line on stderr after the seconds since the start and the
                 process's CPU so far (every thread's), and the read-out's stages too (the
                 successions' pass's steps: each one's ms and its thread's CPU ms)

Prints NDJSON on stdout: one JSON object a line, one line an entity known at T, each with
"entity" first (its kind: "organization", "office", "person", "session", "document"), then
the fields of its API answer; an organization carries its "members" and "chairs", an office
its "holders" (the whole succession), a session its own lists whole. Organizations come
first, then offices, people, sessions and documents; sessions and documents by id. Nothing
known at T: no lines. Two replays compare line by line (diff, or 'annals diff').

The log recorded by T is folded into fresh read models in a temporary file (TMPDIR), then
read out a page at a time: memory does not grow with the record; the temporary file does
(about the size of the data dir's readmodels.db), and is removed at the end. Progress goes
to stderr. The data dir is only read.
${GLOBAL_HELP}`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'the state of everything as of --known-at T, as NDJSON (one entity a line)',
  help: HELP,
  options: { 'known-at': { type: 'string' }, times: { type: 'boolean' } },
  async run(call) {
    const { io } = call;
    const knownAt = parseKnownAt(call.values['known-at'] as string | undefined);
    if (knownAt === undefined) throw usageError('--known-at T is required, e.g. --known-at 2025-12-01T00:00:00.000Z');
    const config = call.config;
    const log = call.log;
    // V8 lets its heap grow to up to 4x what survived the last collection while allocation is
    // fast, as it is here (a page of events parsed at a time, then garbage): 1.2x keeps the
    // process within its memory bound. On the 1,000,000-fact record's first 150,000 events:
    // peak RSS 209 MB against 284 MB, at the same CPU (17.4 s). It only tunes when V8 collects.
    setFlagsFromString('--heap-growing-percent=20');
    // This thread's young generation held at the 2 x 8 MB it has now, not grown to 2 x 16 as the fold
    // and read-out made it (src/young-generation.ts).
    holdYoungGenerations();
    return await withStore(config, async (store) => {
      let count = 0;
      // --times: each line after the time since the start and the process's CPU (every thread's) so far, seconds.
      const timed = call.values['times'] === true;
      const started = performance.now();
      const times = timed ? (): string => {
        const cpu = process.cpuUsage();
        return `[${((performance.now() - started) / 1000).toFixed(2)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s] `;
      } : (): string => '';
      const say = (line: string): boolean => io.stderr.write(`replay: ${times()}${line}\n`);
      const onProgress = (p: { applied: number; eventsPerSecond: number; stage?: string }) => say(p.stage === undefined ? `folded ${p.applied} events recorded by ${knownAt} (${Math.round(p.eventsPerSecond)}/s)` : p.stage);
      const onStage = timed ? (stage: string) => void say(stage) : undefined;
      // A chunk of whole lines at a time (about 32 KiB), waiting for the reader when the pipe is full.
      for await (const { text, entities } of replayLines(store, knownAt, { log, onProgress, ...(onStage === undefined ? {} : { onStage }) })) {
        count += entities;
        if (text && !io.stdout.write(text)) await once(io.stdout, 'drain');
      }
      say(`${count} entities known at ${knownAt}`);
      return EXIT.ok;
    }, { oneRead: true });
  },
};
