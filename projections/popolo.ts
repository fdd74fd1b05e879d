/**
 * A Popolo (https://www.popoloproject.com) export composed from the read queries: people →
 * Person, organizations → Organization, offices → Post, appointments and attestations →
 * Membership (person in a post), member states and chairmanships → Membership with an
 * organization as `member` (`{ "@type": "Organization", id, name }`, the form Popolo gives
 * for an organization member; `role` says `member` or `chair`), sessions → Event.
 *
 * Ids are the entities' ids (and, for memberships, the factId of the recording fact); keys
 * are given as `identifiers` with scheme `annals-key`. Dates stay partial as recorded
 * (Popolo's date patterns allow `YYYY`, `YYYY-MM`, `YYYY-MM-DD`). Provenance becomes
 * `sources: [{ url, note: title }]` where the fact's source has a url (Popolo's Link requires
 * one), and the whole source as the extension field `annals_source` (Popolo objects admit
 * more properties), so a source without a url is not lost; an attested membership (a capacity named at a session, no appointment recorded)
 * says so in its `label`.
 */
import type { Source } from '../events/index.js';
import type { ReadQueries } from './queries.js';
import { everything, type EntityView, type Key, type Page } from './query-context.js';
import { chairsPage, membersPage, organizationView, organizationsPage, withBodies, type OrganizationView } from './organizations/queries.js';
import { holdersPage, officesPage, officeView, type OfficeView } from './offices/queries.js';
import { sessionBodies, sessionsPage } from './sessions/queries.js';
import { peoplePage, personView } from './people/queries.js';

/** Rows read per page while streaming. */
const PAGE = 500;
export interface PopoloLink { url: string; note: string }
export interface PopoloIdentifier { identifier: string; scheme: string }
export interface PopoloPerson { id: string; name: string | null; other_names: { name: string }[]; identifiers: PopoloIdentifier[] }
export interface PopoloOrganization { id: string; name: string | null; classification: string | null; parent_id: string | null; other_names: { name: string }[]; identifiers: PopoloIdentifier[] }
export interface PopoloPost { id: string; label: string | null; organization_id: string | null; identifiers?: PopoloIdentifier[] }
export interface PopoloMembership {
  id: string;
  label?: string;
  role: string | null;
  person_id?: string | null;
  member?: { '@type': 'Organization'; id: string; name: string | null };
  organization_id: string | null;
  post_id?: string | null;
  start_date: string | null;
  end_date: string | null;
  sources: PopoloLink[];
  /** Extension: the fact's whole provenance (title, publisher, url, publishedOn, quote). */
  annals_source?: Source;
}
export interface PopoloEvent { id: string; name: string | null; classification: 'session'; start_date: string; end_date: string; organization_id: string | null; location: string | null }
export interface PopoloDocument {
  persons: PopoloPerson[];
  organizations: PopoloOrganization[];
  posts: PopoloPost[];
  memberships: PopoloMembership[];
  events: PopoloEvent[];
}

const keyIds = (key: string | null): PopoloIdentifier[] => (key ? [{ identifier: key, scheme: 'annals-key' }] : []);
const sources = (s: Source | null): PopoloLink[] => (s?.url ? [{ url: s.url, note: s.title }] : []);

/**
 * Everything related to one organization (its bodies, member and chairing states, the offices
 * of it and its bodies and those named at its sessions, their holders, its sessions), or
 * everything when `org` is undefined, as JSON text in chunks: `{ organization, knownAt,
 * events, posts, memberships, organizations, persons }`. Each list is read a page at a time
 * and written as it is read, so memory holds the sets of entities named (to list each once),
 * never the record. Null when `org` is not known at `k` (decided before the first chunk).
 */
export function popoloChunks(rq: ReadQueries, org: string | undefined, k: string): Generator<string> | null {
  const q = rq.q;
  let roots: string[] | null = null;
  if (org !== undefined) {
    const row = q.ref('organization', org, k);
    if (!row) return null;
    roots = withBodies(q, row.id, k);
  }
  return chunks(rq, org, roots, k);
}

function* pages<T>(fetch: (after: Key | null) => Page<T>): Generator<T> {
  yield* everything(fetch);
}

