/**
 * `annals token`: prints a credential, or creates one. The server's credentials are either
 * ANNALS_TOKENS (`role:token,…`) or, when that is unset, one recorder token generated once
 * and kept in the data dir (API.md). So:
 * - `annals token [--role R]` prints R's token (default recorder): from ANNALS_TOKENS when
 *   set, else the generated file;
 * - `annals token --create` without ANNALS_TOKENS writes a new recorder token to that file
 *   (mode 0600; the server reads it at start), replacing the old one;
 * - `annals token --create --role R` otherwise prints a new token and the `R:token` pair to
 *   add to ANNALS_TOKENS: the environment is the only place such grants live.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_FILE } from '../auth/tokens.js';
import { ROLES, type Role } from '../config.js';
import type { Command } from './main.js';
import { CliError, EXIT, GLOBAL_HELP, message, usageError } from './common.js';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const HELP = `annals token — print or create a credential

Usage: annals token [--role R] [--create]

  --role R    recorder (default), auditor or admin
  --create    make a new token:
                - role recorder, ANNALS_TOKENS unset: written to <data dir>/${TOKEN_FILE}
                  (mode 0600), replacing the generated one; restart the server to use it
                - otherwise: printed with the role:token pair to add to ANNALS_TOKENS
                  (credentials other than the generated one live only in that variable)

Without --create: prints the role's token from ANNALS_TOKENS when it is set, else the
generated recorder token from the data dir. Exit 1 when there is no such token.
${GLOBAL_HELP}`;

export const tokenCommand: Command = {
  name: 'token',
  summary: 'print the recorder token, or create a token for a role (--create --role R)',
  help: HELP,
  options: { role: { type: 'string' }, create: { type: 'boolean' } },
  async run(call) {
    const { io } = call;
    const role = (call.values.role ?? 'recorder') as string;
    if (!ROLES.includes(role as Role)) throw usageError(`--role ${role}: expected one of ${ROLES.join(', ')}`);
    const config = call.config;
    const file = join(config.dataDir, TOKEN_FILE);

    if (call.values.create) {
      const token = newToken();
      if (role === 'recorder' && config.tokens === undefined) {
        await mkdir(config.dataDir, { recursive: true });
        try {
          await writeFile(file, `${token}\n`, { mode: 0o600 });
          await chmod(file, 0o600);
        } catch (err) {
          throw new CliError(EXIT.input, `cannot write ${file}: ${message(err)}`);
        }
        io.stdout.write(`${token}\n`);
        io.stderr.write(`a new recorder token is in ${file}; restart the server to use it\n`);
        return EXIT.ok;
      }
      io.stdout.write(`${token}\n`);
      // Once ANNALS_TOKENS is set the generated recorder token is no longer read: keep it in the list.
      const others = config.tokens === undefined ? [`recorder:$(cat ${file})`] : config.tokens.map((g) => `${g.role}:…`);
      io.stderr.write(`add it to ANNALS_TOKENS and restart the server: ANNALS_TOKENS="${[...others, `${role}:${token}`].join(',')}"\n`);
      return EXIT.ok;
    }

    if (config.tokens !== undefined) {
      const grant = config.tokens.find((g) => g.role === role);
      if (!grant) throw new CliError(EXIT.refused, `ANNALS_TOKENS holds no ${role} token`);
      io.stdout.write(`${grant.token}\n`);
      return EXIT.ok;
    }
    if (role !== 'recorder') throw new CliError(EXIT.refused, `ANNALS_TOKENS is unset: the only credential is the generated recorder token (create a ${role} token with 'annals token --create --role ${role}')`);
    let token: string;
    try {
      token = (await readFile(file, 'utf8')).trim();
    } catch {
      throw new CliError(EXIT.refused, `no generated token in ${file}: start the server once, or run 'annals token --create'`);
    }
    io.stdout.write(`${token}\n`);
    return EXIT.ok;
  },
};
