/**
 * The service as `npm start` runs it: the embedded store committing on its writer thread and
 * the audit tree fed by its follower thread (the other tests run both inline, to start
 * faster). Facts recorded over HTTP are read back at once, proven in the audit tree at once
 * (read-your-writes through the follower), signed by the follower, verified, and everything
 * survives a restart on the same data dir.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import t from 'tap';
import { eventLeafHash } from '../src/audit/leaf.js';
import { fromHex, verifyInclusion } from '../src/audit/merkle.js';
import { verifyHeadWith, type SignedTreeHead } from '../src/audit/signing.js';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { until } from './fixtures/when.js';

// A write made while the read-model thread restarts waits for the new thread, so the wait is
// long: a start costs ~3 s of CPU under tap's TypeScript loader (bench/thread-start.ts), which
// took over the 15 s this used to be at load 23 and more on 2 cores. The bound only makes a
// hang fail with a message; whether the 201 came after the apply is asked of the recorder's
// log ('answering anyway') and of a read.
const THREADS = { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'thread', ANNALS_READ_WAIT_MS: '120000' };
const source = { title: 'Test', publisher: 'Annals' };

t.test('writer thread and audit follower thread, end to end', async (t) => {
  const warned: string[] = [];
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (c, _e, done) => (warned.push(String((JSON.parse(String(c)) as { msg: string }).msg)), done()) }) });
  const first = await startTestApp(t, { env: THREADS, log });
  const { app, runtime } = first;
  t.equal(runtime.config.sqliteWriter, 'thread');
  t.equal(runtime.config.auditFollower, 'thread');
  t.equal((runtime.store as unknown as { writer: string }).writer, 'thread');

  const org = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'OrganizationRegistered', data: { key: 'org', name: 'Org' }, source } });
  t.equal(org.statusCode, 201, org.body);
  const people = await Promise.all(
    Array.from({ length: 12 }, (_, i) => app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: `p${i}`, name: `Person ${i}` }, source } })),
  );
  t.same(people.map((r) => r.statusCode), Array(12).fill(201), 'concurrent facts share the writer thread');
  t.same([...runningWorkers().values()].sort(), ['audit follower', 'read models', 'reads', 'store writer'], 'four threads, each labelled (bench:record prints their utilisation): the read worker answers reads off the event loop');
  const last = people.map((r) => r.json() as { position: string }).sort((a, b) => (a.position < b.position ? -1 : 1)).at(-1) as { position: string };

  // Read-your-writes: the answer came after the read models applied the fact.
  const person = await app.inject({ url: '/v1/people/p11' });
  t.equal(person.statusCode, 200);

  // The follower thread has, or gets within the proof's wait, the leaf just recorded.
  const proofRes = await app.inject({ url: `/v1/audit/proof/inclusion?position=${last.position}&treeSize=${Number(last.position)}`, headers: first.auth('auditor') });
  t.equal(proofRes.statusCode, 200, proofRes.body);
  const proof = proofRes.json() as { leafIndex: number; treeSize: number; auditPath: string[]; rootHash: string };
  const [event] = await runtime.store.readAll({ after: String(Number(last.position) - 1).padStart(20, '0'), limit: 1 });
  t.ok(event && verifyInclusion(proof.leafIndex, proof.treeSize, eventLeafHash(event), proof.auditPath.map(fromHex), fromHex(proof.rootHash)), 'the inclusion proof verifies');

  // Signing goes through the follower thread.
  const signed = await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: first.auth('auditor') });
  t.equal(signed.statusCode, 201, signed.body);
  const head = (signed.json() as { head: SignedTreeHead }).head;
  const key = (await app.inject({ url: '/v1/audit/tree-head', headers: first.auth('auditor') })).json() as { publicKey: { pem: string } };
  t.ok(verifyHeadWith(key.publicKey.pem, head), 'the head is signed with the key the server shows');
  t.equal(head.treeSize, Number((await runtime.store.head()) ?? 0), 'the head covers every event');

  const verify = await app.inject({ method: 'POST', url: '/v1/audit/verify', headers: first.auth('auditor') });
  t.equal(verify.statusCode, 200, verify.body);
  t.equal((verify.json() as { ok: boolean }).ok, true);

  // The read-model thread: status, readiness, a minPosition read, a rebuild swapped in while reads go on.
  const status = await app.inject({ url: '/v1/admin/projections', headers: first.auth('admin') });
  t.equal(status.statusCode, 200, status.body);
  t.equal((status.json() as { checkpoint: string }).checkpoint, (await runtime.store.head()) as string, 'the thread applied everything');
  // Ready once the read worker is too (it may still be starting under tap's loader: /readyz then says so).
  await until('/readyz 200', async () => (await app.inject({ url: '/readyz' })).statusCode === 200, 120_000);
  t.equal((await app.inject({ url: `/v1/people/p5?minPosition=${last.position}` })).statusCode, 200);
  const reading = (async () => {
    let failures = 0;
    for (let i = 0; i < 40; i++) if ((await app.inject({ url: '/v1/people/p7' })).statusCode !== 200) failures++;
    return failures;
  })();
  const rebuilt = await app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: first.auth('admin') });
  t.equal(rebuilt.statusCode, 200, rebuilt.body);
  t.equal(await reading, 0, 'reads during the rebuild all answered');
  t.equal((await app.inject({ url: '/v1/people/p7' })).statusCode, 200, 'reads after the swap come from the fresh file');
  const afterRebuild = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'p-rebuilt', name: 'After the rebuild' }, source } });
  t.equal(afterRebuild.statusCode, 201, 'a write after the rebuild is applied by the new runner');
  t.equal((await app.inject({ url: '/v1/people/p-rebuilt' })).statusCode, 200);

  // The read-model thread dies (as a crash would): another starts from the checkpoint, and a
  // write made meanwhile is answered once the new thread applied it.
  const models = runtime.readModels as unknown as { poke(): void };
  t.type(models.poke, 'function', 'the read models run in their thread');
  const killed = await killReadModelThread(runtime.readModels);
  t.ok(killed, 'the thread was terminated');
  await t.rejects(runtime.readModels.status(), /restarting/, 'asking a dead thread fails at once rather than hanging');
  const during = await app.inject({ url: '/v1/admin/projections', headers: first.auth('admin') });
  t.equal(during.statusCode, 503, 'the status endpoint says to retry while the thread restarts');
  t.equal(during.headers['retry-after'], '1');
  const whileDown = await app.inject({ method: 'POST', url: '/v1/facts', headers: first.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'p-restart', name: 'Recorded while the thread restarted' }, source } });
  t.equal(whileDown.statusCode, 201, whileDown.body);
  t.same(warned.filter((m) => m.includes('answering anyway')), [], 'the 201 waited for the apply (it did not give up waiting)');
  t.equal((await app.inject({ url: '/v1/people/p-restart' })).statusCode, 200, 'applied by the restarted thread before the 201');

  // A restart on the same data dir: everything is there, and the threads start again.
  const exited = Promise.all([...runningWorkers().keys()].map((w) => once(w, 'exit')));
  await app.close();
  await runtime.close();
  await exited;
  t.equal(runningWorkers().size, 0, 'closing the runtime ends its threads');
  const again = await startTestApp(t, { env: THREADS, dataDir: first.dataDir });
  t.equal((await again.app.inject({ url: '/v1/people/p3' })).statusCode, 200);
  const more = await again.app.inject({ method: 'POST', url: '/v1/facts', headers: again.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'p-after', name: 'After' }, source } });
  t.equal(more.statusCode, 201, more.body);
  const after = (more.json() as { position: string }).position;
  const p2 = await again.app.inject({ url: `/v1/audit/proof/inclusion?position=${after}&treeSize=${Number(after)}`, headers: again.auth('auditor') });
  t.equal(p2.statusCode, 200, p2.body);
});

t.test('the threads on EventStoreDB (the protocol double): each follows with its own client', async (t) => {
  const { startEsdbDouble } = await import('./fixtures/esdb-double.js');
  const double = await startEsdbDouble();
  t.teardown(() => double.stop());
  const { app, runtime, auth } = await startTestApp(t, { env: { ...THREADS, ANNALS_EVENT_STORE: double.connectionString } });
  t.match(runtime.store.name, /^esdb:/);
  const res = await Promise.all(
    Array.from({ length: 5 }, (_, i) => app.inject({ method: 'POST', url: '/v1/facts', headers: auth('recorder'), payload: { type: 'PersonRegistered', data: { key: `e${i}`, name: `Esdb ${i}` }, source } })),
  );
  t.same(res.map((r) => r.statusCode), Array(5).fill(201));
  t.equal((await app.inject({ url: '/v1/people/e4' })).statusCode, 200, 'applied by the read-model thread before the 201');
  const position = (res[4]?.json() as { position: string }).position;
  const proof = await app.inject({ url: `/v1/audit/proof/inclusion?position=${position}&treeSize=1`, headers: auth('auditor') });
  t.not(proof.statusCode, 404, `the follower thread audited ${position}: ${proof.body}`);
  const signed = await app.inject({ method: 'POST', url: '/v1/audit/tree-head', headers: auth('auditor') });
  t.equal(signed.statusCode, 201, signed.body);
  const again = await app.inject({ url: `/v1/audit/proof/inclusion?position=${position}`, headers: auth('auditor') });
  t.equal(again.statusCode, 200, again.body);
  const p = again.json() as { leafIndex: number; treeSize: number; auditPath: string[]; rootHash: string };
  const [event] = (await runtime.store.readAll()).filter((e) => e.position === position);
  t.ok(event && verifyInclusion(p.leafIndex, p.treeSize, eventLeafHash(event), p.auditPath.map(fromHex), fromHex(p.rootHash)), 'the proof verifies against the head the follower signed');
});

/** Terminates the read-model thread behind a ReadModels of projections/threaded.ts. */
async function killReadModelThread(models: unknown): Promise<boolean> {
  const worker = (models as { worker?: () => { terminate(): Promise<number> } }).worker?.();
  if (!worker) return false;
  await worker.terminate();
  return true;
}
