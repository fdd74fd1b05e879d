/**
 * "The state of everything" at a `knownAt`, from the read-model queries: every organization
 * with its chairs and members, every office with its whole succession, every person, every
 * session and every document, as the record stood then. Used by `annals replay`; two states
 * taken at different moments compare with a plain JSON diff.
 */
import { ReadQueries, everything, type Key } from '../../projections/index.js';

export interface StateOfRecord {
  knownAt: string;
  organizations: unknown[];
  offices: unknown[];
  people: unknown[];
  sessions: unknown[];
  documents: unknown[];
}

const PAGE = 1000;
const all = (after: Key | null) => ({ after, limit: PAGE });
const none = { items: [], next: null };
/** A session's own lists, whole: the state of everything leaves nothing for later. */
const WHOLE = 1_000_000_000;

export function stateAt(queries: ReadQueries, knownAt: string): StateOfRecord {
  const orgs = [...everything((after) => queries.organizations(knownAt, {}, all(after)) ?? none)];
  const organizations = orgs.map((o) => ({
    ...o,
    members: [...everything((after) => queries.members(o.id, knownAt, undefined, all(after)) ?? none)],
    chairs: [...everything((after) => queries.chairs(o.id, knownAt, undefined, all(after)) ?? none)],
  }));
  const offices = [...everything((after) => queries.offices(undefined, knownAt, all(after)) ?? none)].map((office) => ({
    ...office,
    holders: [...everything((after) => queries.holders(office.id, knownAt, all(after))?.page ?? none)],
  }));
  const people = [...everything((after) => queries.people(knownAt, undefined, all(after)))];
  // Sessions and documents are listed per organization (bodies included): each once, by id.
  const sessions = new Map<string, unknown>();
  const documents = new Map<string, unknown>();
  for (const o of orgs) {
    for (const s of everything((after) => queries.sessions(o.id, knownAt, undefined, all(after), WHOLE) ?? none)) sessions.set(s.id, s);
    for (const d of everything((after) => queries.documents(o.id, knownAt, undefined, all(after)) ?? none)) documents.set(d.id, d);
  }
  const byId = (a: [string, unknown], b: [string, unknown]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return {
    knownAt,
    organizations,
    offices,
    people,
    sessions: [...sessions.entries()].sort(byId).map(([, v]) => v),
    documents: [...documents.entries()].sort(byId).map(([, v]) => v),
  };
}
