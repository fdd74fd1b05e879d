/**
 * The `annals` command as a script sees it: help, exit codes and messages on stderr, and
 * `annals token` on a real data dir. The process itself (argv, stdout, stderr, the exit code)
 * is run as a child for help, a usage error and an unreachable store; the other cases run
 * main() in this process (runMain: the same code from argv to exit code, with its own streams
 * and environment), since each child loads TypeScript (1-3 s of CPU, tens of seconds under load).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli, runMain } from './fixtures/cli.js';

// Child processes (each loading TypeScript) make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 15-20; a hang is still caught at 600 s.
t.setTimeout(600_000);

const tmp = async (t: { teardown(fn: () => unknown): void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

t.test('help and usage errors: exit 0 for help, 2 for a bad command line', async (t) => {
  // As a process: the exit code and the streams a script sees.
  const [help, unknown] = await Promise.all([runCli(['--help']), runCli(['frobnicate'])]);
  t.equal(help.code, 0);
  for (const word of ['import', 'export', 'replay', 'rebuild', 'token', 'backup', 'restore', 'Exit codes', '--event-store', '--data-dir']) t.match(help.stdout, word);
  t.equal(unknown.code, 2, 'annals frobnicate exits 2');
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  t.equal(unknown.stdout, '', 'nothing on stdout');

  const commands = ['import', 'export', 'replay', 'rebuild', 'token', 'backup', 'restore'];
  for (const command of commands) {
    const r = await runMain([command, '--help']);
    t.equal(r.code, 0, `${command} --help`);
    t.match(r.out, `annals ${command}`);
  }
  const cases: Array<[string[], RegExp, Record<string, string>?]> = [
    [[], /Usage/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['import'], /missing FILE/],
    [['import', 'a', 'b'], /unexpected argument 'b'/],
    [['import', 'x.ndjson', '--bogus'], /bogus/],
    [['import', 'x.ndjson', '--chunk', '0'], /--chunk 0: expected a whole number from 1 to 10000/],
    [['replay'], /--known-at T is required/],
    [['export', '--known-at', 'yesterday'], /--known-at "yesterday": expected an RFC 3339 UTC timestamp/],
    [['token', '--role', 'king'], /--role king: expected one of recorder, auditor, admin/],
    [['backup'], /missing DIR \(where to put the backup\)/],
    [['export'], /ANNALS_EVENT_STORE/, { ANNALS_EVENT_STORE: 'mysql://nope' }],
  ];
  for (const [args, message, env] of cases) {
    const r = await runMain(args, env ?? {});
    t.equal(r.code, 2, `annals ${args.join(' ')} exits 2`);
    t.match(args.length === 0 ? r.out : r.err, message);
  }
});

t.test('token: print the generated token, create one, read ANNALS_TOKENS', async (t) => {
  const dir = await tmp(t);
  const none = await runMain(['token', '--data-dir', dir]);
  t.equal(none.code, 1);
  t.match(none.err, /no generated token in .*recorder\.token/);
  const created = await runMain(['token', '--create', '--data-dir', dir]);
  t.equal(created.code, 0, created.err);
  const token = created.out.trim();
  t.ok(token.length >= 32);
  t.equal((await readFile(join(dir, 'recorder.token'), 'utf8')).trim(), token);
  t.equal((await stat(join(dir, 'recorder.token'))).mode & 0o777, 0o600);
  t.equal((await runMain(['token', '--data-dir', dir])).out.trim(), token, 'prints the generated token');
  const auditor = await runMain(['token', '--create', '--role', 'auditor', '--data-dir', dir]);
  t.equal(auditor.code, 0);
  t.match(auditor.err, new RegExp(`ANNALS_TOKENS="recorder:\\$\\(cat .*recorder\\.token\\),auditor:${auditor.out.trim()}"`));
  const env = { ANNALS_TOKENS: 'recorder:recorder-token-0123456789,auditor:auditor-token-0123456789' };
  t.equal((await runMain(['token', '--role', 'auditor', '--data-dir', dir], env)).out.trim(), 'auditor-token-0123456789');
  const admin = await runMain(['token', '--role', 'admin', '--data-dir', dir], env);
  t.equal(admin.code, 1);
  t.match(admin.err, /ANNALS_TOKENS holds no admin token/);
});

t.test('an unreachable EventStoreDB is exit 4', async (t) => {
  const dir = await tmp(t);
  const r = await runCli(['export', '--event-store', 'esdb://127.0.0.1:1?tls=false', '--data-dir', dir], { timeoutMs: 60_000 });
  t.equal(r.code, 4, r.stderr);
  t.match(r.stderr, /annals export: /);
});
