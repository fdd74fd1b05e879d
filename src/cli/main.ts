/**
 * The `annals` command's dispatcher and help: which subcommand, its arguments parsed as it
 * declares them (--help prints its help), and the exit codes scripts rely on.
 * src/cli/annals.ts is the executable that calls it.
 */
import { CliError, EXIT, invocation, message, type ExitCode, type Invocation, type Io, type OptionSpec, type PositionalSpec } from './common.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { rebuildCommand } from './rebuild.js';
import { replayCommand } from './replay.js';
import { tokenCommand } from './token.js';
import { backupCommand } from './backup.js';
import { restoreCommand } from './restore.js';
import { diffCommand } from './diff.js';
import { auditCommand } from './audit.js';

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  /** Its options beside the global ones (an unknown one is a usage error); null: it parses its own `args` (audit: a subcommand). Default none. */
  readonly options?: OptionSpec | null;
  /** Its positional arguments; default none. */
  readonly positionals?: PositionalSpec;
  run(call: Invocation): Promise<ExitCode>;
}

const COMMANDS: readonly Command[] = [importCommand, exportCommand, replayCommand, rebuildCommand, tokenCommand, backupCommand, restoreCommand, diffCommand, auditCommand];

export const HELP = `annals — the Annals command line: load, take out and replay the record

Usage: annals <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join('\n')}

Options every command takes:
  --data-dir DIR        the data dir (default: ANNALS_DATA_DIR, else ./data)
  --event-store STORE   sqlite, or an EventStoreDB connection string such as
                        esdb://localhost:2113?tls=false (default: ANNALS_EVENT_STORE, else sqlite)
  -h, --help            help for the command

Exit codes:
  0  done
  1  a fact was refused (import: its index, factId and the reason are printed); nothing after it
     was recorded, and everything before it stays recorded: fix it and run the import again
  2  usage: unknown command or option, a missing or bad value, a bad environment variable
  3  a file cannot be read or written, or an input line is not JSON or not a fact
  4  the store or the read models could not be opened or failed (EventStoreDB unreachable, disk),
     or the data dir's read models or audit tree are not of this log (the message says what to do)
  5  the data dir is in use by the service (or another writing command): import, rebuild and
     restore write it and are refused meanwhile; export, replay, diff, backup and token only read it
  130  stopped by SIGINT or SIGTERM before it completed (rebuild): its partial file removed, the
     read models as they were; run it again

Run 'annals <command> --help' for a command's options. Beside a running service, record
through POST /v1/facts/batch and rebuild through POST /v1/admin/rebuild instead.
`;

export async function main(argv: string[], io: Io): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(HELP);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`annals: unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See 'annals --help'.\n`);
    return EXIT.usage;
  }
  try {
    const call = invocation(rest, io, command.options === undefined ? {} : command.options, command.positionals);
    if (call === null) {
      io.stdout.write(command.help);
      return EXIT.ok;
    }
    return await command.run(call);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`annals ${name}: ${err.message}\n`);
      if (err.code === EXIT.usage) io.stderr.write(`See 'annals ${name} --help'.\n`);
      return err.code;
    }
    io.stderr.write(`annals ${name}: ${message(err)}\n`);
    return EXIT.unavailable;
  }
}
