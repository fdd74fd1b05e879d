/**
 * Credentials: ANNALS_TOKENS, the generated recorder token file (0600, path logged, value
 * never), constant-time matching, principals, readAccess, and redaction of tokens in logs.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { createAuthenticator, principalId, resolveTokens, TOKEN_FILE } from '../src/auth/tokens.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

t.test('ANNALS_TOKENS unset: one recorder token generated, kept 0600, path logged, value never', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = capture();
  const log = pino({ level: 'info' }, out.stream);
  const config = loadConfig({ ANNALS_DATA_DIR: dir });
  const [grant] = await resolveTokens(config, log);
  t.equal(grant?.role, 'recorder');
  t.ok((grant?.token.length ?? 0) >= 32);
  const path = join(dir, TOKEN_FILE);
  t.equal((await stat(path)).mode & 0o777, 0o600);
  t.equal((await readFile(path, 'utf8')).trim(), grant?.token);
  const again = await resolveTokens(config, log);
  t.same(again, [grant], 'created once, then reused');
  const logged = out.lines.join('');
  t.match(logged, path, 'the path is logged');
  t.notMatch(logged, grant?.token as string, 'the value is not');
});

t.test('ANNALS_TOKENS set: its grants, no file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = loadConfig({ ANNALS_DATA_DIR: dir, ANNALS_TOKENS: 'recorder:rrrrrrrrrrrrrrrrrrrr,auditor:aaaaaaaaaaaaaaaaaaaa' });
  const grants = await resolveTokens(config, pino({ level: 'silent' }));
  t.same(grants.map((g) => g.role), ['recorder', 'auditor']);
  await t.rejects(stat(join(dir, TOKEN_FILE)));
});

t.test('authenticator: exact tokens only, principal names the role and not the token', async (t) => {
  const grants = [
    { role: 'recorder' as const, token: 'recorder-secret-0123456789' },
    { role: 'admin' as const, token: 'admin-secret-0123456789ab' },
  ];
  const auth = createAuthenticator(grants);
  t.same(auth('recorder-secret-0123456789'), { role: 'recorder', id: principalId(grants[0] as (typeof grants)[0]) });
  t.match(auth('admin-secret-0123456789ab')?.id, /^admin:[0-9a-f]{8}$/);
  t.equal(auth('recorder-secret-012345678'), null, 'a prefix is not the token');
  t.equal(auth('recorder-secret-0123456789x'), null);
  t.equal(auth(''), null);
  t.notMatch(principalId(grants[0] as (typeof grants)[0]), 'secret');
  // Tokens are compared zero-padded to a common width: lengths must count, and long tokens too.
  t.equal(auth('recorder-secret-0123456789\u0000'), null, 'the token with a NUL after it is not the token');
  const long = [{ role: 'auditor' as const, token: `${'L'.repeat(299)}ü` }, ...grants];
  const wide = createAuthenticator(long);
  t.equal(wide(long[0]!.token)?.role, 'auditor', 'a token wider than the usual width (300 characters, 301 bytes) matches');
  t.equal(wide(long[0]!.token.slice(0, -1)), null, 'its prefix does not');
  t.equal(wide(`${long[0]!.token}x`), null, 'nor a longer one');
  t.equal(wide('x'.repeat(5000)), null, 'a token far wider than every grant matches none');
  t.equal(wide('admin-secret-0123456789ab')?.role, 'admin', 'the other grants still match beside a wide one');
});

t.test('tokens never reach the logs', async (t) => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  const a = await startTestApp(t, { store: 'memory', log });
  await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { ...a.auth('recorder'), 'idempotency-key': 'k1' }, payload: f.person(undefined, 'X') });
  await a.app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: 'Bearer wrong-token-but-secret-too' }, payload: f.person(undefined, 'X') });
  log.info({ req: { headers: { authorization: `Bearer ${a.tokens.admin}` } } }, 'a request with its headers');
  log.info({ token: a.tokens.auditor }, 'a token field');
  const logged = out.lines.join('');
  t.ok(logged.length > 0, 'something was logged');
  for (const secret of [...Object.values(a.tokens), 'wrong-token-but-secret-too']) t.notMatch(logged, secret);
  t.match(logged, '[redacted]');
});

t.test('ANNALS_PRIVATE_READS: reads need a valid token of any role', async (t) => {
  const open = await startTestApp(t, { store: 'memory' });
  const closed = await startTestApp(t, { store: 'memory', env: { ANNALS_PRIVATE_READS: 'true' } });
  const read = async (a: typeof open, headers: Record<string, string> = {}) => (await a.app.inject({ url: '/v1/people', headers })).statusCode;
  t.equal(await read(open), 200, 'open reads need no token');
  t.equal(await read(closed), 401);
  t.equal(await read(closed, { authorization: 'Bearer not-a-token-of-this-server' }), 401);
  for (const role of ['recorder', 'auditor', 'admin'] as const) t.equal(await read(closed, closed.auth(role)), 200, `a ${role} token reads`);
});

t.test('short tokens are accepted, with a warning that never shows them', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const log = createLogger({ level: 'info', destination: sink });
  const config = loadConfig({ ANNALS_TOKENS: 'recorder:rtok,auditor:0123456789abcdefXYZ', ANNALS_DATA_DIR: '/nonexistent' });
  const grants = await resolveTokens(config, log);
  t.same(grants.map((g) => g.role), ['recorder', 'auditor']);
  t.equal(lines.length, 1);
  t.match(lines[0], /shorter than 16 characters/);
  t.match(lines[0], /"roles":\["recorder"\]/);
  t.notMatch(lines[0], /rtok/);
  const { app } = await startTestApp(t, { env: { ANNALS_TOKENS: 'recorder:rtok' } });
  const res = await app.inject({ method: 'POST', url: '/v1/facts', headers: { authorization: 'Bearer rtok' }, payload: f.person('short-token-person') });
  t.equal(res.statusCode, 201, 'a short recorder token records');
});
