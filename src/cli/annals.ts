#!/usr/bin/env node
/**
 * The `annals` executable (package.json `bin`): import, export, replay, rebuild, token. It
 * opens the store and the read models directly (no HTTP), with the server's environment
 * (ANNALS_DATA_DIR, ANNALS_EVENT_STORE) or --data-dir / --event-store.
 */
import { EXIT, message, type Io } from './common.js';
import { main } from './main.js';

const io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`annals: ${message(err)}\n`);
    process.exitCode = EXIT.unavailable;
  },
);
