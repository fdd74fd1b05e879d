/**
 * Tree heads as C2SP checkpoints (src/audit/checkpoint.ts): GET /v1/audit/checkpoint on a real
 * server, checked by an independent implementation written from the specifications
 * (test/fixtures/checkpoint_verify.py: Python's hashlib and the `cryptography` package's
 * Ed25519, which also recomputes the RFC 6962 root from the export), the origin (derived from
 * the log's identity, or ANNALS_AUDIT_ORIGIN), and `annals audit verify --head checkpoint --key`
 * on an untouched export, a changed event, a changed checkpoint and another key's.
 */
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { checkpoints, checkpointText, CheckpointError, NoOriginError, noteKeyId, parseCheckpoint, parseVerifierKey, rawPublicKey, signCheckpoint, verifierKey, verifyCheckpoint } from '../src/audit/checkpoint.js';
import { loadConfig } from '../src/config.js';
import { seedExample } from '../src/example/seed.js';
import { startTestApp } from './fixtures/app.js';
import { runMain } from './fixtures/cli.js';
import { organization } from './fixtures/facts.js';

const PY = fileURLToPath(new URL('./fixtures/checkpoint_verify.py', import.meta.url));
const python = spawnSync('python3', ['-c', 'import cryptography']).status === 0;
const dir = await mkdtemp(join(tmpdir(), 'annals-checkpoint-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const file = (name: string): string => join(dir, name);

const cli = (args: string[]) => runMain(['audit', 'verify', ...args]);

const py = (...args: string[]) => spawnSync('python3', [PY, ...args], { encoding: 'utf8' });

t.test('the spec example: our key ID and verifier of signed-note\'s own example key', async (t) => {
  // signed-note's example: the vkey example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k verifies its note.
  const vkey = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
  const v = parseVerifierKey(vkey);
  t.equal(noteKeyId('example.com/foo', v.publicKey).toString('hex'), '530d903a', 'the key ID, computed as the spec says, is the example\'s');
  t.equal(verifierKey('example.com/foo', v.publicKey), vkey, 'and the verifier key string is the example\'s');
  const note = 'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
  // Not a checkpoint (one line of text), but its signature is the spec's: check it as a note.
  t.throws(() => verifyCheckpoint(note, v), /three non-empty lines/, 'one line of text is not a checkpoint');
  t.throws(() => parseVerifierKey('example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'), /ID does not match/);
});

t.test('a checkpoint served, and checked by an independent implementation', async (t) => {
  const { app, runtime, auth } = await startTestApp(t);
  t.equal((await app.inject({ url: '/v1/audit/checkpoint', headers: auth('auditor') })).statusCode, 503, 'before the first head: 503');
  t.equal((await app.inject({ url: '/v1/audit/checkpoint' })).statusCode, 401, 'the auditor\'s or admin\'s, like the JSON head');
  await seedExample(runtime);
  t.equal((await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') })).statusCode, 201);
  const doc = (await app.inject({ url: '/v1/audit/tree-head', headers: auth('auditor') })).json();
  const res = await app.inject({ url: '/v1/audit/checkpoint', headers: auth('auditor') });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain/);
  const note = res.body;
  const [origin, size, root, blank, sig, end] = note.split('\n');
  t.match(origin, /^annals\/sqlite\/[0-9a-f-]{36}$/, 'the origin: annals/<the log\'s identity>');
  t.equal(doc.checkpoint.origin, origin);
  t.equal(size, String(doc.head.treeSize), 'the tree size is the JSON head\'s');
  t.equal(Buffer.from(root!, 'base64').toString('hex'), doc.head.rootHash, 'the root is the JSON head\'s, in base64');
  t.equal(blank, '');
  t.match(sig, new RegExp(`^— ${origin} [A-Za-z0-9+/]+=*$`), 'one signature line, the key name the origin');
  t.equal(end, '', 'the note ends with a newline');
  t.equal(Buffer.from(sig!.split(' ')[2]!, 'base64').length, 4 + 64, 'key ID and an Ed25519 signature');
  t.equal((await app.inject({ url: '/v1/audit/checkpoint', headers: auth('admin') })).body, note, 'the same bytes again (Ed25519 is deterministic)');
  t.same(verifyCheckpoint(note, parseVerifierKey(doc.checkpoint.verifierKey)), { origin, treeSize: doc.head.treeSize, rootHash: doc.head.rootHash });

  await writeFile(file('checkpoint.txt'), note);
  await writeFile(file('head.json'), JSON.stringify(doc));
  await writeFile(file('export.ndjson'), (await app.inject({ url: '/v1/audit/events', headers: auth('auditor') })).body);
  const vkey = doc.checkpoint.verifierKey as string;

  t.test('Python and cryptography, from the specs', { skip: python ? false : 'python3 with the cryptography package not found' }, async (t) => {
    let r = py(file('checkpoint.txt'), vkey, file('export.ndjson'));
    t.equal(r.status, 0, r.stderr);
    t.same(JSON.parse(r.stdout), { origin, treeSize: doc.head.treeSize, rootHash: doc.head.rootHash, computedRoot: doc.head.rootHash }, 'signature verified; the root recomputed from the export is the checkpoint\'s');
    // A changed tree size under the same signature.
    await writeFile(file('changed.txt'), note.replace(`\n${size}\n`, `\n${Number(size) - 1}\n`));
    r = py(file('changed.txt'), vkey);
    t.equal(r.status, 1);
    t.match(r.stderr, /does not verify/);
    // Another key under the same name: its signature is not this key's (another key ID).
    const other = generateKeyPairSync('ed25519');
    await writeFile(file('forged.txt'), signCheckpoint(origin!, doc.head.treeSize, doc.head.rootHash, other.privateKey));
    r = py(file('forged.txt'), vkey);
    t.equal(r.status, 1);
    t.match(r.stderr, /no signature by/);
    // Our own note for the forged key, checked by Python with that key: our signing follows the spec.
    r = py(file('forged.txt'), verifierKey(origin!, rawPublicKey(other.publicKey)));
    t.equal(r.status, 0, r.stderr);
  });

  t.test('annals audit verify --head checkpoint --key', async (t) => {
    for (const key of [vkey, file('head.json')]) {
      const r = await cli(['--log', file('export.ndjson'), '--head', file('checkpoint.txt'), '--key', key]);
      t.equal(r.code, 0, r.out + r.err);
      t.match(r.out, new RegExp(`^ok: ${doc.head.treeSize} events; 1 head\\(s\\) signed by key ${doc.head.keyId}`));
    }
    await writeFile(file('pub.pem'), doc.publicKey.pem);
    t.equal((await cli(['--log', file('export.ndjson'), '--head', file('checkpoint.txt'), '--key', file('pub.pem')])).code, 0, 'a PEM key: the key name is the origin');
    t.equal((await cli(['--log', file('export.ndjson'), '--head', file('checkpoint.txt'), '--previous-head', file('head.json'), '--key', vkey])).code, 0, 'with the JSON head as the earlier one: one key');

    const lines = (await import('node:fs')).readFileSync(file('export.ndjson'), 'utf8').split('\n');
    const changed = lines.map((l) => l.replace('"data":{"key":"kg"', '"data":{"key":"kh"')).join('\n');
    t.ok(changed !== lines.join('\n'), 'one byte changed (a key in one event\'s data)');
    await writeFile(file('changed.ndjson'), changed);
    let r = await cli(['--log', file('changed.ndjson'), '--head', file('checkpoint.txt'), '--key', vkey]);
    t.equal(r.code, 1);
    t.match(r.out, /^root-mismatch: /m, 'a changed event: the root differs');

    r = await cli(['--log', file('export.ndjson'), '--head', file('changed.txt'), '--key', vkey]);
    t.equal(r.code, 1);
    t.match(r.out, /^bad-signature: /m, 'a changed checkpoint: its signature does not hold');
    r = await cli(['--log', file('export.ndjson'), '--head', file('forged.txt'), '--key', vkey]);
    t.equal(r.code, 1);
    t.match(r.out, /^bad-signature: /m, 'another key\'s checkpoint');

    r = await cli(['--log', file('export.ndjson'), '--head', file('checkpoint.txt')]);
    t.equal(r.code, 2, 'a checkpoint without --key: usage');
    t.match(r.err, /--key/);
    await writeFile(file('junk.txt'), 'not a checkpoint\n');
    r = await cli(['--log', file('export.ndjson'), '--head', file('junk.txt'), '--key', vkey]);
    t.equal(r.code, 3, 'a file that is neither');
    t.equal((await cli(['--log', file('export.ndjson'), '--head', file('checkpoint.txt'), '--key', file('export.ndjson')])).code, 3, 'a --key that is no key');
  });
});

t.test('ANNALS_AUDIT_ORIGIN names the checkpoints; a bad one is refused', async (t) => {
  const { app, auth } = await startTestApp(t, { env: { ANNALS_AUDIT_ORIGIN: 'records.example.org/annals' } });
  await app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: organization('cp-org') as object });
  t.equal((await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') })).statusCode, 201);
  const note = (await app.inject({ url: '/v1/audit/checkpoint', headers: auth('auditor') })).body;
  t.ok(note.startsWith('records.example.org/annals\n'), 'the origin line');
  t.match(note, /\n— records\.example\.org\/annals /, 'and the key name');
  const doc = (await app.inject({ url: '/v1/audit/tree-head', headers: auth('auditor') })).json();
  t.match(doc.checkpoint.verifierKey, /^records\.example\.org\/annals\+[0-9a-f]{8}\+/);
  for (const bad of ['two words', 'a+b', 'tab\there']) {
    t.throws(() => loadConfig({ ANNALS_AUDIT_ORIGIN: bad, ANNALS_DATA_DIR: dir }), /ANNALS_AUDIT_ORIGIN/, JSON.stringify(bad));
  }
});

t.test('the note form: what is refused, and why', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const root = 'ab'.repeat(32);
  const good = signCheckpoint('example.org/log', 7, root, privateKey);
  const v = { name: null, publicKey: rawPublicKey(publicKey) };
  t.same(verifyCheckpoint(good, v), { origin: 'example.org/log', treeSize: 7, rootHash: root });
  t.equal(checkpointText('example.org/log', 7, root), good.slice(0, good.indexOf('\n\n') + 1));
  const refused: Array<[string, RegExp]> = [
    [good.slice(0, -1), /ends with a newline/],
    [good.replace('\n7\n', '\n07\n'), /leading zeroes/],
    [good.replace('example.org/log\n7\n', '7\n'), /three non-empty lines/],
    [good.replace(/\n\n/, '\n'), /no blank line/],
    [good.replace('— ', '- '), /not a signature line/],
    [good.replace('\n7\n', '\n7\r\n'), /control characters/],
    [good.replace(/\n([^\n]+)\n\n/, '\nAAAA\n\n'), /base64 of 32 bytes/],
  ];
  for (const [note, why] of refused) t.throws(() => parseCheckpoint(note), why);
  t.throws(() => signCheckpoint('a b', 1, root, privateKey), /spaces/);
  t.throws(() => verifyCheckpoint(good, { name: 'another/name', publicKey: v.publicKey }), CheckpointError, 'under another name: no signature of that key');
  // Another key's signature beside ours is ignored (a witness's cosignature, say).
  const other = generateKeyPairSync('ed25519');
  const cosigned = good + signCheckpoint('witness.example', 7, root, other.privateKey).split('\n\n')[1];
  t.same(verifyCheckpoint(cosigned, v).treeSize, 7, 'an unknown signature is ignored');
  t.throws(() => parseVerifierKey('a+b'), /name>\+<8 hex/);
  t.throws(() => parseVerifierKey(`x+00000000+${Buffer.alloc(33, 2).toString('base64')}`), /not an Ed25519/);
});

t.test('an empty log without ANNALS_AUDIT_ORIGIN has no origin yet; the first event names it', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const root = 'cd'.repeat(32);
  let identity: string | null = null;
  let head: { treeSize: number; rootHash: string; keyId: string } | null = null;
  let signed = 0;
  const c = checkpoints({
    key: { publicKeyPem: pem, checkpointOf: (h, origin) => (signed++, signCheckpoint(origin, h.treeSize, h.rootHash, privateKey)) },
    head: async () => head,
    origin: undefined,
    identity: async () => identity,
  });
  await t.rejects(c.origin(), NoOriginError);
  t.equal(await c.latest(), null, 'no head yet: nothing');
  head = { treeSize: 0, rootHash: root, keyId: 'k' };
  await t.rejects(c.latest(), /ANNALS_AUDIT_ORIGIN/, 'a head but no identity yet: the reason');
  identity = 'first-event:0b7f4a2e-1111-4222-8333-444455556666';
  t.equal(await c.origin(), 'annals/first-event/0b7f4a2e-1111-4222-8333-444455556666');
  const first = await c.latest();
  t.equal(first?.note.split('\n')[0], 'annals/first-event/0b7f4a2e-1111-4222-8333-444455556666');
  t.equal((await c.latest())?.note, first?.note);
  t.equal(signed, 1, 'the note of one head is made once');
  head = { treeSize: 1, rootHash: root, keyId: 'k' };
  t.equal((await c.latest())?.treeSize, 1, 'a new head, a new note');
  t.equal(signed, 2);
  t.match(await c.verifierKey(), /^annals\/first-event\/0b7f4a2e-1111-4222-8333-444455556666\+[0-9a-f]{8}\+A[Q-Za-f]/, "the type byte 0x01 first (base64: A, then 16 to 31)");
});
