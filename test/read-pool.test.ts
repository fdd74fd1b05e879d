/**
 * Reads off the event loop (projections/read-pool.ts; issues #12 and #17): with the read
 * models in their thread, read questions are answered by a read worker with its own
 * connection. Its answers equal the event loop's, byte for byte and ETag for ETag; a read
 * right after a write's 201 sees the write (the worker's snapshot ends when the read models
 * applied something). A full pool, a worker that dies, a worker's nice value and sessions'
 * bytes are in test/read-pool-workers.test.ts (one file took 285 s at a load average of ~20,
 * past tap's 240 s); the helpers both use are test/fixtures/read-pool.ts.
 */
import t from 'tap';
import { manualClock } from './fixtures/clock.js';
import { counting, poolReady, pooledAndHere, source, THREADS } from './fixtures/read-pool.js';
import { startTestApp } from './fixtures/app.js';
import { SPENT_MAX_BYTES } from '../projections/read-pool.js';

t.test('the worker answers as the event loop does, byte for byte, ETag for ETag', async (t) => {
  const clock = manualClock();
  const a = await startTestApp(t, { env: THREADS, clock: clock.now });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // Every question pinned to one moment (a default knownAt is the time of each request), then a
  // fact recorded after it: answers at that moment are immutable.
  const past = clock.iso();
  clock.advance();
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'later', name: 'Later' }, source } })).statusCode, 201);
  const seen = (await a.app.inject({ url: '/v1/organizations?limit=500' })).json() as { organizations: { id: string }[] };
  const org = seen.organizations[0]?.id as string;
  const urls = [
    '/v1/offices/csto-secretary-general/holder?validAt=2026-06-01',
    '/v1/offices/csto-secretary-general/holders',
    '/v1/offices?limit=2',
    '/v1/offices?organization=csto',
    '/v1/organizations',
    '/v1/organizations?parent=csto',
    '/v1/organizations/csto',
    '/v1/organizations/csto/chair?validAt=2026-06-01',
    '/v1/organizations/csto/chairs',
    '/v1/organizations/csto/members?validAt=2026',
    '/v1/people?limit=3',
    '/v1/people/kg-president',
    '/v1/sessions?organization=csto',
    '/v1/sessions?organization=csto&validAt=2025',
    '/v1/documents?organization=csto',
    '/v1/timeline?organization=csto&limit=5',
    // Lists whose items the worker serializes (rawItems), as JSON and as CSV.
    '/v1/offices/csto-secretary-general/holders?format=csv',
    '/v1/documents?organization=csto&format=csv',
    // Sessions: each one's JSON from the worker, its links added on the event loop.
    '/v1/sessions?organization=csto&format=csv',
    '/v1/sessions?organization=csto&limit=1',
    '/v1/organizations/csto/chairs?limit=1',
    '/v1/people?limit=1&q=nobody-by-this-name',
    `/v1/organizations/${org}`,
    '/v1/offices/no-such-office/holder',
    '/v1/sessions?organization=no-such-org',
  ];
  // The routes ask the pool the app plugin decorated the instance with; without it, the event loop answers.
  const body = (text: string): string => text.replace(/"requestId":"[^"]*"/, '');
  for (const url of urls.map((u) => `${u}${u.includes('?') ? '&' : '?'}knownAt=${past}`)) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, here.statusCode, `${url}: ${pooled.statusCode}`);
    t.equal(body(pooled.body), body(here.body), `${url}: the same answer`);
    t.equal(pooled.headers['etag'], here.headers['etag'], `${url}: the same ETag`);
    t.equal(pooled.headers['cache-control'], here.headers['cache-control'], `${url}: the same Cache-Control`);
    t.equal(pooled.headers['link'], here.headers['link'], `${url}: the same Link`);
    t.equal(pooled.headers['content-type'], here.headers['content-type'], `${url}: the same type`);
    t.equal(pooled.headers['content-length'], here.headers['content-length'], `${url}: the same length`);
  }
  t.ok(asked.raw >= 10, `lists asked for their items as bytes (${asked.raw})`);
  // The items came as the worker's bytes, not as a clone (the route sent them as they were).
  const raw = await pool.run('documents', ['csto', past, undefined, { after: null, limit: 50 }], { rawItems: 'page' });
  t.ok(raw?.rawItems && raw.rawItems.byteLength > 2, 'documents: items as JSON bytes');
  t.same(raw?.value?.items, [], 'and none in the clone');
  const plain = await pool.run('documents', ['csto', past, undefined, { after: null, limit: 50 }]);
  t.same(JSON.parse(Buffer.from(raw?.rawItems ?? []).toString('utf8')), plain?.value?.items, 'the bytes are the items');
  const holder = `/v1/offices/csto-secretary-general/holder?validAt=2026-06-01&knownAt=${past}`;
  const first = await a.app.inject({ url: holder });
  t.match(first.headers['cache-control'], /immutable/, 'a past answer read by the worker is immutable (its snapshot is the answer’s)');
  const again = await a.app.inject({ url: holder, headers: { 'if-none-match': String(first.headers['etag']) } });
  t.equal(again.statusCode, 304, 'and its ETag answers 304');
});

