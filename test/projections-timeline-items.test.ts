/**
 * Attendances, reports, talks dated by their session and considered documents have no
 * `timeline` row (#19): the timeline reads them from their session items
 * (projections/sessions/item-data.ts) and from `considerations`, with their data as recorded. Checked:
 * the data the item's columns give back, or the recorded data kept in the row, is the recorded
 * data byte for byte (any key order, optional fields present or not); and, on random histories
 * with attendances and reports written in the service's key order and in others, with and
 * without their optional fields, corrected and retracted, beside talks dated by their session
 * and considered documents, the organization's whole timeline at a random knownAt (and now),
 * read page by page at a random limit, lists each fact the fold of the log holds at that
 * moment in (first day, factId) order, each attendance and report with its type, source and
 * its data as recorded (entity views taken back to their ids). The read models rebuilt from
 * the same log equal the running ones.
 */
import t from 'tap';
import fc from 'fast-check';
import { join } from 'node:path';
import { pino } from 'pino';
import { lowerBound } from '../events/index.js';
import { rebuildReadModels } from '../projections/index.js';
import { dataOf, itemData, type TimelineItemType } from '../projections/sessions/item-data.js';
import type { StoredEvent } from '../src/store/port.js';
import { TestLog, dumpTables, prng, startReadApp } from './fixtures/history.js';

type Data = Record<string, any>;
const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The item's columns as sessions/evolve.ts writes them. */
const columnsOf = (d: Data) => ({
  session: d['session'],
  person: d['person'] ?? null,
  office: d['office'] ?? null,
  representing: d['representing'] ?? null,
  subject: d['subject'] ?? null,
  on_raw: d['on'] ?? null,
  participants: d['participants'] === undefined ? null : JSON.stringify(d['participants']),
  topics: d['participants'] === undefined ? null : JSON.stringify(d['topics'] ?? []),
  summary: d['summary'] ?? null,
});

/** A data object's fields in a random order. */
const shuffled = (d: Data, rnd: () => number): Data => {
  const keys = Object.keys(d);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [keys[i], keys[j]] = [keys[j] as string, keys[i] as string];
  }
  return Object.fromEntries(keys.map((k) => [k, d[k]]));
};

t.test('an item gives back its recorded data exactly, from its columns or kept in the row', async (t) => {
  const id = fc.stringMatching(ID);
  let kept = 0;
  let rebuilt = 0;
  fc.assert(
    fc.property(fc.constantFrom<TimelineItemType>('DelegateAttended', 'ReportDelivered'), id, id, fc.option(id, { nil: undefined }), fc.option(id, { nil: undefined }), fc.string({ unit: 'binary' }), fc.integer(), fc.boolean(), (type, session, person, office, representing, subject, seed, shuffle) => {
      const inOrder: Data = type === 'DelegateAttended' ? { session, person, ...(representing && { representing }), ...(office && { office }) } : { session, person, ...(office && { office }), subject };
      const d = shuffle ? shuffled(inOrder, prng(seed)) : inOrder;
      const cell = itemData(type, d, columnsOf(d));
      if (cell === null) rebuilt += 1;
      else kept += 1;
      t.equal(cell ?? JSON.stringify(dataOf(type, columnsOf(d))), JSON.stringify(d));
      if (!shuffle) t.equal(cell, null, 'the service\'s own key order is not kept twice');
    }),
    // A fixed seed: the assertions above depend on the draw (`shuffle`), so the file's count would vary from run to run.
    { numRuns: 300, seed: 2031 },
  );
  t.ok(kept > 0 && rebuilt > 0, `both ways taken (${rebuilt} from columns, ${kept} kept)`);
});

t.test('talks give back their recorded data exactly, from their columns or kept in the row', async (t) => {
  const id = fc.stringMatching(ID);
  const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
  let kept = 0;
  let rebuilt = 0;
  fc.assert(
    fc.property(
      id,
      fc.array(fc.record({ person: fc.option(id, { nil: undefined }), organization: fc.option(id, { nil: undefined }) }, { requiredKeys: [] }), { minLength: 1, maxLength: 3 }),
      fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
      fc.option(text, { nil: undefined }),
      fc.integer(),
      fc.boolean(),
      (session, participants, topics, summary, seed, shuffle) => {
        const inOrder: Data = { session, participants, ...(topics && { topics }), ...(summary !== undefined && { summary }) };
        const d = shuffle ? shuffled(inOrder, prng(seed)) : inOrder;
        const cell = itemData('SidelineTalksHeld', d, columnsOf(d));
        if (cell === null) rebuilt += 1;
        else kept += 1;
        t.equal(cell ?? JSON.stringify(dataOf('SidelineTalksHeld', columnsOf(d))), JSON.stringify(d));
        if (!shuffle && topics?.length !== 0 && [summary ?? '', ...(topics ?? [])].every((x) => (x as unknown as { isWellFormed(): boolean }).isWellFormed())) t.equal(cell, null, "the service's own key order is not kept twice");
      },
    ),
    // A fixed seed, as above: the assertions depend on the draw.
    { numRuns: 300, seed: 2032 },
  );
  t.ok(kept > 0 && rebuilt > 0, `both ways taken (${rebuilt} from columns, ${kept} kept)`);
});

