/**
 * The benchmarks' synthetic record: facts of every kind, in proportions like a busy archive's,
 * that the write side would accept. Every fact satisfies DESIGN.md's invariants, so the read
 * benchmark measures a record Annals could hold (test/bench-history.test.ts records a
 * sample of it through POST /v1/facts/batch and expects no refusal):
 *   - each single-holder office has a succession: terms follow one another (a new term may
 *     begin on the last day of the previous one, the handover day), a few start dates are
 *     only a year or a month (possible overlaps, which are accepted), an open term is ended
 *     by a departure of its holder before the next appointment, and nobody is appointed to
 *     the same office twice (so a departure ends exactly one appointment);
 *   - chairmanships of each organization follow one another likewise;
 *   - corrections change what a correction may change (`acting`), retractions take only
 *     appointments no departure ends, and nothing retracted is amended again.
 * Until now the benchmark appointed random overlapping terms: ~10 possible holders per office
 * and day, a record the deciders would have refused.
 *
 * The records go straight to the store port (bench/read.ts) or through the API (the test):
 * references are ids, and each registration's id is its factId, as the recorder makes them.
 */
import { prng } from '../test/fixtures/history.js';

export interface BenchFact {
  readonly stream: string;
  readonly type: string;
  readonly factId: string;
  readonly data: Record<string, unknown>;
}

export interface BenchHistoryOptions {
  /** How many facts in all (the registrations included). */
  readonly facts: number;
  readonly offices: number;
  readonly people: number;
  /** Organizations whose chairmanship passes (besides the organization and its council). */
  readonly chaired?: number;
  readonly seed?: number;
  /** A new ULID (the caller's monotonic factory). */
  readonly newId: () => string;
}

const DAY = 86_400_000;
const EPOCH = Date.UTC(1990, 0, 1);
const day = (d: number): string => new Date(EPOCH + d * DAY).toISOString().slice(0, 10);

interface OfficeState {
  readonly id: string;
  /** The first day a next term may begin on (the last day of the previous term: a handover). */
  cursor: number;
  /** The holder of the open term, to be ended by a departure before the next appointment. */
  open: { person: string; from: number } | null;
  readonly holders: Set<string>;
}

/**
 * The facts, in recording order. `offices` receives each office's id as it is established
 * (the read benchmark samples it).
 */
