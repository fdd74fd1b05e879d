/**
 * The property, for every answer shape beyond the holder (test/projections-holder-property.ts):
 * for random histories of every kind of fact (corrections, retractions, facts recorded in the
 * same millisecond), each answer at a random knownAt — and without knownAt — equals the
 * brute-force answer folded from the log filtered to recordedAt <= knownAt: the whole
 * succession of an office (cut appointments and the attestations not covered), the chair on
 * a day, the documents and the sessions of the organization with and without validAt. Lists
 * are read page by page at a random limit or the route's default, following nextCursor: the
 * pages joined equal the whole list; each session listed holds what the fold records at it
 * (attendees, reports, talks, documents with their status). The read models rebuilt from the
 * same log equal the running ones.
 */
import t from 'tap';
import fc from 'fast-check';
import { lowerBound, overlap, upperBound, type Certainty } from '../events/index.js';
import { rebuildReadModels } from '../projections/index.js';
import type { StoredEvent } from '../src/store/port.js';
import { succession } from './fixtures/folds.js';
import { TestLog, dumpTables, recordRichHistory, startReadApp } from './fixtures/history.js';
import { pino } from 'pino';
import { join } from 'node:path';

type Data = Record<string, any>;
interface Fact {
  type: string;
  data: Data;
  first: string;
}

/** The facts as they stood at `k` (corrections applied, retractions removed), in first-recording order. */
function factsAt(events: readonly StoredEvent[], k: string): Map<string, Fact> {
  const facts = new Map<string, Fact>();
  for (const e of events) {
    if (e.recordedAt > k) continue;
    const d = e.data as Data;
    const id = e.metadata['factId'] as string;
    if (e.type === 'FactCorrected') {
      const f = facts.get(d['fact']);
      if (f) facts.set(d['fact'], { ...f, data: d['data'] });
    } else if (e.type === 'FactRetracted') facts.delete(d['fact']);
    else facts.set(id, { type: e.type, data: d, first: e.position });
  }
  return facts;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byTerm = (a: { from: string; id: string }, b: { from: string; id: string }) => cmp(lowerBound(a.from), lowerBound(b.from)) || cmp(upperBound(a.from), upperBound(b.from)) || cmp(a.id, b.id);

function holdersOracle(facts: Map<string, Fact>, office: string): string[] | null {
  if (facts.get(office)?.type !== 'OfficeEstablished') return null;
  return succession(facts, office).map((i) => `${i.id}:${i.basis}:${i.from}..${i.to}`);
}

function chairOracle(facts: Map<string, Fact>, org: string, validAt: string): string[] | null {
  if (facts.get(org)?.type !== 'OrganizationRegistered') return null;
  const out: { id: string; from: string; c: Certainty }[] = [];
  for (const [id, f] of facts) {
    if (f.type !== 'ChairmanshipPassed' || f.data['organization'] !== org) continue;
    const c = overlap(f.data['term'], validAt);
    if (c) out.push({ id, from: f.data['term'].from, c });
  }
  return out.sort(byTerm).map((x) => `${x.id}:${x.c}`);
}

function bodiesOf(facts: Map<string, Fact>, org: string): Set<string> {
  const out = new Set([org]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, f] of facts) if (f.type === 'OrganizationRegistered' && out.has(f.data['parent']) && !out.has(id)) (out.add(id), (grew = true));
  }
  return out;
}

