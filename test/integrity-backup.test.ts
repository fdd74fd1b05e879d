/**
 * Backups and restores (src/integrity/backup.ts, restore.ts), in process; the fault campaign's
 * `backup` scenario runs the commands during 8 writers. A backup is taken beside a running
 * service and verified; a restore is refused until the backup is proven (its files, its key,
 * every leaf and seal, the head kept beside the key), and a backup older than that head is
 * restored only when the loss is accepted. What it replaces is set aside, never deleted.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { main } from '../src/cli/main.js';
import { keyPaths, loadKeys } from '../src/audit/keys.js';
import { takeBackup } from '../src/integrity/backup.js';
import { restoreBackup } from '../src/integrity/restore.js';
import { dataDirWithKey, open, quiet, record, tempDir } from './fixtures/integrity.js';

t.test('backup beside the service; restore refused until proven; an older backup only with --accept-loss', async (t) => {
  const { dataDir, keyFile, headFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  await record(runtime, 20);
  const before = await runtime.audit.signHead();
  const dest = join(await tempDir(t), 'backup');
  const keys = loadKeys(keyPaths(dataDir, keyFile), quiet, { create: false });
  const manifest = await takeBackup({ dataDir, store: 'sqlite', keys, dest, log: quiet });
  t.match(manifest, { format: 'annals-backup-v1', eventStore: 'sqlite', tree: { treeSize: before.treeSize }, verified: { headsChecked: Number } });
  t.same(manifest.files.map((f) => f.name).sort(), ['audit.db', 'events.db'], 'the log and the tree; the key stays apart, the token is in ANNALS_TOKENS');
  await t.rejects(takeBackup({ dataDir, store: 'sqlite', keys, dest, log: quiet }), { name: 'BackupError', message: /is not empty/ });
  await record(runtime, 10, 'later');
  const after = await runtime.audit.signHead();
  await runtime.close();

  const restore = (extra: Partial<Parameters<typeof restoreBackup>[0]> = {}) => restoreBackup({ from: dest, dataDir, keyFile, acceptLoss: false, log: quiet, ...extra });
  await t.rejects(restore(), { name: 'RestoreError', message: new RegExp(`the backup's tree has ${before.treeSize} leaves, and the last head kept in .* covers ${after.treeSize}: restoring it loses the events recorded after the backup.*--accept-loss`) });
  t.equal(JSON.parse(readFileSync(headFile, 'utf8')).head.treeSize, after.treeSize, 'nothing changed by the refusal');

  const done = await restore({ acceptLoss: true });
  t.equal(done.lost, after.treeSize - before.treeSize);
  t.ok(done.setAside && existsSync(join(done.setAside, 'events.db')), 'the data dir’s files set aside');
  t.ok(readdirSync(join(headFile, '..')).some((f) => f.startsWith('audit.head.json.before-restore-')), 'the kept head set aside');
  const back = await open(dataDir, env);
  t.teardown(() => back.close());
  t.equal((await back.audit.head())?.rootHash, before.rootHash, 'the restored tree is the one signed before the backup');
  t.match(await back.audit.verify(), { ok: true });
  t.equal(back.readModels.applied(), await back.store.head(), 'read models rebuilt at restore');
});

t.test('a damaged backup, or one signed by another key, is refused before anything is replaced', async (t) => {
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  await record(runtime, 5);
  await runtime.audit.signHead();
  const dest = join(await tempDir(t), 'backup');
  await takeBackup({ dataDir, store: 'sqlite', keys: loadKeys(keyPaths(dataDir, keyFile), quiet), dest, log: quiet });
  await runtime.close();

  const other = await dataDirWithKey(t);
  mkdirSync(join(other.keyFile, '..'), { recursive: true });
  await (await open(other.dataDir, { ANNALS_AUDIT_KEY_FILE: other.keyFile })).close();
  await t.rejects(restoreBackup({ from: dest, dataDir: other.dataDir, keyFile: other.keyFile, acceptLoss: false, log: quiet }), { name: 'RestoreError', message: /the backup was signed with key [0-9a-f]+, and .* is key [0-9a-f]+: set ANNALS_AUDIT_KEY_FILE/ });

  const damaged = join(await tempDir(t), 'damaged');
  mkdirSync(damaged);
  for (const f of readdirSync(dest)) copyFileSync(join(dest, f), join(damaged, f));
  const bytes = readFileSync(join(damaged, 'events.db'));
  bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
  writeFileSync(join(damaged, 'events.db'), bytes);
  await t.rejects(restoreBackup({ from: damaged, dataDir, keyFile, acceptLoss: true, log: quiet }), { name: 'RestoreError', message: /differs from the manifest: the backup is damaged/ });
  await t.rejects(restoreBackup({ from: join(damaged, 'nope'), dataDir, keyFile, acceptLoss: true, log: quiet }), { name: 'RestoreError', message: /cannot be read.*is .* a directory 'annals backup' wrote/ });
  const again = await open(dataDir, env);
  t.teardown(() => again.close());
  t.match(await again.audit.verify(), { ok: true }, 'the data dir untouched by the refusals');
});

t.test('the commands: annals backup beside the service, annals restore refused beside it, then done', async (t) => {
  const { dataDir, keyFile } = await dataDirWithKey(t);
  const env = { ANNALS_AUDIT_KEY_FILE: keyFile };
  const runtime = await open(dataDir, env);
  await record(runtime, 8);
  await runtime.audit.signHead();
  const dest = join(await tempDir(t), 'backup');
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: new Writable({ write: (c, _e, cb) => ((stdout += String(c)), cb()) }),
      stderr: new Writable({ write: (c, _e, cb) => ((stderr += String(c)), cb()) }),
      env: { ANNALS_DATA_DIR: dataDir, ANNALS_AUDIT_KEY_FILE: keyFile, LOG_LEVEL: 'silent', ...extra },
    };
    return { code: await main(args, io), stdout, stderr };
  };
  const taken = await cli(['backup', dest]);
  t.equal(taken.code, 0, `annals backup beside the service exits 0 (${taken.stderr.slice(-200)})`);
  t.match(taken.stderr, /backed up .* into .*: the log up to position 0+\d+ \(\d+ events\), the tree of \d+ leaves with \d+ signed heads, all verified/);
  const again = await cli(['backup', dest]);
  t.equal(again.code, 1, 'a backup into a non-empty directory exits 1');
  t.match(again.stderr, /is not empty: back up into a new directory/);
  const busy = await cli(['restore', dest]);
  t.equal(busy.code, 5, 'restore refused beside the service');
  t.match(busy.stderr, /in use by the service .*Stop the service first: a restore replaces its log/);
  await runtime.close();
  const restored = await cli(['restore', dest]);
  t.equal(restored.code, 0, `annals restore once the service stopped exits 0 (${restored.stderr.slice(-200)})`);
  t.match(restored.stderr, /restored .* \(taken .*\) into .*: \d+ events, a tree of \d+ leaves, verified; read models rebuilt \(\d+ events\); the previous files are in .*before-restore-/);
  const noTree = await cli(['backup', join(dest, 'elsewhere'), '--data-dir', join(dataDir, 'nope')]);
  t.equal(noTree.code, 1, 'a data dir without a tree exits 1');
  t.match(noTree.stderr, /there is no audit tree in .*nope \(audit\.db\): start the service on it once, or check --data-dir/);
  const noKey = await cli(['backup', join(dest, 'elsewhere')], { ANNALS_AUDIT_KEY_FILE: join(dataDir, 'no-such-key.pem') });
  t.equal(noKey.code, 4, 'an unreadable key exits 4');
  t.match(noKey.stderr, /cannot read the audit key .*: back up the data dir the service runs on, with its ANNALS_AUDIT_KEY_FILE/);
  t.equal((await cli(['restore', '--help'])).code, 0, 'restore --help');
  t.equal((await cli(['backup', '--help'])).code, 0, 'backup --help');
});
