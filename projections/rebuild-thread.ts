/**
 * A bulk build's decoding thread (rebuild-decoder.ts starts it): reads the embedded log with
 * a connection of its own, parses each event and turns each plain fact into its rows
 * (bulk-rows.ts), so the writer's thread only binds and inserts them. Corrections and
 * retractions read the read models, so they go over as events, in their place.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../src/store/sqlite.js';
import { rowToEvent, type EventRow } from '../src/store/sqlite-rows.js';
import type { StoredEvent } from '../src/store/port.js';
import { encodePosition } from '../src/store/positions.js';
import { BULK_TABLES, decodeEvent } from './bulk-rows.js';
import type { DecodeInit, DecodedBatch, DecoderCredit, DecoderMessage, Segment } from './rebuild-decoder.js';
import type { Cell } from './types.js';

const init = workerData as DecodeInit;
const port = parentPort as NonNullable<typeof parentPort>;
const say = (m: DecoderMessage): void => port.postMessage(m);
let credits = init.ahead;
/** The BULK_TABLES entries whose rows a replay's fold drops (decoded and checked as in a rebuild, then not posted). */
const skipped = BULK_TABLES.flatMap((t, i) => (init.skipTables?.includes(t.name) ? [i] : []));
let wake: (() => void) | null = null;
port.on('message', (m: DecoderCredit) => {
  credits += m.more;
  wake?.();
});

/** The events of `page` from `from` to before `to`, each made from its row as it is decoded (its parsed data and metadata short-lived). */
function decodePage(page: readonly EventRow[], from: number, to: number, after: string): DecodedBatch | null {
  const segments: Segment[] = [];
  let tables: Cell[][] = BULK_TABLES.map(() => []);
  let facts: Cell[] = [];
  const cut = (): void => {
    for (const i of skipped) (tables[i] as Cell[]).length = 0;
    if (facts.length === 0 && tables.every((t) => t.length === 0)) return;
    segments.push({ kind: 'rows', tables, facts });
    tables = BULK_TABLES.map(() => []);
    facts = [];
  };
  let events = 0;
  let last: StoredEvent | null = null;
  let previous: string | null = null;
  for (let i = from; i < to; i++) {
    const e = rowToEvent(page[i] as EventRow);
    // Filtered, not stopped at the first later event: a store's recordedAt need not rise with the position.
    if (init.knownAt !== undefined && e.recordedAt > init.knownAt) continue;
    events++;
    previous = last === null ? null : last.position;
    last = e;
    const d = decodeEvent(e, tables, facts);
    if (d.kind === 'done') continue;
    cut();
    segments.push(d.kind === 'amendment' ? { kind: 'event', event: e } : { kind: 'park', event: e, factId: d.factId, error: d.error, err: d.err });
  }
  cut();
  if (last === null) return null;
  return { kind: 'batch', events, last: { position: last.position, id: last.id, recordedAt: last.recordedAt }, previous, segments, after };
}

const store = openSqliteStore(init.path, { readOnly: true, cacheSizeKiB: 2048 });
try {
  let after = init.after;
  for (;;) {
    while (credits <= 0) await new Promise<void>((r) => (wake = r));
    wake = null;
    const page = store.readAllRows({ ...(after !== null ? { after } : {}), limit: init.pageSize });
    if (page.length === 0) break;
    after = encodePosition((page[page.length - 1] as EventRow)[0]);
    // Batches of `batchSize` events: the writer's thread keeps one batch alive while it applies
    // it, and every young-generation collection there copies what is alive (a page of 5,000
    // events decoded is ~15 MB of strings).
    for (let i = 0; i < page.length; i += init.batchSize) {
      const to = Math.min(page.length, i + init.batchSize);
      const end = to === page.length ? after : encodePosition((page[to - 1] as EventRow)[0]);
      const batch = decodePage(page, i, to, end);
      if (batch === null) say({ kind: 'skipped', after: end });
      else {
        say(batch);
        credits--;
      }
    }
  }
  say({ kind: 'end' });
} catch (err) {
  say({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
} finally {
  await store.close();
  port.close();
}
