/**
 * The read workers reading readmodels.db through a memory map (ANNALS_READ_MMAP_MIB,
 * read-worker.ts `open`): the connection reports the map it was given (its PRAGMA mmap_size read
 * back), answers are the event loop's, byte for byte, and a rebuild's swap (a new file renamed
 * over the mapped one) leaves the worker reading the new file. Off unless set.
 */
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { counting, poolReady, pooledAndHere, source, THREADS } from './fixtures/read-pool.js';

const MIB = 1_048_576;
const urls = [
  '/v1/offices/csto-secretary-general/holder?validAt=2025-11-27',
  '/v1/offices/csto-secretary-general/holders',
  '/v1/organizations/csto/chair?validAt=2026',
  '/v1/sessions?organization=csto',
  '/v1/documents?organization=csto',
  '/v1/timeline?organization=csto&limit=5',
  '/v1/people?limit=3',
];

t.test('ANNALS_READ_MMAP_MIB=0 (the default: test/config): the worker’s connection maps nothing', async (t) => {
  const a = await startTestApp(t, { env: { ...THREADS, ANNALS_READ_MMAP_MIB: '0' } });
  const pool = await poolReady(t, a);
  t.same(pool.mmapBytes, [0], 'PRAGMA mmap_size 0 on the worker’s connection');
});

t.test('ANNALS_READ_MMAP_MIB: the worker’s connection maps that much, answers as the event loop does, and reads the new file after a rebuild’s swap', async (t) => {
  const a = await startTestApp(t, { env: { ...THREADS, ANNALS_READ_MMAP_MIB: '64' } });
  const pool = await poolReady(t, a);
  t.same(pool.mmapBytes, [64 * MIB], 'PRAGMA mmap_size read back on the worker’s connection');
  const asked = counting(pool);
  const body = (text: string): string => text.replace(/"requestId":"[^"]*"/, '');
  // At a knownAt of its own (an answer without one says the moment it was made).
  const same = async (when: string): Promise<void> => {
    const past = new Date(Date.now() - 1).toISOString();
    for (const url of urls.map((u) => `${u}${u.includes('?') ? '&' : '?'}knownAt=${past}`)) {
      const { pooled, here } = await pooledAndHere(t, a, pool, asked, url);
      t.equal(pooled.statusCode, here.statusCode, `${when}, ${url}: ${pooled.statusCode}`);
      t.equal(body(pooled.body), body(here.body), `${when}, ${url}: the same answer`);
      t.equal(pooled.headers['etag'], here.headers['etag'], `${when}, ${url}: the same ETag`);
    }
  };
  await same('mapped');

  // A rebuild renames a new file over the one the worker maps: the worker lets go of it and
  // opens the new one (a write after the swap is read from it, by the worker).
  const reading = (async () => {
    let failures = 0;
    for (let i = 0; i < 20; i++) if ((await a.app.inject({ url: '/v1/offices/csto-secretary-general/holder?validAt=2025-11-27' })).statusCode !== 200) failures++;
    return failures;
  })();
  const rebuilt = await a.app.inject({ method: 'POST', url: '/v1/admin/rebuild', headers: a.auth('admin') });
  t.equal(rebuilt.statusCode, 200, rebuilt.body);
  t.equal(await reading, 0, 'reads during the rebuild all answered');
  const res = await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: { type: 'PersonRegistered', data: { key: 'after-swap', name: 'After the swap' }, source } });
  t.equal(res.statusCode, 201, res.body);
  const before = asked.count;
  t.equal((await a.app.inject({ url: '/v1/people/after-swap' })).statusCode, 200, 'a fact recorded after the swap is read');
  t.equal(asked.count, before + 1, 'by the worker');
  await same('after the swap');
  t.same(pool.mmapBytes, [64 * MIB], 'the same worker, its map as set');
});