t.test('a page’s buffer goes back to the worker once its answer is written, and later pages written in it are the event loop’s bytes', async (t) => {
  const clock = manualClock();
  const a = await startTestApp(t, { env: THREADS, clock: clock.now });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // Pinned (a default knownAt is the time of each request).
  const at = `knownAt=${clock.iso()}`;
  const given: ArrayBuffer[] = [];
  const giveBack = pool.giveBack.bind(pool);
  pool.giveBack = (buffer) => (given.push(buffer), giveBack(buffer));
  // Pages long and short in turn: a buffer given back holds an older, longer page's bytes.
  const pages = ['/v1/people?limit=500', '/v1/people?limit=1', '/v1/organizations?limit=500', '/v1/people?limit=2', '/v1/offices?limit=500', '/v1/people?limit=1'].map((u) => `${u}&${at}`);
  for (const url of [...pages, ...pages]) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, 200, url);
    t.equal(pooled.rawPayload.equals(here.rawPayload), true, `${url}: the same bytes`);
    t.equal(pooled.headers['etag'], here.headers['etag'], `${url}: the same ETag`);
  }
  t.equal(given.length, 2 * pages.length, 'each page’s buffer was given back once its answer was written');
  // 304: nothing written, the buffer given back at once.
  const first = await a.app.inject({ url: `/v1/people?limit=3&${at}` });
  const again = await a.app.inject({ url: `/v1/people?limit=3&${at}`, headers: { 'if-none-match': String(first.headers['etag']) } });
  t.equal(again.statusCode, 304);
  t.equal(given.length, 2 * pages.length + 2, 'and a 304’s too');
  t.ok(given.slice(0, -1).every((b) => b.byteLength === 0), 'each went to the worker with a later question (transferred: detached here)');
  // A buffer bigger than SPENT_MAX_BYTES (a page of hundreds of sessions) is left to the GC, not
  // kept to carry small pages as that much external memory.
  const big = new ArrayBuffer(SPENT_MAX_BYTES + 1);
  const fits = new ArrayBuffer(SPENT_MAX_BYTES);
  pool.giveBack(big);
  pool.giveBack(fits);
  t.equal((await a.app.inject({ url: `/v1/people?limit=4&${at}` })).statusCode, 200);
  t.equal(big.byteLength, SPENT_MAX_BYTES + 1, 'the big one stayed here (not transferred)');
  t.equal(fits.byteLength, 0, 'one of SPENT_MAX_BYTES went to the worker');
});

t.test('a read after a write’s 201 sees the write, though the worker had a snapshot open', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  for (let i = 0; i < 5; i++) {
    const key = `p-new-${i}`;
    // Opens the worker's snapshot (held up to SNAPSHOT_MS when nothing tells it otherwise).
    const before = (await a.app.inject({ url: `/v1/people?q=Newcomer${i}x` })).json() as { people: unknown[] };
    t.same(before.people, [], `${key}: not there yet`);
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key, name: `Newcomer${i}x` }, source } });
    t.equal(res.statusCode, 201, res.body);
    const after = (await a.app.inject({ url: `/v1/people?q=Newcomer${i}x` })).json() as { people: { key: string }[] };
    t.same(after.people.map((p) => p.key), [key], `${key}: read at once after the 201`);
    t.equal((await a.app.inject({ url: `/v1/people/${key}` })).statusCode, 200);
  }
  t.equal(asked.count, 15, 'every read went to the worker');
});

t.test('items beyond ASCII come from the worker as the event loop writes them (the worker’s buffer, room around it)', async (t) => {
  const a = await startTestApp(t, { env: THREADS });
  const pool = await poolReady(t, a);
  const asked = counting(pool);
  // More bytes than characters: the worker's first guess of the buffer's size is too small.
  let recordedAt = '';
  for (const [key, name] of [['p-wide', `Zoë Łukasiewicz-Ærø 🌍 ${'é'.repeat(400)}`], ['p-ascii', 'Plain Name']]) {
    const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key, name }, source } });
    t.equal(res.statusCode, 201, res.body);
    recordedAt = (res.json() as { recordedAt: string }).recordedAt;
  }
  // Pinned to the moment of the last write (a default knownAt is the time of each request).
  for (const url of ['/v1/people?limit=500', '/v1/people?q=Zo', '/v1/people?limit=2'].map((u) => `${u}&knownAt=${recordedAt}`)) {
    const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
    t.equal(pooled.statusCode, 200, url);
    t.equal(pooled.rawPayload.equals(here.rawPayload), true, `${url}: the same bytes`);
    t.equal(pooled.headers['content-length'], here.headers['content-length'], `${url}: the same length`);
    t.equal(pooled.headers['link'], here.headers['link'], `${url}: the same Link`);
  }
  t.match((await a.app.inject({ url: `/v1/people?q=Zo&knownAt=${recordedAt}` })).json(), { people: [{ key: 'p-wide', name: `Zoë Łukasiewicz-Ærø 🌍 ${'é'.repeat(400)}` }] });
});
