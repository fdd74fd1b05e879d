/**
 * A bulk build's decoding thread (rebuild-decoder.ts starts it): reads the embedded log with
 * a connection of its own, parses each event and turns each plain fact into its rows
 * (bulk-rows.ts), so the writer's thread only binds and inserts them. Corrections and
 * retractions are resolved and evolved here too (DecodeInit.amendments: bulk-rows.ts
 * AmendmentResolver, from the facts they name, read up front), else go over as events, in
 * their place, for the writer to resolve against its `facts` table.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/store/sqlite.js';
import { rowToEvent, type EventRow } from '../src/store/sqlite-rows.js';
import type { StoredEvent } from '../src/store/port.js';
import { encodePosition } from '../src/store/positions.js';
import { AmendmentResolver, BULK_TABLES, F_ID, decodeEvent } from './bulk-rows.js';
import type { DecodeInit, DecodedBatch, DecoderCredit, DecoderMessage, Segment } from './rebuild-decoder.js';
import type { Cell } from './types.js';

const init = workerData as DecodeInit;
const port = parentPort as NonNullable<typeof parentPort>;
const say = (m: DecoderMessage): void => port.postMessage(m);
let credits = init.ahead;
/** The BULK_TABLES entries whose rows a replay's fold drops (decoded and checked as in a rebuild, then not posted). */
const skipped = BULK_TABLES.flatMap((t, i) => (init.skipTables?.includes(t.name) ? [i] : []));
let wake: (() => void) | null = null;
/** The facts some correction or retraction names, as the log holds them now (a live rebuild's later appends may name others: handed over then). */
function namedFacts(path: string): Set<string> {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('query_only = ON');
    const named = new Set<string>();
    // Through events_by_type; json_valid: an event whose data is not JSON names nothing here (decoding it fails the build anyway).
    for (const f of db.prepare("SELECT json_extract(data, '$.fact') FROM events WHERE type IN ('FactCorrected', 'FactRetracted') AND json_valid(data)").pluck().iterate()) if (typeof f === 'string') named.add(f);
    return named;
  } finally {
    db.close();
  }
}
/** Set before the first page is read (its reading can fail as the log's can). */
let resolver: AmendmentResolver | null = null;
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
    const n = facts.length;
    const d = decodeEvent(e, tables, facts);
    if (d.kind === 'done') {
      if (resolver !== null && facts.length > n) resolver.plain(facts[n + F_ID], e.type);
      continue;
    }
    cut();
    if (d.kind === 'park') segments.push({ kind: 'park', event: e, factId: d.factId, error: d.error, err: d.err });
    else {
      const a = resolver?.amend(e) ?? null;
      if (a === null) segments.push({ kind: 'event', event: e });
      else if (a.kind === 'park') segments.push({ kind: 'park', event: e, factId: a.factId, error: a.error, err: a.err });
      else segments.push(a);
    }
  }
  cut();
  if (last === null) return null;
  return { kind: 'batch', events, last: { position: last.position, id: last.id, recordedAt: last.recordedAt }, previous, segments, after };
}

const store = openSqliteStore(init.path, { readOnly: true, cacheSizeKiB: 2048 });
try {
  if (init.amendments !== undefined) resolver = new AmendmentResolver(namedFacts(init.path), init.amendments.facts, BULK_TABLES.map((_, i) => skipped.includes(i)));
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
