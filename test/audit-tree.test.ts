/**
 * /v1/audit/tree-head, tree-heads, proof/inclusion, proof/consistency and verify, on the real
 * app over a real SQLite log holding 13 events, its audit tree signing a head every 5.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { eventLeafHash } from '../src/audit/leaf.js';
import { fromHex, verifyConsistency, verifyInclusion } from '../src/audit/merkle.js';
import { verifyHeadWith, type SignedTreeHead } from '../src/audit/signing.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { startTestApp } from './fixtures/app.js';

t.test('audit tree routes', async (t) => {
  const logDir = await mkdtemp(join(tmpdir(), 'annals-audit-http-'));
  const store = openSqliteStore(join(logDir, 'events.db'));
  let last = '';
  for (let i = 0; i < 13; i++) {
    const r = await store.append(`s-${i % 2}`, [{ id: randomUUID(), type: 'ThingHappened', data: { i }, metadata: {} }], 'any');
    last = r.events[0]!.position;
  }
  // Teardowns run last added first: the app and its runtime close before the store they read.
  t.teardown(async () => {
    await store.close();
    await rm(logDir, { recursive: true, force: true });
  });
  const a = await startTestApp(t, { store, auditHeads: { events: 5, intervalMs: 0 } });
  const { app } = a;
  const audit = a.runtime.audit;
  const as = (role: 'auditor' | 'admin' | 'recorder') => a.auth(role);
  await audit.waitFor(last, 2000);

  t.test('auditor or admin only', async (t) => {
    const none = await app.inject({ method: 'GET', url: '/v1/audit/tree-head' });
    t.equal(none.statusCode, 401);
    t.equal(none.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal((await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: as('recorder') })).statusCode, 403);
    t.equal((await app.inject({ method: 'POST', url: '/v1/audit/verify', headers: as('recorder') })).statusCode, 403);
    t.equal((await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: as('admin') })).statusCode, 200);
  });

  t.test('tree head, signed on demand, checkable with the published key', async (t) => {
    let res = await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: as('auditor') });
    t.equal(res.statusCode, 200);
    let body = res.json();
    t.equal(body.head.treeSize, 10, 'heads every 5 events');
    t.equal(body.tree.treeSize, 13);
    t.equal(body.leafFormat, 'annals-event-v1');
    t.match(body.publicKey.pem, /BEGIN PUBLIC KEY/);
    res = await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: as('auditor') });
    t.equal(res.statusCode, 201);
    const head = res.json().head as SignedTreeHead;
    t.equal(head.treeSize, 13);
    t.equal(head.lastPosition, last);
    t.ok(verifyHeadWith(body.publicKey.pem, head));
    body = (await app.inject({ method: 'GET', url: '/v1/audit/tree-head', headers: as('auditor') })).json();
    t.same(body.head, head);
  });

  t.test('history', async (t) => {
    let res = await app.inject({ method: 'GET', url: '/v1/audit/tree-heads', headers: as('auditor') });
    t.same(res.json().heads.map((h: SignedTreeHead) => h.treeSize), [5, 10, 13]);
    res = await app.inject({ method: 'GET', url: '/v1/audit/tree-heads?from=6&to=12', headers: as('auditor') });
    t.same(res.json().heads.map((h: SignedTreeHead) => h.treeSize), [10]);
    res = await app.inject({ method: 'GET', url: '/v1/audit/tree-heads?from=9&to=2', headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'from');
    res = await app.inject({ method: 'GET', url: '/v1/audit/tree-heads?from=-1', headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.match(res.json().detail, /from/);
  });

  t.test('inclusion proofs verify against the signed head', async (t) => {
    const head = (await audit.head()) as SignedTreeHead;
    const events = await store.readAll();
    for (const [i, e] of events.entries()) {
      const res = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${e.position}`, headers: as('auditor') });
      t.equal(res.statusCode, 200);
      const p = res.json();
      t.equal(p.treeSize, head.treeSize);
      t.same(p.head, head);
      t.ok(verifyInclusion(i, p.treeSize, eventLeafHash(e), p.auditPath.map(fromHex), fromHex(head.rootHash)), `position ${e.position}`);
    }
    const older = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${events[2]!.position}&treeSize=5`, headers: as('auditor') });
    t.equal(older.json().head.treeSize, 5);
    let res = await app.inject({ method: 'GET', url: '/v1/audit/proof/inclusion?position=99999999999999999999', headers: as('auditor') });
    t.equal(res.statusCode, 404);
    res = await app.inject({ method: 'GET', url: '/v1/audit/proof/inclusion', headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'position');
    res = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${last}&treeSize=abc`, headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'treeSize');
    res = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${last}&treeSize=99`, headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'treeSize');
    res = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${last}&treeSize=5`, headers: as('auditor') });
    t.equal(res.statusCode, 400, 'the event is not in the tree of 5');
    res = await app.inject({ method: 'GET', url: `/v1/audit/proof/inclusion?position=${last}&bogus=1`, headers: as('auditor') });
    t.equal(res.statusCode, 200, 'unknown query keys ignored, as on every read');
  });

  t.test('consistency proofs between every pair of heads', async (t) => {
    const heads = await audit.heads();
    for (const a of heads) {
      for (const b of heads.filter((h) => h.treeSize >= a.treeSize)) {
        const res = await app.inject({ method: 'GET', url: `/v1/audit/proof/consistency?from=${a.treeSize}&to=${b.treeSize}`, headers: as('auditor') });
        const c = res.json();
        t.equal(c.fromRootHash, a.rootHash);
        t.ok(verifyConsistency(a.treeSize, b.treeSize, c.proof.map(fromHex), fromHex(a.rootHash), fromHex(b.rootHash)), `${a.treeSize} -> ${b.treeSize}`);
      }
    }
    const dflt = (await app.inject({ method: 'GET', url: '/v1/audit/proof/consistency?from=5', headers: as('auditor') })).json();
    t.equal(dflt.toSize, 13, 'to defaults to the latest signed head');
    let res = await app.inject({ method: 'GET', url: '/v1/audit/proof/consistency?from=8&to=6', headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'from');
    res = await app.inject({ method: 'GET', url: '/v1/audit/proof/consistency?from=1&to=500', headers: as('auditor') });
    t.equal(res.statusCode, 400);
    t.equal(res.json().errors[0].path, 'to');
  });

  t.test('verify', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/v1/audit/verify', headers: as('admin') });
    t.equal(res.statusCode, 200);
    const report = res.json();
    t.equal(report.ok, true);
    t.equal(report.eventsRead, 13);
    t.equal(report.headsChecked, 3);
  });

  t.test('documented in OpenAPI', async (t) => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    t.ok(doc.paths['/v1/audit/proof/inclusion']?.get);
    t.ok(doc.paths['/v1/audit/verify']?.post);
  });
});
