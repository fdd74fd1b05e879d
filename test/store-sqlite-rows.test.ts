/**
 * `readAllRows` (what the rebuild's decoding thread reads): the rows `readAll` reads, unparsed,
 * each of which rowToEvent makes into the event `readAll` returns; the same `after` and `limit`.
 */
import { join } from 'node:path';
import t from 'tap';
import { openSqliteStore } from '../src/store/sqlite.js';
import { rowToEvent } from '../src/store/sqlite-rows.js';

const ev = (n: number) => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'Tested', data: { n, text: `é ${n}`, a: [n, null] }, metadata: { by: 'test', n } });

t.test('the rows readAll reads, unparsed, with its after and limit', async (t) => {
  const store = openSqliteStore(join(t.testdir(), 'events.db'), { writer: 'inline' });
  t.teardown(() => store.close());
  t.same(store.readAllRows(), [], 'an empty log: no rows');
  for (let n = 1; n <= 7; n++) await store.append(`s-${n % 3}`, [ev(n)], 'any');
  const all = await store.readAll();
  const rows = store.readAllRows();
  t.equal(rows.length, 7);
  t.same(rows.map(rowToEvent), all, 'rowToEvent makes each row the event readAll returns');
  t.same(rows[0]?.slice(0, 6), [1, all[0]?.id, 's-1', 0, 'Tested', JSON.stringify(ev(1).data)], 'position as a number, the payloads as stored');
  const after = all[2]?.position as string;
  t.same(store.readAllRows({ after, limit: 3 }).map(rowToEvent), await store.readAll({ after, limit: 3 }), 'after and limit as readAll');
  t.same(store.readAllRows({ after: all[6]?.position as string }), [], 'nothing after the head');
  t.same(store.readAllRows({ limit: 0 }), [], 'limit 0');
  t.throws(() => store.readAllRows({ limit: -1 }), TypeError, 'a negative limit refused as readAll refuses it');
  await store.close();
  t.throws(() => store.readAllRows(), /closed/, 'a closed store refuses');
});
