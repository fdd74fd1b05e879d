/**
 * `annals backup DIR`: a consistent, verified copy of the log and the audit tree while the
 * service runs (src/integrity/backup.ts). Takes no lock: it only reads the data dir.
 */
import type { Command } from './main.js';
import { CliError, EXIT, GLOBAL_HELP, message, withStore } from './common.js';

const HELP = `annals backup — a consistent copy of the log and the audit tree, verified

Usage: annals backup DIR

Copies <data dir>/audit.db, then events.db, with SQLite's online backup (the service may go
on recording meanwhile), plus the generated recorder token, and the audit key when it is in
the data dir (a key kept apart with ANNALS_AUDIT_KEY_FILE stays apart: keep it safe, restore
needs it). Then verifies the copy (every leaf, every seal, every signed head) and writes
DIR/manifest.json. DIR must not exist or be empty. The read models are not copied: restore
rebuilds them. On EventStoreDB only the tree and the token are copied (the log is the
server's to back up) and the tree is verified against the server's log.
Exit 1 when the copy does not verify (the data dir is at fault: see POST /v1/audit/verify).
${GLOBAL_HELP}`;

export const backupCommand: Command = {
  name: 'backup',
  summary: 'a verified copy of the log and the audit tree into DIR, the service running or not',
  help: HELP,
  positionals: { min: 1, max: 1, names: 'DIR (where to put the backup)' },
  async run({ io, positionals, config, log }) {
    const dest = positionals[0] as string;
    const { keyPaths, loadKeys } = await import('../audit/keys.js');
    const { BackupError, takeBackup } = await import('../integrity/backup.js');
    let keys;
    try {
      keys = loadKeys(keyPaths(config.dataDir, config.auditKeyFile), log, { create: false });
    } catch (err) {
      throw new CliError(EXIT.unavailable, `cannot read the audit key (${message(err)}): back up the data dir the service runs on, with its ANNALS_AUDIT_KEY_FILE`);
    }
    const started = performance.now();
    const run = (store: Parameters<typeof takeBackup>[0]['store']) =>
      takeBackup({ dataDir: config.dataDir, store, keys, dest, log, onProgress: (stage, p) => io.stderr.write(`backup: ${stage}${p ? ` (${p.eventsRead} events)` : ''}\n`) });
    try {
      const m = config.eventStore === 'sqlite' ? await run('sqlite') : await withStore(config, (store) => run(store));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      io.stderr.write(
        `backed up ${config.dataDir} into ${dest} in ${seconds} s: ${m.eventStore === 'sqlite' ? `the log up to position ${m.logHead ?? '(empty)'} (${m.verified.eventsRead} events), ` : ''}` +
          `the tree of ${m.tree.treeSize} leaves with ${m.verified.headsChecked} signed heads, all verified\n`,
      );
      return EXIT.ok;
    } catch (err) {
      if (err instanceof BackupError) throw new CliError(EXIT.refused, err.message);
      throw err;
    }
  },
};