function documentsOracle(facts: Map<string, Fact>, org: string, validAt?: string): string[] {
  const bodies = bodiesOf(facts, org);
  const docs = new Map<string, { body: string | null; adoption: Fact | null; considered: string | null }>();
  for (const [id, f] of facts) {
    if (f.type === 'DocumentConsidered') docs.set(id, { body: null, adoption: docs.get(id)?.adoption ?? null, considered: f.data['body'] });
    if (f.type === 'DocumentAdopted' && f.data['document'] === undefined) docs.set(id, { body: f.data['body'], adoption: null, considered: null });
  }
  for (const [, f] of [...facts].sort((a, b) => cmp(a[1].first, b[1].first))) {
    if (f.type !== 'DocumentAdopted') continue;
    const doc = docs.get(f.data['document'] ?? [...facts].find(([, g]) => g === f)?.[0]);
    if (doc && doc.adoption === null) doc.adoption = f;
  }
  const out: { id: string; key: string; status: string }[] = [];
  for (const [id, d] of docs) {
    const a = d.adoption;
    if (!((a && bodies.has(a.data['body'])) || (d.considered !== null && bodies.has(d.considered)) || (d.body !== null && bodies.has(d.body)))) continue;
    const effective = a ? (a.data['effective'] ?? { from: a.data['adoptedOn'], to: null }) : null;
    if (validAt && (!effective || !overlap(effective, validAt))) continue;
    out.push({ id, key: effective ? lowerBound(effective.from) : '', status: a ? 'adopted' : 'considered' });
  }
  return out.sort((x, y) => cmp(x.key, y.key) || cmp(x.id, y.id)).map((x) => `${x.id}:${x.status}`);
}

function sessionsOracle(facts: Map<string, Fact>, org: string, validAt?: string): string[] {
  const bodies = bodiesOf(facts, org);
  const out: { id: string; from: string }[] = [];
  for (const [id, f] of facts) {
    if (f.type !== 'SessionHeld' || !bodies.has(f.data['body'])) continue;
    if (validAt && !overlap({ from: f.data['held'].from, to: f.data['held'].to ?? f.data['held'].from }, validAt)) continue;
    out.push({ id, from: f.data['held'].from });
  }
  return out.sort((a, b) => cmp(lowerBound(a.from), lowerBound(b.from)) || cmp(a.id, b.id)).map((x) => x.id);
}

/**
 * What a session in a list holds, as the fold has it: its attendees and reporters (fact and
 * person) and its talks, each list in the order of its facts' first recordings (a corrected
 * item keeps its place), the documents adopted or considered at it (with their status) by id;
 * null when a list goes past the first page a session shows (50).
 */
function sessionContents(facts: Map<string, Fact>, session: string): string | null {
  const of = (type: string) => [...facts].filter(([, f]) => f.type === type && f.data['session'] === session).sort(([, a], [, b]) => cmp(a.first, b.first));
  const adopted = new Set([...facts].filter(([, f]) => f.type === 'DocumentAdopted').map(([id, f]) => f.data['document'] ?? id));
  const lists = [
    of('DelegateAttended').map(([id, f]) => `${id}>${f.data['person']}`),
    of('ReportDelivered').map(([id, f]) => `${id}>${f.data['person']}`),
    of('SidelineTalksHeld').map(([id]) => id),
    [...new Set([...of('DocumentAdopted').map(([id, f]) => f.data['document'] ?? id), ...of('DocumentConsidered').map(([id]) => id)])].sort().map((d) => `${d}:${adopted.has(d) ? 'adopted' : 'considered'}`),
  ];
  return lists.some((l) => l.length > 50) ? null : lists.map((l) => l.join(',')).join(' | ');
}

/** The same of a session as answered, each list in its answer's order. */
const answeredContents = (s: any): string =>
  [s.attendees.map((a: any) => `${a.factId}>${a.person?.id}`), s.reports.map((r: any) => `${r.factId}>${r.person?.id}`), s.talks.map((x: any) => x.factId), s.documents.map((d: any) => `${d.id}:${d.status}`)].map((l: string[]) => l.join(',')).join(' | ');