/**
 * Reports' subjects: plain, quoted, beyond ASCII, and with a lone surrogate (POST refuses one, a
 * log imported or written by hand may hold it; SQLite's UTF-8 columns read it back as U+FFFD, so
 * such an item keeps its data as recorded: a review found the timeline giving U+FFFD back).
 */
const SUBJECTS = ['Report', 'Report "7"', 'Rapport sur l\u2019\u00e9tat', 'A \ud800 B', 'Z \udc00'];

/** The recorded data with every entity view put back as its id. */
const unview = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(unview);
  if (v && typeof v === 'object') {
    const o = v as Data;
    if (typeof o['id'] === 'string' && 'key' in o && ID.test(o['id'])) return o['id'];
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unview(x)]));
  }
  return v;
};

t.test('the timeline lists attendances and reports as recorded, in order, at every knownAt', async (t) => {
  let compared = 0;
  let items = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 40, max: 140 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 12 })), { minLength: 3, maxLength: 5 }), async (seed, size, probes) => {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const day = () => `${2000 + Math.floor(rnd() * 20)}-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}${rnd() < 0.5 ? `-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}` : ''}`;
      const log = new TestLog();
      const id = (e: StoredEvent) => e.metadata['factId'] as string;
      const state = id(log.record('OrganizationRegistered', { key: 'state', name: 'State', classification: 'state' }));
      const org = id(log.record('OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' }));
      const body = id(log.record('OrganizationRegistered', { key: 'council', name: 'Council', classification: 'body', parent: org }));
      const office = id(log.record('OfficeEstablished', { key: 'office', organization: body, title: 'Office', multipleHolders: true }));
      const people = [0, 1, 2].map((i) => id(log.record('PersonRegistered', { key: `p-${i}`, name: `Person ${i}` })));
      const setUp = log.events.length;
      const sessions: string[] = [];
      const items0: { factId: string; type: string; data: Data }[] = [];
      while (log.events.length < size) {
        const r = rnd();
        if (r < 0.15 || sessions.length === 0) {
          const from = day();
          sessions.push(id(log.record('SessionHeld', { body, held: rnd() < 0.3 ? { from, to: from } : { from } })));
        } else if (r < 0.45) {
          const d: Data = { session: pick(sessions), person: pick(people), ...(rnd() < 0.6 && { representing: state }), ...(rnd() < 0.5 && { office }) };
          const data = rnd() < 0.3 ? shuffled(d, rnd) : d;
          items0.push({ factId: id(log.record('DelegateAttended', data)), type: 'DelegateAttended', data });
        } else if (r < 0.6) {
          const d: Data = { session: pick(sessions), person: pick(people), ...(rnd() < 0.5 && { office }), subject: SUBJECTS[Math.floor(rnd() * SUBJECTS.length)] as string };
          const data = rnd() < 0.3 ? shuffled(d, rnd) : d;
          items0.push({ factId: id(log.record('ReportDelivered', data)), type: 'ReportDelivered', data });
        } else if (r < 0.68) {
          const topics = rnd() < 0.3 ? { topics: rnd() < 0.3 ? [] : ['Security', pick(SUBJECTS)] } : {};
          const d: Data = { session: pick(sessions), ...(rnd() < 0.3 && { on: day() }), participants: rnd() < 0.5 ? [{ person: pick(people) }] : [{ organization: state, person: pick(people) }, { organization: org }], ...topics, ...(rnd() < 0.3 && { summary: pick(SUBJECTS) }) };
          const data = rnd() < 0.3 ? shuffled(d, rnd) : d;
          items0.push({ factId: id(log.record('SidelineTalksHeld', data)), type: 'SidelineTalksHeld', data });
        } else if (r < 0.74) {
          const d: Data = { ...(rnd() < 0.3 && { key: `doc-${log.events.length}` }), title: pick(SUBJECTS), kind: 'plan', body, session: pick(sessions), ...(rnd() < 0.3 && { summary: 'Summary' }) };
          const data = rnd() < 0.3 ? shuffled(d, rnd) : d;
          items0.push({ factId: id(log.record('DocumentConsidered', data)), type: 'DocumentConsidered', data });
        } else if (r < 0.82) {
          log.record('OfficialAppointed', { office, person: pick(people), term: { from: day() } });
        } else if (r < 0.92 && items0.length) {
          const target = pick(items0);
          const data: Data =
            target.type === 'DelegateAttended'
              ? { session: target.data['session'], person: pick(people), ...(rnd() < 0.5 && { office }) }
              : target.type === 'ReportDelivered'
                ? { ...target.data, subject: 'Corrected' }
                : target.type === 'SidelineTalksHeld'
                  ? { ...target.data, ...(rnd() < 0.3 ? { on: day() } : { topics: ['Corrected'] }) }
                  : { ...target.data, title: 'Corrected' };
          log.record('FactCorrected', { fact: target.factId, data: rnd() < 0.5 ? shuffled(data, rnd) : data, reason: 'correction' });
        } else if (items0.length) {
          const target = items0.splice(Math.floor(rnd() * items0.length), 1)[0] as { factId: string };
          log.record('FactRetracted', { fact: target.factId, reason: 'retraction' });
        }
      }
      const teardowns: (() => unknown)[] = [];
      try {
        const { app, readModels, dir, path } = await startReadApp({ teardown: (fn) => teardowns.push(fn) }, log);
        await readModels.caughtUp();
        // Also at the last registration (nothing the timeline shows known yet: an empty page
        // without its statements, #12) and at the first fact after them (the first it shows).
        for (const [i, limit] of [...probes, [-1, 5], [-2, 5]] as [number, number][]) {
          const now = i % 4 === 0;
          // After the organization was registered (before it, the timeline is a 404).
          const at = i === -1 ? setUp - 1 : i === -2 ? setUp : setUp + (i % (log.events.length - setUp));
          const k = now ? '\uffff' : (log.events[at] as StoredEvent).recordedAt;
          // The fold at k: each fact's data as last corrected, retracted ones gone, sessions' first days.
          const facts = new Map<string, { type: string; data: Data }>();
          for (const e of log.events) {
            if (e.recordedAt > k) continue;
            const d = e.data as Data;
            if (e.type === 'FactCorrected') {
              const f = facts.get(d['fact']);
              if (f) facts.set(d['fact'], { ...f, data: d['data'] });
            } else if (e.type === 'FactRetracted') facts.delete(d['fact']);
            else facts.set(id(e), { type: e.type, data: d });
          }
          const expected: { key: string; factId: string; type: string; data: Data }[] = [];
          for (const [factId, f] of facts) {
            const d = f.data;
            const held = (s: string) => (facts.get(s)?.data['held'] as { from: string } | undefined)?.from;
            let from: string | undefined;
            if (f.type === 'SessionHeld') from = d['held'].from;
            else if (f.type === 'OfficialAppointed') from = d['term'].from;
            else if (f.type === 'SidelineTalksHeld') from = d['on'] ?? held(d['session']);
            else if (['DelegateAttended', 'ReportDelivered', 'DocumentConsidered'].includes(f.type)) from = held(d['session']);
            if (from === undefined) continue;
            expected.push({ key: `${lowerBound(from)} ${factId}`, factId, type: f.type, data: d });
          }
          expected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          const got: any[] = [];
          const url = `/v1/timeline?organization=${org}${now ? '' : `&knownAt=${k}`}&limit=${limit}`;
          let next: string | null = url;
          while (next) {
            const r = await app.inject({ url: next });
            if (r.statusCode !== 200) throw new Error(`${next}: ${r.statusCode} ${r.body}`);
            const b = r.json() as Data;
            got.push(...b['facts']);
            next = b['nextCursor'] ? `${url}&cursor=${b['nextCursor']}` : null;
          }
          compared += 1;
          t.same(got.map((x) => `${x.factId} ${x.type}`), expected.map((x) => `${x.factId} ${x.type}`), `the timeline's facts in order at ${k}`);
          for (const [n, x] of got.entries()) {
            const e = expected[n];
            if (!e || !['DelegateAttended', 'ReportDelivered', 'SidelineTalksHeld', 'DocumentConsidered'].includes(x.type)) continue;
            items += 1;
            if (JSON.stringify(unview(x.data)) !== JSON.stringify(e.data)) t.fail(`${x.type} ${x.factId} at ${k}: ${JSON.stringify(x.data)} is not ${JSON.stringify(e.data)}`);
            if (JSON.stringify(x.source) !== JSON.stringify(log.events[0]?.metadata['source'])) t.fail(`${x.factId}: source ${JSON.stringify(x.source)}`);
          }
        }
        const fresh = join(dir, 'rebuilt.db');
        await rebuildReadModels({ store: log, path: fresh, log: pino({ level: 'silent' }) });
        t.same(dumpTables(fresh), dumpTables(path), 'rebuilt read models equal the running ones');
      } finally {
        for (const fn of teardowns.reverse()) await fn();
      }
    }),
    // A fixed seed: each run asserts once a probe, and the probes are drawn.
    { numRuns: 12, seed: 2033 },
  );
  t.ok(items > 50, `${compared} timelines compared, ${items} attendances, reports, talks and considered documents checked against their recorded data`);
});
