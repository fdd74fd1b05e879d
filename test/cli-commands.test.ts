/**
 * The `annals` command as a script sees it: help, exit codes and messages on stderr, and
 * `annals token` on a real data dir (a child process per run).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from './fixtures/cli.js';

// Child processes (each loading TypeScript) make this file's time follow the machine's load:
// 240 s (.taprc) was crossed at a load average of 15-20; a hang is still caught at 600 s.
t.setTimeout(600_000);

const tmp = async (t: { teardown(fn: () => unknown): void }): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
};

t.test('help and usage errors: exit 0 for help, 2 for a bad command line', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  for (const word of ['import', 'export', 'replay', 'rebuild', 'token', 'backup', 'restore', 'Exit codes', '--event-store', '--data-dir']) t.match(help.stdout, word);
  const commands = ['import', 'export', 'replay', 'rebuild', 'token', 'backup', 'restore'];
  const helps = await Promise.all(commands.map((command) => runCli([command, '--help'])));
  helps.forEach((r, i) => {
    t.equal(r.code, 0, `${commands[i]} --help`);
    t.match(r.stdout, `annals ${commands[i]}`);
  });
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
  const results = await Promise.all(cases.map(([args, , env]) => runCli(args, env ? { env } : {})));
  cases.forEach(([args, message], i) => {
    const r = results[i] as { code: number | null; stdout: string; stderr: string };
    t.equal(r.code, 2, `annals ${args.join(' ')} exits 2`);
    t.match(args.length === 0 ? r.stdout : r.stderr, message);
  });
});

t.test('token: print the generated token, create one, read ANNALS_TOKENS', async (t) => {
  const dir = await tmp(t);
  const none = await runCli(['token', '--data-dir', dir]);
  t.equal(none.code, 1);
  t.match(none.stderr, /no generated token in .*recorder\.token/);
  const created = await runCli(['token', '--create', '--data-dir', dir]);
  t.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.ok(token.length >= 32);
  t.equal((await readFile(join(dir, 'recorder.token'), 'utf8')).trim(), token);
  t.equal((await stat(join(dir, 'recorder.token'))).mode & 0o777, 0o600);
  t.equal((await runCli(['token', '--data-dir', dir])).stdout.trim(), token, 'prints the generated token');
  const auditor = await runCli(['token', '--create', '--role', 'auditor', '--data-dir', dir]);
  t.equal(auditor.code, 0);
  t.match(auditor.stderr, new RegExp(`ANNALS_TOKENS="recorder:\\$\\(cat .*recorder\\.token\\),auditor:${auditor.stdout.trim()}"`));
  const env = { ANNALS_TOKENS: 'recorder:recorder-token-0123456789,auditor:auditor-token-0123456789' };
  t.equal((await runCli(['token', '--role', 'auditor', '--data-dir', dir], { env })).stdout.trim(), 'auditor-token-0123456789');
  const admin = await runCli(['token', '--role', 'admin', '--data-dir', dir], { env });
  t.equal(admin.code, 1);
  t.match(admin.stderr, /ANNALS_TOKENS holds no admin token/);
});

t.test('an unreachable EventStoreDB is exit 4', async (t) => {
  const dir = await tmp(t);
  const r = await runCli(['export', '--event-store', 'esdb://127.0.0.1:1?tls=false', '--data-dir', dir], { timeoutMs: 60_000 });
  t.equal(r.code, 4, r.stderr);
  t.match(r.stderr, /annals export: /);
});
