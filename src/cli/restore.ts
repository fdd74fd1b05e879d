/**
 * `annals restore DIR`: puts a backup back into the data dir, the service stopped
 * (src/integrity/restore.ts), verified before anything is replaced.
 */
import type { Command } from './main.js';
import { CliError, EXIT, GLOBAL_HELP, withLock } from './common.js';

const HELP = `annals restore — put a backup back into the data dir (service stopped)

Usage: annals restore DIR [--accept-loss]

DIR is what 'annals backup' wrote. Before anything is replaced: every file is checked against
the manifest, the backup must be signed by the audit key this configuration names
(ANNALS_AUDIT_KEY_FILE, else <data dir>/audit-key.pem, taken from the backup when absent),
every leaf, seal and signed head of the backup must verify, and the backup must agree with
the last head kept beside the key. Then the data dir's events.db, audit.db and readmodels.db
move into <data dir>/before-restore-<time>/ (nothing is deleted), the backup's move in, and
the read models are rebuilt from the restored log.

  --accept-loss   restore a backup older than the last head kept beside the key: the events
                  recorded after the backup are lost (the kept head is set aside, not deleted)

Refused (exit 5) while the service runs on this data dir; exit 1 when the backup does not
verify or does not agree with the kept head. Embedded store only: on EventStoreDB the log is
the server's to restore.
${GLOBAL_HELP}`;

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'put a backup back into the data dir, verified first (service stopped)',
  help: HELP,
  options: { 'accept-loss': { type: 'boolean' } },
  positionals: { min: 1, max: 1, names: 'DIR (the backup to restore)' },
  async run({ io, values, positionals, config, log }) {
    const from = positionals[0] as string;
    const { RestoreError, restoreBackup } = await import('../integrity/restore.js');
    return await withLock(config, 'annals restore', 'Stop the service first: a restore replaces its log', async () => {
      try {
        const r = await restoreBackup({
          from,
          dataDir: config.dataDir,
          keyFile: config.auditKeyFile,
          acceptLoss: values['accept-loss'] === true,
          log,
          onProgress: (stage) => io.stderr.write(`restore: ${stage}\n`),
        });
        io.stderr.write(
          `restored ${from} (taken ${r.manifest.createdAt}) into ${config.dataDir}: ${r.events} events, a tree of ${r.treeSize} leaves, verified; ` +
            `read models rebuilt (${r.rebuilt.events} events)` +
            `${r.setAside ? `; the previous files are in ${r.setAside}` : ''}${r.lost > 0 ? `; ${r.lost} events recorded after the backup are not in it` : ''}\n`,
        );
        return EXIT.ok;
      } catch (err) {
        if (err instanceof RestoreError) throw new CliError(EXIT.refused, err.message);
        throw err;
      }
    });
  },
};
