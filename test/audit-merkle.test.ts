/**
 * The Merkle tree against the Certificate Transparency test vectors (transparency-dev/merkle,
 * proof/verify_test.go and rfc6962/rfc6962_test.go) and, exhaustively for sizes 1..64,
 * against a naive transcription of RFC 9162 §2.1 (MTH, PATH, PROOF).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import {
  CompactTree,
  EMPTY_ROOT,
  consistencyProof,
  hashChildren,
  hashLeaf,
  inclusionProof,
  rootAt,
  rootFromInclusionProof,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type NodeSource,
} from '../src/audit/merkle.js';
import { canonicalJson, eventLeafHash, leafBytes } from '../src/audit/leaf.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// { leaf: 1-based as in the Go source, size, proof }
const INCLUSION = [
  { leaf: 1, size: 1, proof: [] },
  { leaf: 1, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { leaf: 6, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { leaf: 2, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const CONSISTENCY = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

/** All perfect subtrees of a leaf list, built through CompactTree (so this tests it too). */
function memorySource(leafHashes: readonly Buffer[]): NodeSource & { tree: CompactTree } {
  const nodes = new Map<string, Buffer>();
  const tree = new CompactTree();
  for (const h of leafHashes) for (const n of tree.append(h)) nodes.set(`${n.level}/${n.index}`, n.hash);
  return {
    tree,
    node(level, index) {
      const h = nodes.get(`${level}/${index}`);
      if (!h) throw new Error(`no node ${level}/${index}`);
      return h;
    },
  };
}

// Naive RFC 9162 §2.1, over leaf *data*, straight from the text.
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return hashLeaf(d[0] as Buffer);
  const s = k(d.length);
  return hashChildren(mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}
function subproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  const s = k(n);
  return m <= s ? [...subproof(m, d.slice(0, s), b), mth(d.slice(s))] : [...subproof(m - s, d.slice(s), false), mth(d.slice(0, s))];
}