const partialDate = fc.tuple(fc.integer({ min: 1988, max: 2032 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.constantFrom('y', 'm', 'd', 'd')).map(([y, m, d, p]) => (p === 'y' ? `${y}` : p === 'm' ? `${y}-${String(m).padStart(2, '0')}` : `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`));

t.test('lists and point answers equal the brute-force fold, page by page, on both time axes', async (t) => {
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 150, max: 450 }), fc.array(fc.tuple(partialDate, fc.nat(), fc.constantFrom(-1, 0, 1), fc.integer({ min: 1, max: 9 })), { minLength: 4, maxLength: 8 }), async (seed, size, probes) => {
      const log = new TestLog();
      recordRichHistory(log, size, seed, { offices: 3, people: 6, sameInstant: 0.3 });
      const teardowns: (() => unknown)[] = [];
      try {
        const { app, readModels, dir, path } = await startReadApp({ teardown: (fn) => teardowns.push(fn) }, log);
        await readModels.caughtUp();
        const ids = (type: string) => log.events.filter((e) => e.type === type).map((e) => e.metadata['factId'] as string);
        const org = (log.events.find((e) => e.type === 'OrganizationRegistered' && (e.data as Data)['key'] === 'org') as StoredEvent).metadata['factId'] as string;
        /** Every page of `url` at `limit` (undefined: the route's default page). */
        const pages = async (url: string, list: string, limit: number | undefined): Promise<any[] | null> => {
          const out: any[] = [];
          const size = limit === undefined ? '' : `&limit=${limit}`;
          let next: string | null = `${url}${size}`;
          while (next) {
            const r = await app.inject({ url: next });
            if (r.statusCode === 404) return null;
            if (r.statusCode !== 200) throw new Error(`${next}: ${r.statusCode} ${r.body}`);
            const body = r.json() as Record<string, any>;
            out.push(...body[list]);
            next = body.nextCursor ? `${url}${size}&cursor=${body.nextCursor}` : null;
          }
          return out;
        };
        const check = (what: string, got: unknown, expected: unknown) => {
          compared += 1;
          if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${what}: ${JSON.stringify({ got, expected })}`);
        };
        for (const [validAt, i, shift, limit] of probes) {
          const base = Date.parse(log.events[i % log.events.length]?.recordedAt as string);
          const now = i % 5 === 0;
          const k = now ? '' : new Date(base + shift).toISOString();
          const facts = factsAt(log.events, now ? '\uffff' : k);
          const at = now ? '' : `&knownAt=${k}`;
          const office = ids('OfficeEstablished')[i % 3] as string;
          const holders = await pages(`/v1/offices/${office}/holders?x=1${at}`, 'holders', limit);
          check(`holders of ${office} at ${k || 'now'}`, holders?.map((h) => `${h.factId}:${h.basis}:${h.term.from}..${h.term.to}`) ?? null, holdersOracle(facts, office));
          const chair = await app.inject({ url: `/v1/organizations/${org}/chair?validAt=${validAt}${at}` });
          check(`chair at ${validAt}, ${k || 'now'}`, chair.statusCode === 404 ? null : (chair.json() as any).chairs.map((c: any) => `${c.factId}:${c.certainty}`), chairOracle(facts, org, validAt));
          for (const v of [undefined, validAt]) {
            const w = v ? `&validAt=${v}` : '';
            // Now and then the default page (sessions: 10 a page, the others 50).
            const size = i % 4 === 1 ? undefined : limit;
            const docs = await pages(`/v1/documents?organization=${org}${w}${at}`, 'documents', size);
            if (docs !== null) check(`documents ${v ?? ''} at ${k || 'now'}`, docs.map((d) => `${d.id}:${d.status}`), documentsOracle(facts, org, v));
            const sessions = await pages(`/v1/sessions?organization=${org}${w}${at}`, 'sessions', size);
            if (sessions !== null) {
              check(`sessions ${v ?? ''} at ${k || 'now'}`, sessions.map((s) => s.id), sessionsOracle(facts, org, v));
              for (const s of sessions) {
                const expected = sessionContents(facts, s.id);
                if (expected !== null) check(`session ${s.id} at ${k || 'now'}: its lists`, answeredContents(s), expected);
              }
            }
          }
        }
        const fresh = join(dir, 'fresh.db');
        await rebuildReadModels({ store: log, path: fresh, log: pino({ level: 'silent' }) });
        check('rebuild', dumpTables(fresh), dumpTables(path));
      } finally {
        for (const fn of teardowns.reverse()) await fn();
      }
    }),
    { numRuns: 25, interruptAfterTimeLimit: 90_000 },
  );
  t.ok(compared > 0, `${compared} answers compared with the fold`);
});
