/**
 * A stop asked while a rebuild applies its first page (read and applied on the rebuild's own
 * thread, before a decoder thread takes over: projections/index.ts buildFresh's `drain`) is
 * heard within one batch of 1,000 events, not after the whole page (5,000 events, here the
 * log's 3,000). In the service
 * that page is applied on the read-model thread, and a stop is a message to that thread: it
 * was heard 1.6–2.0 s after SIGTERM at load 26, and the exit waited for it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { RebuildStoppedError, buildFresh } from '../projections/index.js';
import type { LogEvent } from '../projections/db.js';
import { dumpTables, storeWithHistory } from './fixtures/history.js';

const silent = pino({ level: 'silent' });

t.test('a stop during the first page: heard after its first 1,000 events, the fresh file removed', async (t) => {
  const { store, dir } = await storeWithHistory(t, 3000, 7);
  const all = await store.readAll({ limit: 100_000 });
  t.ok(all.length > 2000, `more than two batches of 1,000 in the first page (${all.length} events)`);

  // The events whose data the build read (applied), counted by their index in the first page.
  const touched = new Set<number>();
  const stop = new AbortController();
  let pages = 0;
  const source = {
    head: () => store.head(),
    subscribe: store.subscribe.bind(store),
    readAll: async (o?: { after?: string; limit?: number }): Promise<readonly LogEvent[]> => {
      const page = await store.readAll(o);
      // The log's identity is read from its first event (limit 1): not a page of the build.
      if ((o?.limit ?? 0) < 1000 || pages++ > 0) return page;
      // Asked as soon as the first page is read: the build is then inside it.
      stop.abort();
      return page.map((e, i) => {
        const seen = { ...e } as LogEvent;
        Object.defineProperty(seen, 'data', { enumerable: true, get: () => (touched.add(i), e.data) });
        return seen;
      });
    },
  };
  const fresh = join(dir, 'fresh.db');
  await t.rejects(buildFresh(source, fresh, silent, undefined, undefined, { signal: stop.signal, decodeThread: false, termsThread: false }), RebuildStoppedError);
  t.equal(pages, 1, 'one page read');
  t.ok(touched.size > 0, `the first batch applied (${touched.size} events read)`);
  t.ok(touched.size <= 1000 && Math.max(...touched) < 1000, `no event past the first 1,000 of the page applied (${touched.size}, the last at ${Math.max(...touched)})`);
  t.notOk(existsSync(fresh), 'the fresh file removed');

  // Without a stop, the page applied in batches builds what one build of the whole log builds.
  const whole = join(dir, 'whole.db');
  await buildFresh(store, whole, silent, undefined, undefined, { decodeThread: false, termsThread: false });
  const batched = join(dir, 'batched.db');
  await buildFresh(store, batched, silent, undefined, undefined, { signal: new AbortController().signal, decodeThread: false, termsThread: false });
  t.same(dumpTables(batched), dumpTables(whole), 'the same rows with the first page applied in batches');
});