export function* benchHistory(o: BenchHistoryOptions, offices: string[] = []): Generator<BenchFact> {
  const rnd = prng(o.seed ?? 42);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const pad = (n: number): string => String(n).padStart(2, '0');
  /** Any date in 1990–2030, a year or a month in 30% of cases. */
  const date = (): string => {
    const y = int(1990, 2030);
    const p = rnd();
    return p < 0.15 ? `${y}` : p < 0.3 ? `${y}-${pad(int(1, 12))}` : `${y}-${pad(int(1, 12))}-${pad(int(1, 28))}`;
  };
  /** A start day as written: a year or a month in 30% of cases (only ever a possible overlap with the term before). */
  const start = (d: number): string => {
    const p = rnd();
    const full = day(d);
    return p < 0.15 ? full.slice(0, 4) : p < 0.3 ? full.slice(0, 7) : full;
  };
  let n = 0;
  const fact = (stream: string, type: string, data: Record<string, unknown>, factId = o.newId()): BenchFact => {
    n += 1;
    return { stream, type, factId, data };
  };
  /** A fact creating an entity: its id is the factId, its stream `<kind>-<id>`. */
  const entity = (kind: string, type: string, data: Record<string, unknown>): BenchFact => {
    const factId = o.newId();
    return fact(`${kind}-${factId}`, type, data, factId);
  };

  const states: string[] = [];
  for (let i = 0; i < 10; i++) {
    const f = entity('organization', 'OrganizationRegistered', { key: `state-${i}`, name: `State ${i}`, classification: 'state' });
    states.push(f.factId);
    yield f;
  }
  const org = entity('organization', 'OrganizationRegistered', { key: 'org', name: 'Organization', classification: 'organization' });
  yield org;
  const orgId = org.factId;
  const memberships = new Map<string, { open: boolean; cursor: number }>();
  const body = entity('organization', 'OrganizationRegistered', { key: 'council', name: 'Council', classification: 'body', parent: orgId });
  yield body;
  const bodyId = body.factId;
  const chaired: { id: string; cursor: number }[] = [{ id: orgId, cursor: 0 }, { id: bodyId, cursor: 0 }];
  for (let i = 0; i < (o.chaired ?? 100); i++) {
    const f = entity('organization', 'OrganizationRegistered', { key: `committee-${i}`, name: `Committee ${i}`, classification: 'body', parent: orgId });
    chaired.push({ id: f.factId, cursor: int(0, 365) });
    yield f;
  }
  const officeStates: OfficeState[] = [];
  for (let i = 0; i < o.offices; i++) {
    const f = entity('office', 'OfficeEstablished', { key: `office-${i}`, organization: i % 2 ? bodyId : orgId, title: `Office ${i}`, multipleHolders: false });
    offices.push(f.factId);
    officeStates.push({ id: f.factId, cursor: int(0, 5 * 365), open: null, holders: new Set() });
    yield f;
  }
  const people: string[] = [];
  for (let i = 0; i < o.people; i++) {
    const f = entity('person', 'PersonRegistered', { key: `person-${i}`, name: `Person ${i}`, aliases: [`P. ${i}`] });
    people.push(f.factId);
    yield f;
  }

  const sessions: string[] = [];
  /** Appointments a correction or a retraction may name; `closed`: ended by its own `to` (no departure ends it). */
  const correctable: { factId: string; stream: string; data: Record<string, unknown>; closed: boolean }[] = [];
  /** Offices whose last term is open, for departures. */
  const openOffices: OfficeState[] = [];
  const depart = (s: OfficeState): BenchFact => {
    const open = s.open as { person: string; from: number };
    const on = Math.max(s.cursor, open.from) + int(30, 700);
    s.open = null;
    s.cursor = on;
    return fact(`office-${s.id}`, 'OfficialLeftOffice', { office: s.id, person: open.person, on: day(on), reason: 'resigned' });
  };
  while (n < o.facts) {
    const r = rnd();
    if (r < 0.45) {
      const s = pick(officeStates);
      if (s.open) {
        yield depart(s);
        continue;
      }
      let person = pick(people);
      while (s.holders.has(person)) person = pick(people);
      s.holders.add(person);
      const from = s.cursor + int(0, 60);
      const openEnded = rnd() < 0.2;
      const to = from + int(30, 730);
      const term = openEnded ? { from: start(from) } : { from: start(from), to: day(to) };
      if (openEnded) {
        s.open = { person, from };
        s.cursor = from;
        openOffices.push(s);
      } else {
        s.cursor = to;
      }
      const data = { office: s.id, person, term, acting: rnd() < 0.05 };
      const f = fact(`office-${s.id}`, 'OfficialAppointed', data);
      correctable.push({ factId: f.factId, stream: f.stream, data, closed: !openEnded });
      if (correctable.length > 10_000) correctable.shift();
      yield f;
    } else if (r < 0.53) {
      // A departure of an open term's holder (the oldest waiting), else an appointment's place.
      let s = openOffices.shift();
      while (s && !s.open) s = openOffices.shift();
      if (s) yield depart(s);
    } else if (r < 0.6 || sessions.length === 0) {
      const f = entity('session', 'SessionHeld', { body: bodyId, held: { from: date() }, place: { city: 'City', country: pick(states) }, chairedBy: { person: pick(people), office: pick(offices) }, agenda: ['item'] });
      sessions.push(f.factId);
      yield f;
    } else if (r < 0.75) {
      const session = pick(sessions);
      yield fact(`session-${session}`, 'DelegateAttended', { session, person: pick(people), representing: pick(states), office: pick(offices) });
    } else if (r < 0.79) {
      const session = pick(sessions);
      yield fact(`session-${session}`, 'ReportDelivered', { session, person: pick(people), office: pick(offices), subject: 'Report' });
    } else if (r < 0.84) {
      const f = entity('document', 'DocumentAdopted', { title: `Document ${n}`, kind: 'decision', body: bodyId, session: pick(sessions), adoptedOn: date() });
      yield f;
    } else if (r < 0.85) {
      const c = pick(chaired);
      const from = c.cursor + int(0, 30);
      const to = from + int(60, 365);
      c.cursor = to;
      yield fact(`organization-${c.id}`, 'ChairmanshipPassed', { organization: c.id, chair: pick(states), term: { from: start(from), to: day(to) } });
    } else if (r < 0.87) {
      // The same draws as before (the rest of the record stays the same), but each state's
      // memberships follow one another, start, end, start…: the decider refuses overlapping ones.
      rnd();
      const member = pick(states);
      date();
      const m = memberships.get(member) ?? { open: false, cursor: 0 };
      m.cursor += 1 + (n % 14);
      m.open = !m.open;
      memberships.set(member, m);
      yield fact(`organization-${orgId}`, m.open ? 'MembershipStarted' : 'MembershipEnded', { organization: orgId, member, on: day(m.cursor) });
    } else if (r < 0.89) {
      const session = pick(sessions);
      // Talks on a session's sidelines go to the session's stream, as the recorder puts them.
      yield fact(`session-${session}`, 'SidelineTalksHeld', { session, participants: [{ person: pick(people) }, { organization: orgId }], topics: ['t'] });
    } else if (r < 0.97 && correctable.length) {
      const target = pick(correctable);
      target.data = { ...target.data, acting: !target.data['acting'] };
      yield fact(target.stream, 'FactCorrected', { fact: target.factId, data: target.data, reason: 'correction' });
    } else if (correctable.length) {
      const i = Math.floor(rnd() * correctable.length);
      const target = correctable[i] as (typeof correctable)[number];
      if (!target.closed) continue;
      correctable.splice(i, 1);
      yield fact(target.stream, 'FactRetracted', { fact: target.factId, reason: 'retraction' });
    }
  }
}