function* chunks(rq: ReadQueries, org: string | undefined, roots: string[] | null, k: string): Generator<string> {
  const q = rq.q;
  const all = (after: Key | null) => ({ after, limit: PAGE });
  const orgIds = roots ?? [...pages((after) => organizationsPage(q, k, {}, all(after)))].map((o) => o.id);
  const orgs = new Map<string, OrganizationView | null>();
  const addOrg = (id: string | null | undefined): void => {
    if (!id || orgs.has(id)) return;
    const row = q.byId(id, k);
    orgs.set(id, row && row.kind === 'organization' ? organizationView(q, row, k) : null);
  };
  const people = new Set<string>();
  const addPerson = (v: EntityView | null | undefined): void => {
    if (v) people.add(v.id);
  };
  for (const id of orgIds) addOrg(id);
  // The parent of the organization asked for, so that every parent_id resolves in the document.
  for (const id of orgIds) addOrg(orgs.get(id)?.parent?.id);

  const list = function* <T>(name: string, items: Iterable<T>, render: (t: T) => unknown): Generator<string> {
    yield `,${JSON.stringify(name)}:[`;
    let n = 0;
    for (const item of items) yield `${n++ === 0 ? '' : ','}${JSON.stringify(render(item))}`;
    yield ']';
  };

  yield `{"organization":${JSON.stringify(org ?? null)},"knownAt":${JSON.stringify(k)}`;

  // Sessions → events; they name offices, people and states the rest must include.
  const offices = new Map<string, OfficeView>();
  const named = new Set<string>();
  function* sessions(): Generator<PopoloEvent> {
    const bodiesOfOrgs = sessionBodies(q, orgIds);
    for (const s of pages((after) => sessionsPage(q, bodiesOfOrgs, k, undefined, all(after)))) {
      const place = s.place ? [s.place.city, s.place.country?.name].filter((x): x is string => !!x).join(', ') : null;
      addOrg(s.place?.country?.id);
      for (const o of [s.chairedBy?.office ?? null, ...s.attendees.map((a) => a.office), ...s.reports.map((r) => r.office)]) if (o) named.add(o.id);
      addPerson(s.chairedBy?.person);
      for (const a of s.attendees) (addPerson(a.person), addOrg(a.representing?.id));
      for (const r of s.reports) addPerson(r.person);
      // Lists past a session's first page: read on, for the offices, people and states they name.
      for (const a of s.more?.attendees ? pages((after) => rq.sessionList(s.id, 'attendees', k, all(after ?? (s.more?.attendees as Key))) as Page<{ person: EntityView | null; representing: EntityView | null; office: EntityView | null }>) : []) {
        addPerson(a.person);
        addOrg(a.representing?.id);
        if (a.office) named.add(a.office.id);
      }
      for (const r of s.more?.reports ? pages((after) => rq.sessionList(s.id, 'reports', k, all(after ?? (s.more?.reports as Key))) as Page<{ person: EntityView | null; office: EntityView | null }>) : []) {
        addPerson(r.person);
        if (r.office) named.add(r.office.id);
      }
      yield { id: s.id, name: s.title ?? s.body?.name ?? null, classification: 'session', start_date: s.held.from, end_date: s.held.to ?? s.held.from, organization_id: s.body?.id ?? null, location: place };
    }
  }
  yield* list('events', sessions(), (e) => e);

  function* posts(): Generator<PopoloPost> {
    for (const id of orgIds) for (const o of pages((after) => officesPage(q, id, k, all(after)))) offices.set(o.id, o);
    for (const id of named) {
      if (offices.has(id)) continue;
      const o = officeView(q, id, k);
      if (o) offices.set(o.id, o);
    }
    for (const o of offices.values()) {
      addOrg(o.organization?.id);
      yield { id: o.id, label: o.title, organization_id: o.organization?.id ?? null, identifiers: keyIds(o.key) };
    }
  }
  yield* list('posts', posts(), (p) => p);

  function* memberships(): Generator<PopoloMembership> {
    for (const id of orgIds) {
      for (const m of pages((after) => membersPage(q, id, k, undefined, all(after)))) {
        if (!m.member) continue;
        addOrg(m.member.id);
        yield { id: m.factId, role: 'member', member: { '@type': 'Organization', id: m.member.id, name: m.member.name ?? null }, organization_id: id, start_date: m.term.from, end_date: m.term.to, sources: [] };
      }
      for (const c of pages((after) => chairsPage(q, id, k, undefined, all(after)))) {
        if (!c.state) continue;
        addOrg(c.state.id);
        yield { id: c.factId, label: 'Chairmanship', role: 'chair', member: { '@type': 'Organization', id: c.state.id, name: c.state.name ?? null }, organization_id: id, start_date: c.term.from, end_date: c.term.to, sources: sources(c.source), ...(c.source ? { annals_source: c.source } : {}) };
      }
    }
    for (const o of offices.values()) {
      const orgId = o.organization?.id ?? null;
      for (const h of pages((after) => holdersPage(q, o.id, k, all(after)))) {
        addPerson(h.person);
        const m: PopoloMembership = { id: h.factId, role: o.title, person_id: h.person?.id ?? null, organization_id: orgId, post_id: o.id, start_date: h.term.from, end_date: h.term.to, sources: sources(h.source), ...(h.source ? { annals_source: h.source } : {}) };
        if (h.basis === 'attested') {
          const at = h.session?.title ?? h.session?.name ?? 'a session';
          m.label = `Attested, not appointed: named in the capacity ${h.capacity ?? ''} at ${at} (term = the session's days)`;
        } else if (h.acting) {
          m.label = 'Acting';
        }
        yield m;
      }
    }
  }
  yield* list('memberships', memberships(), (m) => m);

  yield* list('organizations', [...orgs.values()].filter((o): o is OrganizationView => o !== null), (o): PopoloOrganization => ({
    id: o.id,
    name: o.name,
    classification: o.classification,
    parent_id: o.parent?.id ?? null,
    other_names: o.aliases.map((name) => ({ name })),
    identifiers: keyIds(o.key),
  }));

  function* persons(): Generator<PopoloPerson> {
    const seen = new Set<string>();
    const render = (p: ReturnType<typeof personView>): PopoloPerson => ({ id: p.id, name: p.name, other_names: p.aliases.map((name) => ({ name })), identifiers: keyIds(p.key) });
    if (org === undefined) {
      for (const p of pages((after) => peoplePage(q, k, undefined, all(after)))) {
        seen.add(p.id);
        yield render(p);
      }
    }
    for (const id of people) {
      if (seen.has(id)) continue;
      const row = q.byId(id, k);
      if (row) yield render(personView(row));
    }
  }
  yield* list('persons', persons(), (p) => p);
  yield '}';
}
