/**
 * `annals replay --known-at T`: replays the whole log into fresh read models in a temporary
 * directory (the data dir's read models are not touched, so this works beside a running
 * server) and prints the state of everything as the record stood at T, as JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadQueries, buildFresh } from '../../projections/index.js';
import { openDb } from '../../projections/db.js';
import type { Command } from './main.js';
import { EXIT, GLOBAL_HELP, cliConfig, cliLogger, globalValues, parseCommandArgs, parseKnownAt, usageError, withStore } from './common.js';
import { stateAt } from './state.js';

const HELP = `annals replay — the state of everything as the record stood at a moment

Usage: annals replay --known-at T [--pretty]

  --known-at T   the moment (RFC 3339 UTC with milliseconds, e.g. 2025-12-01T00:00:00.000Z);
                 facts recorded later, corrections included, are ignored
  --pretty       indent the JSON

Prints { knownAt, organizations (with chairs and members), offices (with every holder),
people, sessions, documents } as JSON on stdout. The log is replayed into fresh read models
in a temporary directory: the data dir is only read.
${GLOBAL_HELP}`;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'the state of everything as of --known-at T, as JSON',
  help: HELP,
  async run(args, io) {
    const parsed = parseCommandArgs(args, { 'known-at': { type: 'string' }, pretty: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    if (!parsed) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const knownAt = parseKnownAt(parsed.values['known-at'] as string | undefined);
    if (knownAt === undefined) throw usageError('--known-at T is required, e.g. --known-at 2025-12-01T00:00:00.000Z');
    const config = cliConfig(globalValues(parsed.values), io.env);
    const log = cliLogger(io.env);
    return await withStore(config, async (store) => {
      const dir = await mkdtemp(join(tmpdir(), 'annals-replay-'));
      try {
        const path = join(dir, 'readmodels.db');
        await buildFresh(store, path, log);
        const db = openDb(path);
        try {
          const state = stateAt(new ReadQueries(db), knownAt);
          io.stdout.write(`${JSON.stringify(state, null, parsed.values.pretty ? 2 : undefined)}\n`);
        } finally {
          db.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return EXIT.ok;
    });
  },
};
