/**
 * bench:record's mix as read-model log events, for the benchmarks that apply it without a store
 * (bench:apply-cpu, bench/table-cost.ts): an OrganizationRegistered and CLIENTS SessionHeld first,
 * then without end a PersonRegistered with a key followed by a DelegateAttended naming that person
 * at one of the CLIENTS sessions (client i % CLIENTS); with the mix `talks`, talks on the sidelines
 * of that session with the person instead (no `on`: dated by the session), with `considered`, a
 * document considered at it, with `adopted`, a document adopted at it (its entity made by the adoption:
 * the item a page of documents writes is stored on the row, documents/stored.ts). Positions count from 1; ids and times are
 * fixed, so every run and every subject applies the same events.
 */
import type { LogEvent } from '../projections/db.js';

/** bench:record's clients: one session each. */
export const CLIENTS = 32;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id numbered n (the same n, the same id). */
export const ulid = (n: number): string => {
  let s = '';
  let v = n;
  for (let i = 0; i < 16; i++) {
    s = CROCKFORD[v % 32] + s;
    v = Math.floor(v / 32);
  }
  return `01JB000000${s}`;
};

/** What follows each PersonRegistered: an attendance (bench:record's), talks, a document considered, or a document adopted. */
export type Mix = 'attendance' | 'talks' | 'considered' | 'adopted';

/** BENCH_MIX's value as a Mix (unset: attendance); anything else is refused. */
export function mixOf(value: string | undefined): Mix {
  const mix = value ?? 'attendance';
  if (mix === 'attendance' || mix === 'talks' || mix === 'considered' || mix === 'adopted') return mix;
  throw new Error(`BENCH_MIX=${mix}: use attendance, talks, considered or adopted`);
}

/** The events of the mix, numbered from 1; the first 1 + CLIENTS register the organization and the sessions. */
export function* applyMix(mix: Mix = 'attendance'): Generator<LogEvent> {
  let n = 0;
  const source = { title: 'Benchmark', publisher: 'Annals' };
  const t0 = Date.parse('2026-01-01T00:00:00.000Z');
  const ev = (type: string, stream: string, data: Record<string, unknown>, factId: string): LogEvent => {
    n += 1;
    return { id: `e-${n}`, stream, revision: 0, position: String(n).padStart(20, '0'), type, data, metadata: { factId, source, schemaVersion: 2, recordedBy: 'bench' }, recordedAt: new Date(t0 + n).toISOString() };
  };
  const org = ulid(1);
  yield ev('OrganizationRegistered', `organization-${org}`, { key: 'bench-org', name: 'Bench' }, org);
  const sessions = Array.from({ length: CLIENTS }, (_, c) => ulid(2 + c));
  for (const [c, s] of sessions.entries()) yield ev('SessionHeld', `session-${s}`, { key: `bench-session-${c}`, body: org, held: { from: '2025-11-27' } }, s);
  for (let i = 0; ; i++) {
    const client = i % CLIENTS;
    const person = ulid(100 + 2 * i);
    yield ev('PersonRegistered', `person-${person}`, { key: `single-c${client}-p${i}`, name: `Person ${client}/${i}` }, person);
    const s = sessions[client] as string;
    const fact = ulid(101 + 2 * i);
    if (mix === 'talks') yield ev('SidelineTalksHeld', `session-${s}`, { session: s, participants: [{ person }, { organization: org }], topics: ['Security'] }, fact);
    else if (mix === 'adopted') yield ev('DocumentAdopted', `document-${fact}`, { title: `Act ${i}`, kind: 'act', body: org, session: s, adoptedOn: '2025-11-27' }, fact);
    else if (mix === 'considered') yield ev('DocumentConsidered', `document-${fact}`, { title: `Draft ${i}`, kind: 'plan', body: org, session: s }, fact);
    else yield ev('DelegateAttended', `session-${s}`, { session: s, person, representing: org }, fact);
  }
}
