/**
 * "The state of everything" at a `knownAt`, from the read-model queries: every organization
 * with its chairs and members, every office with its whole succession, every person, every
 * session and every document, as the record stood then. Used by `annals replay`; two states
 * taken at different moments compare with a plain JSON diff.
 */
import { ReadQueries } from '../../projections/index.js';

export interface StateOfRecord {
  knownAt: string;
  organizations: unknown[];
  offices: unknown[];
  people: unknown[];
  sessions: unknown[];
  documents: unknown[];
}

const PEOPLE_PAGE = 1000;

export function stateAt(queries: ReadQueries, knownAt: string): StateOfRecord {
  const orgs = queries.organizations(knownAt, {}) ?? [];
  const organizations = orgs.map((o) => {
    const full = queries.organization(o.id, knownAt);
    return full ? { ...o, members: full.members, chairs: full.chairs } : o;
  });
  const offices = (queries.offices(undefined, knownAt) ?? []).map((office) => ({
    ...office,
    holders: queries.holders(office.id, knownAt)?.holders ?? [],
  }));
  const people: unknown[] = [];
  let after: string | null = null;
  for (;;) {
    const page = queries.people(knownAt, undefined, after, PEOPLE_PAGE);
    people.push(...page);
    if (page.length < PEOPLE_PAGE) break;
    const last = page[page.length - 1];
    after = last ? `${last.name ?? ''}\u0000${last.id}` : null;
  }
  // Sessions and documents are listed per organization (bodies included): each once, by id.
  const sessions = new Map<string, unknown>();
  const documents = new Map<string, unknown>();
  for (const o of orgs) {
    for (const s of queries.sessions(o.id, knownAt) ?? []) sessions.set(s.id, s);
    for (const d of queries.documents(o.id, knownAt) ?? []) documents.set(d.id, d);
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
