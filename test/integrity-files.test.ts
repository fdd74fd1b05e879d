/**
 * Issue #17, finding 4: the data dir is the owner's alone. Files 0600 (events.db and its -wal
 * and -shm, readmodels.db, audit.db, the token, the key, the lock) in a 0700 directory,
 * whatever the umask, and an existing data dir left looser is tightened; a key file others
 * can read is refused at start, not just warned about. Before: 0644 files in a 0755 directory
 * (the whole log readable by any local user) and a warning for a loose key.
 */
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { dataDirWithKey, open, record } from './fixtures/integrity.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

t.test('0600 files in a 0700 data dir, whatever the umask, with the threads too', async (t) => {
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const umask = process.umask(0o022);
  t.teardown(() => process.umask(umask));
  const runtime = await open(dataDir, { ANNALS_AUDIT_KEY_FILE: keyFile, ANNALS_TOKENS: '', ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'thread' });
  await record(runtime, 3);
  await runtime.audit.signHead();
  const files = readdirSync(dataDir);
  for (const f of ['events.db', 'events.db-wal', 'events.db-shm', 'readmodels.db', 'readmodels.db-wal', 'audit.db', 'audit.db-wal', 'recorder.token', 'annals.lock']) {
    t.ok(files.includes(f), `${f} is there`);
  }
  for (const f of files) t.equal(mode(join(dataDir, f)), '600', `${f} is 0600`);
  t.equal(mode(dataDir), '700', 'the data dir is 0700');
  t.equal(mode(keyFile), '600', 'the key is 0600');
  t.equal(mode(join(keyFile, '..')), '700', 'and so is the directory made for it');
  await runtime.close();
});

t.test('a data dir left looser is tightened at start', async (t) => {
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  const first = await open(dataDir, env);
  await record(first, 2);
  await first.close();
  chmodSync(dataDir, 0o755);
  for (const f of readdirSync(dataDir)) chmodSync(join(dataDir, f), 0o644);
  const again = await open(dataDir, env);
  t.teardown(() => again.close());
  t.equal(mode(dataDir), '700');
  for (const f of readdirSync(dataDir)) t.equal(mode(join(dataDir, f)), '600', `${f} is 0600 again`);
});

t.test('a key file others can read is refused at start, saying what to do', async (t) => {
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  await (await open(dataDir, env)).close();
  chmodSync(keyFile, 0o644);
  await t.rejects(open(dataDir, env), { name: 'LooseKeyError', message: new RegExp(`the audit key ${keyFile} is readable by others than its owner \\(mode 0644\\).*Run 'chmod 600 ${keyFile}' and start again`) });
  chmodSync(keyFile, 0o600);
  await (await open(dataDir, env)).close();
  t.pass('starts once it is 0600');
});
