/**
 * An export an auditor can check, and the check done from files alone: export lines carry the
 * event id (a leaf recomputed from a line equals the tree's, and its inclusion proof holds),
 * `after=` on /v1/audit/events, and `annals audit verify` on an untouched export and on each
 * kind of tampering, each reported with its position or its reason.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { leafBytes } from '../src/audit/leaf.js';
import { CompactTree, fromHex, hashLeaf, toHex, verifyInclusion } from '../src/audit/merkle.js';
import { keyFromPem, type SignedTreeHead } from '../src/audit/signing.js';
import { seedExample } from '../src/example/seed.js';
import type { StoredEvent } from '../src/store/port.js';
import { startTestApp } from './fixtures/app.js';
import { runCli, runMain } from './fixtures/cli.js';

const root = await mkdtemp(join(tmpdir(), 'annals-offline-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const file = (name: string): string => join(root, name);

let exportText = '';
let headDoc: { head: SignedTreeHead; publicKey: { pem: string } } | null = null;
let headsDoc: unknown = null;
let keyPem = '';
let lines: string[] = [];

t.test('export lines carry the id: a leaf from a line alone is the tree\'s', async (t) => {
  const { app, runtime, auth, dataDir } = await startTestApp(t);
  await seedExample(runtime);
  // A head every few events, so --heads can place a change narrowly.
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') })).statusCode, 201);
  const res = await app.inject({ url: '/v1/audit/events', headers: auth('auditor') });
  t.equal(res.statusCode, 200);
  exportText = res.body;
  const events = exportText.trim().split('\n').map((l) => JSON.parse(l) as StoredEvent);
  t.ok(events.length > 20, `${events.length} events`);
  t.ok(events.every((l) => typeof l.id === 'string' && l.id.length > 0), 'every line has its event id');

  headDoc = (await app.inject({ url: '/v1/audit/tree-head', headers: auth('auditor') })).json();
  t.equal(headDoc!.head.treeSize, events.length);
  for (const i of [0, 7, events.length - 1]) {
    const line = events[i]!;
    const proof = (await app.inject({ url: `/v1/audit/proof/inclusion?position=${line.position}`, headers: auth('auditor') })).json();
    const leaf = hashLeaf(leafBytes(line));
    t.equal(toHex(leaf), proof.leafHash, `leaf ${i} recomputed from its line alone`);
    t.ok(verifyInclusion(proof.leafIndex, proof.treeSize, leaf, proof.auditPath.map(fromHex), fromHex(headDoc!.head.rootHash)), `leaf ${i}: its inclusion proof verifies against the head`);
  }
  const tree = new CompactTree();
  for (const l of events) tree.append(hashLeaf(leafBytes(l)));
  t.equal(toHex(tree.root()), headDoc!.head.rootHash, 'the root from the export is the head\'s');

  // after=: only what is new.
  const after = events[4]!.position;
  const tail = (await app.inject({ url: `/v1/audit/events?after=${after}`, headers: auth('auditor') })).body;
  t.equal(tail, exportText.split('\n').slice(5).join('\n'), 'after= gives the events after that position, the same bytes');
  const last = (await app.inject({ url: `/v1/audit/events?after=${events.at(-1)!.position}`, headers: auth('auditor') })).body;
  t.equal(last, '', 'nothing after the last');
  for (const bad of ['abc', '12', '']) {
    const r = await app.inject({ url: `/v1/audit/events?after=${bad}`, headers: auth('auditor') });
    t.equal(r.statusCode, 400, `after=${bad}`);
    t.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(r.json().errors, [{ path: 'after' }], 'names after');
  }
  headsDoc = (await app.inject({ url: '/v1/audit/tree-heads', headers: auth('auditor') })).json();
  keyPem = await readFile(join(dataDir, 'audit-key.pem'), 'utf8');
  await writeFile(file('export.ndjson'), exportText);
  await writeFile(file('head.json'), JSON.stringify(headDoc));
  await writeFile(file('heads.json'), JSON.stringify(headsDoc));
  lines = exportText.trim().split('\n');
});

const verify = (args: string[]) => runMain(['audit', 'verify', ...args]);
async function withLog(name: string, text: string): Promise<string> {
  await writeFile(file(name), text);
  return file(name);
}
const posOf = (i: number): string => (JSON.parse(lines[i]!) as { position: string }).position;

t.test('an untouched export: ok, as a user runs it (no data dir, no environment)', async (t) => {
  const r = await runCli(['audit', 'verify', '--log', file('export.ndjson'), '--head', file('head.json'), '--heads', file('heads.json')], { env: { ANNALS_DATA_DIR: join(root, 'nowhere') } });
  t.equal(r.code, 0, r.stderr + r.stdout);
  t.match(r.stdout, new RegExp(`^ok: ${lines.length} events`));
  const help = await runCli(['audit', 'verify', '--help']);
  t.match(help.stdout, /Exit codes:/);
});

t.test('one byte changed in one event: the root differs, placed between heads', async (t) => {
  const i = 9;
  const changed = lines[i]!.replace(/"data":\{"(\w)/, (_m, c: string) => `"data":{"${c === 'a' ? 'b' : 'a'}`);
  t.not(changed, lines[i], 'one byte changed');
  const log = await withLog('byte.ndjson', [...lines.slice(0, i), changed, ...lines.slice(i + 1)].join('\n') + '\n');
  const r = await verify(['--log', log, '--head', file('head.json')]);
  t.equal(r.code, 1);
  t.match(r.out, /^root-mismatch: /m);
  const json = JSON.parse((await verify(['--log', log, '--head', file('head.json'), '--heads', file('heads.json'), '--json'])).out);
  const mismatch = json.problems.find((p: { kind: string; message: string }) => p.kind === 'root-mismatch' && !p.message.startsWith('--head '));
  const [from, to] = mismatch.between as [string | null, string];
  t.ok((from === null || from < posOf(i)) && posOf(i) <= to, `the change at ${posOf(i)} lies after ${from}, at or before ${to}`);
});

t.test('one event removed: named by its position', async (t) => {
  const i = 12;
  const log = await withLog('removed.ndjson', [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n') + '\n');
  const r = await verify(['--log', log, '--head', file('head.json')]);
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`^missing-event: line ${i + 1}: no event at position ${posOf(i)}`, 'm'));
  t.match(r.out, /export-short/, 'and the head covers more than the export holds');
});

t.test('two events swapped: named by position', async (t) => {
  const i = 15;
  const swapped = [...lines];
  [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
  const log = await withLog('swapped.ndjson', swapped.join('\n') + '\n');
  const r = await verify(['--log', log, '--head', file('head.json')]);
  t.equal(r.code, 1);
  t.match(r.out, new RegExp(`^out-of-order: line ${i + 2}: position ${posOf(i)} comes after ${posOf(i + 1)}`, 'm'));
  t.match(r.out, /^root-mismatch/m);
});

t.test('a head signed by another key', async (t) => {
  const other = keyFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'other');
  const head = headDoc!.head;
  // Signed by another key, presented with ours: the signature does not hold.
  const { signature: _s, ...unsigned } = head;
  const forged = { ...other.signHead({ ...unsigned, keyId: other.keyId }), keyId: head.keyId };
  await writeFile(file('forged.json'), JSON.stringify({ head: forged, publicKey: headDoc!.publicKey }));
  let r = await verify(['--log', file('export.ndjson'), '--head', file('forged.json')]);
  t.equal(r.code, 1);
  t.match(r.out, /^bad-signature: --head .*forged\.json: the signature does not verify/m);
  // Wholly another key's (its own key beside it): valid alone, but not the earlier head's key, nor the pinned one.
  await writeFile(file('other.json'), JSON.stringify({ head: other.signHead({ ...unsigned, keyId: other.keyId }), publicKey: { pem: other.publicKeyPem } }));
  r = await verify(['--log', file('export.ndjson'), '--head', file('other.json'), '--previous-head', file('head.json')]);
  t.equal(r.code, 1);
  t.match(r.out, /^another-key: --previous-head .*: signed by another key/m);
  r = await verify(['--log', file('export.ndjson'), '--head', file('other.json'), '--key-id', head.keyId]);
  t.match(r.out, /^another-key: --head .*other\.json: signed by another key .* than the one given/m);
});

t.test('a head inconsistent with an earlier one', async (t) => {
  // An earlier head, genuinely signed by the log's key, over a history that differs at event 3.
  const key = keyFromPem(keyPem, 'audit-key.pem');
  const size = 10;
  const tree = new CompactTree();
  lines.slice(0, size).forEach((l, i) => {
    const e = JSON.parse(l) as StoredEvent;
    tree.append(hashLeaf(leafBytes(i === 3 ? { ...e, data: { rewritten: true } } : e)));
  });
  const { signature: _s, ...base } = headDoc!.head;
  const earlier = key.signHead({ ...base, treeSize: size, rootHash: toHex(tree.root()), lastPosition: posOf(size - 1) });
  await writeFile(file('earlier.json'), JSON.stringify({ head: earlier, publicKey: headDoc!.publicKey }));
  const r = await verify(['--log', file('export.ndjson'), '--head', file('head.json'), '--previous-head', file('earlier.json')]);
  t.equal(r.code, 1, r.out);
  t.match(r.out, new RegExp(`^inconsistent: --previous-head .*earlier\\.json \\(${size} events\\) is not a prefix of --head`, 'm'));
  t.match(r.out, new RegExp(`^root-mismatch: --previous-head .*the first changed event is at or before ${posOf(size - 1)}`, 'm'));
  t.notMatch(r.out, /bad-signature|another-key/);
  const ok = await verify(['--log', file('export.ndjson'), '--head', file('head.json'), '--previous-head', file('head.json')]);
  t.equal(ok.code, 0, ok.out);
});

t.test('usage and unreadable files', async (t) => {
  t.equal((await verify(['--head', file('head.json')])).code, 2);
  t.equal((await verify(['--log', file('export.ndjson'), '--head', file('nope.json')])).code, 3);
  await writeFile(file('bare.json'), JSON.stringify(headDoc!.head));
  const bare = await verify(['--log', file('export.ndjson'), '--head', file('bare.json')]);
  t.equal(bare.code, 3);
  t.match(bare.err, /no public key/);
  const old = await withLog('old.ndjson', lines.map((l) => JSON.stringify({ ...JSON.parse(l), id: undefined })).join('\n'));
  const r = await verify(['--log', old, '--head', file('head.json')]);
  t.match(r.out, /^incomplete-line: line 1 .*no "id" \(an export made before lines carried the event id/m);
});
