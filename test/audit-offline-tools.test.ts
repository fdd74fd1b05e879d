/**
 * The audit README's "same checks with standard tools", run as written: its shell block
 * (jq, base64, OpenSSL 3) verifies a real head's signature and key id, and its Python
 * script recomputes the head's root from a real export. Each part is skipped when its tools
 * are not on PATH. A tampered head must fail the same commands.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { seedExample } from '../src/example/seed.js';
import { startTestApp } from './fixtures/app.js';

const readme = await readFile(new URL('../src/audit/README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## The same checks with standard tools'));
const shell = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const python = /```python\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

t.test('the README checks a real head and export with standard tools', async (t) => {
  t.match(shell, /openssl pkeyutl -verify/, 'the README has the OpenSSL block');
  t.match(python, /hashlib/, 'the README has the tree script');
  const dir = await mkdtemp(join(tmpdir(), 'annals-tools-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { app, runtime, auth } = await startTestApp(t);
  await seedExample(runtime);
  t.equal((await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') })).statusCode, 201);
  const doc = (await app.inject({ url: '/v1/audit/tree-head', headers: auth('auditor') })).json();
  await writeFile(join(dir, 'head.json'), JSON.stringify(doc));
  await writeFile(join(dir, 'export.ndjson'), (await app.inject({ url: '/v1/audit/events', headers: auth('auditor') })).body);
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });

  t.test('the signature, with jq, base64 and openssl', { skip: ['openssl', 'jq', 'base64', 'sha256sum'].every(has) ? false : 'openssl, jq, base64 or sha256sum not on PATH' }, async (t) => {
    let r = run('bash', ['-euo', 'pipefail', '-c', shell]);
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /Signature Verified Successfully/);
    // Another timestamp under the same signature: the same commands must refuse it.
    await writeFile(join(dir, 'head.json'), JSON.stringify({ ...doc, head: { ...doc.head, timestamp: '2000-01-01T00:00:00.000Z' } }));
    r = run('bash', ['-euo', 'pipefail', '-c', shell]);
    t.not(r.status, 0, 'a changed head fails');
    t.match(r.stdout + r.stderr, /Signature Verification Failure/);
    await writeFile(join(dir, 'head.json'), JSON.stringify(doc));
  });

  t.test('the root, with the Python script', { skip: has('python3') ? false : 'python3 not on PATH' }, async (t) => {
    await writeFile(join(dir, 'tree.py'), python);
    const r = run('python3', ['tree.py', 'export.ndjson', String(doc.head.treeSize)]);
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), doc.head.rootHash, 'the root the script computes is the head\'s');
    const smaller = run('python3', ['tree.py', 'export.ndjson', String(doc.head.treeSize - 1)]);
    t.not(smaller.stdout.trim(), doc.head.rootHash, 'one event less, another root');
  });
});
