/**
 * What every subcommand shares: exit codes (the contract scripts rely on), the global
 * options, the configuration (the server's environment, overridden by flags) and opening a
 * Runtime directly on the store, without HTTP.
 */
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { Timestamp } from '../../events/index.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import type { EventStore } from '../store/port.js';

export const EXIT = {
  /** Done. */
  ok: 0,
  /** The store refused a fact (import), or an operation failed on the data. */
  refused: 1,
  /** Bad command line or environment: unknown command or option, missing or bad value. */
  usage: 2,
  /** A file cannot be read or written, or an input line is not JSON or not a fact. */
  input: 3,
  /** The store or the read models could not be opened or failed (EventStoreDB unreachable, disk), or are not of one log. */
  unavailable: 4,
  /** The data dir is in use by another writer (the service): stop it, or go through its HTTP API. */
  busy: 5,
  /** Stopped by SIGINT or SIGTERM before it completed (rebuild): nothing was changed; run it again. 128 + SIGINT's number, as a shell reports an interrupted command. */
  stopped: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the command with a given exit code and one message on stderr. */
export class CliError extends Error {
  constructor(
    readonly code: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(EXIT.usage, message);

/** Options every subcommand accepts (node:util parseArgs shape). */
export const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  'event-store': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface GlobalValues {
  'data-dir'?: string | undefined;
  'event-store'?: string | undefined;
}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/**
 * The server's configuration from the environment, with `--data-dir` and `--event-store`
 * on top. The CLI never seeds the example: `annals import` of an empty store must leave it
 * holding exactly the file's facts.
 */
export function cliConfig(values: GlobalValues, env: NodeJS.ProcessEnv): Config {
  // A one-shot command feeds the audit tree and the read models on its own thread: follower
  // threads cost a start-up and buy nothing for one import (the environment wins).
  const overrides: Record<string, string> = {
    ANNALS_SEED: 'none',
    ...(env['ANNALS_AUDIT_FOLLOWER'] ? {} : { ANNALS_AUDIT_FOLLOWER: 'inline' }),
    ...(env['ANNALS_READ_MODELS'] ? {} : { ANNALS_READ_MODELS: 'inline' }),
  };
  if (values['data-dir'] !== undefined) overrides.ANNALS_DATA_DIR = values['data-dir'];
  if (values['event-store'] !== undefined) overrides.ANNALS_EVENT_STORE = values['event-store'];
  try {
    return loadConfig({ ...env, ...overrides });
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.problems.join('; '));
    throw err;
  }
}

/** The CLI's logger: warnings and errors only (LOG_LEVEL overrides), on stderr. */
export function cliLogger(env: NodeJS.ProcessEnv): Logger {
  return pino({ level: env.LOG_LEVEL || 'warn' }, pino.destination(2));
}

/**
 * The whole runtime, the data dir locked for this command (`what`, e.g. "annals import"):
 * refused with exit 5 while the service (or another writing command) holds it, `beside`
 * saying what to do instead.
 */
export async function withRuntime<T>(config: Config, env: NodeJS.ProcessEnv, what: string, beside: string, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  let runtime: Runtime;
  try {
    // Loaded here, not at the top: `annals --help` and `export` need no write or read side.
    const { openRuntime } = await import('../runtime.js');
    runtime = await openRuntime(config, { log: cliLogger(env), holder: what });
  } catch (err) {
    throw openFailure(config, err, beside);
  }
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

/** Why a command could not open the data dir, as the error it ends with. */
function openFailure(config: Config, err: unknown, beside: string): CliError {
  const name = err instanceof Error ? err.name : '';
  if (name === 'DataDirBusyError') return new CliError(EXIT.busy, `${message(err)}. ${beside}`);
  if (name === 'LogMismatchError' || name === 'LooseKeyError') return new CliError(EXIT.unavailable, message(err));
  return new CliError(EXIT.unavailable, `cannot open the store (${describeStore(config)}): ${message(err)}`);
}

/**
 * The event store alone, for reading (export, replay, rebuild, backup): the embedded log is
 * opened read-only, nothing is created or changed, and no lock is taken, so this works beside
 * a running service.
 */
/**
 * `oneRead`: the command reads the log once from its start (export, replay, diff, rebuild):
 * the embedded store's page cache is kept small (2 MiB instead of 64), as a page is not read
 * twice and the operating system's cache holds the file anyway; replay's memory bound counts it.
 */
export async function withStore<T>(config: Config, fn: (store: EventStore) => Promise<T>, options: { oneRead?: boolean } = {}): Promise<T> {
  let store: EventStore;
  try {
    const { openStore } = await import('../runtime.js');
    store = await openStore(config, { readOnly: true, ...(options.oneRead ? { cacheSizeKiB: 2048 } : {}) });
  } catch (err) {
    throw new CliError(EXIT.unavailable, `cannot open the store (${describeStore(config)}): ${message(err)}`);
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Runs `fn` holding the data dir's lock (rebuild, restore): exit 5 while the service holds it. */
export async function withLock<T>(config: Config, what: string, beside: string, fn: () => Promise<T>): Promise<T> {
  const { lockDataDir } = await import('../integrity/lock.js');
  const { ensurePrivateDir } = await import('../store/private-files.js');
  let lock;
  try {
    ensurePrivateDir(config.dataDir);
    lock = lockDataDir(config.dataDir, what);
  } catch (err) {
    throw openFailure(config, err, beside);
  }
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

export function describeStore(config: Config): string {
  return config.eventStore === 'sqlite' ? `sqlite in ${config.dataDir}` : config.eventStore;
}

/** `--known-at`: an RFC 3339 UTC timestamp with milliseconds, as everywhere in the API. */
export function parseKnownAt(value: string | undefined, option = '--known-at'): string | undefined {
  if (value === undefined) return undefined;
  const parsed = Timestamp.safeParse(value);
  if (!parsed.success) throw usageError(`${option} ${JSON.stringify(value)}: expected an RFC 3339 UTC timestamp with milliseconds, e.g. 2025-12-01T00:00:00.000Z`);
  return parsed.data;
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** How many positional arguments a subcommand takes, and what they are (for the usage error). */
export interface PositionalSpec {
  readonly min: number;
  readonly max: number;
  readonly names: string;
}

/**
 * What a subcommand's run is handed (main.ts parses its arguments first): the values and
 * positionals, and the configuration and logger, each made when first read, so a usage error
 * in the arguments is reported before one in the environment.
 */
export interface Invocation {
  /** The arguments after the command's name, as given (a command that parses its own: audit). */
  readonly args: string[];
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
  readonly io: Io;
  /** cliConfig of the global options and the environment. */
  readonly config: Config;
  /** cliLogger of the environment. */
  readonly log: Logger;
}

/** The invocation of a subcommand taking `options` and `positionals` (see parseCommandArgs); null when --help was asked. */
export function invocation(args: string[], io: Io, options: OptionSpec | null, positionals: PositionalSpec = { min: 0, max: 0, names: '' }): Invocation | null {
  const parsed = options === null ? { values: {}, positionals: [] } : parseCommandArgs(args, options, positionals);
  if (parsed === null) return null;
  let config: Config | undefined;
  let log: Logger | undefined;
  return {
    args,
    values: parsed.values,
    positionals: parsed.positionals,
    io,
    get config() {
      return (config ??= cliConfig(globalValues(parsed.values), io.env));
    },
    get log() {
      return (log ??= cliLogger(io.env));
    },
  };
}

/**
 * Parses a subcommand's arguments strictly (an unknown option is a usage error) with the
 * global options added. Returns null when --help was asked: the caller prints its help.
 */
export function parseCommandArgs<O extends OptionSpec>(
  args: string[],
  options: O,
  positionals: PositionalSpec,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | null {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageError(message(err).replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return null;
  const n = parsed.positionals.length;
  if (n < positionals.min) throw usageError(`missing ${positionals.names}`);
  if (n > positionals.max) throw usageError(`unexpected argument '${parsed.positionals[positionals.max]}'`);
  return { values, positionals: parsed.positionals };
}

export function globalValues(values: Record<string, string | boolean | undefined>): GlobalValues {
  return { 'data-dir': values['data-dir'] as string | undefined, 'event-store': values['event-store'] as string | undefined };
}

export const GLOBAL_HELP = `Options every command takes:
  --data-dir DIR        the data dir (default: ANNALS_DATA_DIR, else ./data)
  --event-store STORE   sqlite, or an EventStoreDB connection string (default: ANNALS_EVENT_STORE, else sqlite)
  -h, --help            this help
`;