t.test('RFC 6962 hasher vectors', async (t) => {
  t.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(toHex(hashLeaf(Buffer.alloc(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  t.equal(toHex(hashLeaf(Buffer.from('L123456'))), '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56');
  t.equal(toHex(hashChildren(Buffer.from('N123'), Buffer.from('N456'))), 'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb');
});

t.test('roots of the 8 standard leaves, incrementally and from stored nodes', async (t) => {
  const tree = new CompactTree();
  const src = memorySource(LEAVES.map((l) => hashLeaf(l)));
  LEAVES.forEach((l, i) => {
    tree.append(hashLeaf(l));
    t.equal(toHex(tree.root()), ROOTS[i], `incremental root of ${i + 1}`);
    t.equal(toHex(rootAt(src, i + 1)), ROOTS[i], `stored-node root of ${i + 1}`);
    t.equal(toHex(mth(LEAVES.slice(0, i + 1))), ROOTS[i], `naive root of ${i + 1}`);
  });
  t.equal(toHex(rootAt(src, 0)), toHex(EMPTY_ROOT));
});

t.test('inclusion proof vectors: generated equal, verified, corruptions refused', async (t) => {
  const src = memorySource(LEAVES.map((l) => hashLeaf(l)));
  for (const v of INCLUSION) {
    const index = v.leaf - 1;
    const expected = v.proof.map(hex);
    const got = inclusionProof(src, index, v.size);
    t.same(got.map(toHex), v.proof, `proof of leaf ${index} in ${v.size}`);
    const root = hex(ROOTS[v.size - 1] as string);
    const lh = hashLeaf(LEAVES[index] as Buffer);
    t.ok(verifyInclusion(index, v.size, lh, expected, root));
    t.notOk(verifyInclusion(index + 1, v.size, lh, expected, root), 'index + 1');
    t.notOk(verifyInclusion(index, v.size * 2, lh, expected, root), 'size * 2');
    t.notOk(verifyInclusion(index, v.size, hashLeaf(Buffer.from('WrongLeaf')), expected, root), 'wrong leaf');
    t.notOk(verifyInclusion(index, v.size, lh, expected, EMPTY_ROOT), 'empty root');
    t.notOk(verifyInclusion(index, v.size, lh, [...expected, root], root), 'trailing root');
    t.notOk(verifyInclusion(index, v.size, lh, [root, ...expected], root), 'preceding root');
    t.notOk(verifyInclusion(index, v.size, lh, [...expected, Buffer.alloc(0)], root), 'trailing garbage');
    if (expected.length > 0) t.notOk(verifyInclusion(index, v.size, lh, expected.slice(0, -1), root), 'removed component');
    expected.forEach((_, i) => {
      const bad = expected.map((h) => Buffer.from(h));
      (bad[i] as Buffer)[0]! ^= 8;
      t.notOk(verifyInclusion(index, v.size, lh, bad, root), `modified proof[${i}]`);
    });
  }
  t.notOk(verifyInclusion(0, 0, EMPTY_ROOT, [], EMPTY_ROOT), 'size 0 has no leaves');
  t.throws(() => inclusionProof(src, 8, 8));
});

t.test('consistency proof vectors: generated equal, verified, corruptions refused', async (t) => {
  const src = memorySource(LEAVES.map((l) => hashLeaf(l)));
  for (const v of CONSISTENCY) {
    const expected = v.proof.map(hex);
    t.same(consistencyProof(src, v.size1, v.size2).map(toHex), v.proof, `proof ${v.size1} -> ${v.size2}`);
    const r1 = hex(ROOTS[v.size1 - 1] as string);
    const r2 = hex(ROOTS[v.size2 - 1] as string);
    t.ok(verifyConsistency(v.size1, v.size2, expected, r1, r2));
    if (expected.length === 0) continue;
    t.notOk(verifyConsistency(v.size1 - 1, v.size2, expected, r1, r2), 'size1 - 1');
    t.notOk(verifyConsistency(v.size1 + 1, v.size2, expected, r1, r2), 'size1 + 1');
    t.notOk(verifyConsistency(v.size1, v.size2 * 2, expected, r1, r2), 'size2 * 2');
    t.notOk(verifyConsistency(v.size1, v.size2, expected, r2, r1), 'swapped roots');
    t.notOk(verifyConsistency(v.size1, v.size2, [], r1, r2), 'empty proof');
    t.notOk(verifyConsistency(v.size1, v.size2, [...expected, r1], r1, r2), 'trailing root1');
    t.notOk(verifyConsistency(v.size1, v.size2, [r2, ...expected], r1, r2), 'preceding root2');
    t.notOk(verifyConsistency(v.size1, v.size2, expected.slice(0, -1), r1, r2), 'truncated');
    expected.forEach((_, i) => {
      const bad = expected.map((h) => Buffer.from(h));
      (bad[i] as Buffer)[0]! ^= 16;
      t.notOk(verifyConsistency(v.size1, v.size2, bad, r1, r2), `modified proof[${i}]`);
    });
  }
  const r = hex(ROOTS[0] as string);
  t.ok(verifyConsistency(0, 5, [], r, EMPTY_ROOT), 'the empty tree is a prefix of anything');
  t.notOk(verifyConsistency(2, 1, [], r, r), 'no time travel');
  t.notOk(verifyConsistency(1, 1, [], r, EMPTY_ROOT), 'same size, other root');
  t.notOk(verifyConsistency(1, 1, [r], r, r), 'same size, non-empty proof');
});

t.test('exhaustive 1..64 against the naive RFC transcription', async (t) => {
  const N = 64;
  const data = Array.from({ length: N }, (_, i) => Buffer.from(`leaf-${i}`));
  const hashes = data.map((d) => hashLeaf(d));
  const src = memorySource(hashes);
  let checks = 0;
  let bad = 0;
  for (let n = 1; n <= N; n++) {
    const root = mth(data.slice(0, n));
    if (toHex(rootAt(src, n)) !== toHex(root)) bad++;
    const inc = new CompactTree();
    for (const h of hashes.slice(0, n)) inc.append(h);
    if (toHex(inc.root()) !== toHex(root)) bad++;
    const restored = CompactTree.restore(n, CompactTree.decomposition(n).map(({ level, index }) => src.node(level, index)));
    if (toHex(restored.root()) !== toHex(root)) bad++;
    for (let m = 0; m < n; m++) {
      const p = inclusionProof(src, m, n);
      if (p.map(toHex).join() !== path(m, data.slice(0, n)).map(toHex).join()) bad++;
      if (!verifyInclusion(m, n, hashes[m] as Buffer, p, root)) bad++;
      if (toHex(rootFromInclusionProof(m, n, hashes[m] as Buffer, p) ?? Buffer.alloc(0)) !== toHex(root)) bad++;
      // The proof of one leaf does not prove its neighbour.
      if (n > 1 && verifyInclusion(m, n, hashes[(m + 1) % n] as Buffer, p, root)) bad++;
      checks += 4;
    }
    for (let m = 0; m <= n; m++) {
      const p = consistencyProof(src, m, n);
      const expected = m === 0 ? [] : subproof(m, data.slice(0, n), true);
      if (p.map(toHex).join() !== expected.map(toHex).join()) bad++;
      const r1 = m === 0 ? EMPTY_ROOT : mth(data.slice(0, m));
      if (!verifyConsistency(m, n, p, r1, root)) bad++;
      if (m > 0 && m < n && verifyConsistency(m, n, p, mth(data.slice(1, m + 1)), root)) bad++;
      checks += 3;
    }
  }
  t.equal(bad, 0, `${checks} exhaustive checks, none failed`);
});

t.test('decomposition and restore', async (t) => {
  t.same(CompactTree.decomposition(0), []);
  t.same(CompactTree.decomposition(13), [{ level: 3, index: 0 }, { level: 2, index: 2 }, { level: 0, index: 12 }]);
  t.throws(() => CompactTree.restore(3, []));
});

t.test('leaf serialization', async (t) => {
  t.equal(canonicalJson({ b: [1, 'x', null, { d: true, c: 1.5 }], a: 'é"\n' }), '{"a":"é\\"\\n","b":[1,"x",null,{"c":1.5,"d":true}]}');
  t.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}');
  t.throws(() => canonicalJson(Number.NaN));
  const e = {
    position: '00000000000000000001',
    stream: 'organization-1',
    revision: 0,
    id: '0190d6b0-0000-7000-8000-000000000001',
    type: 'OrganizationRegistered',
    data: { name: 'CSTO', key: 'csto' },
    metadata: { factId: '01J0', source: { title: 'x' } },
    recordedAt: '2025-11-27T10:00:00.000Z',
  };
  const expected =
    '{"data":{"key":"csto","name":"CSTO"},"id":"0190d6b0-0000-7000-8000-000000000001","metadata":{"factId":"01J0","source":{"title":"x"}},' +
    '"position":"00000000000000000001","recordedAt":"2025-11-27T10:00:00.000Z","revision":0,"stream":"organization-1","type":"OrganizationRegistered"}';
  t.equal(leafBytes(e).toString('utf8'), expected);
  t.equal(toHex(eventLeafHash(e)), createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(expected)])).digest('hex'));
});
