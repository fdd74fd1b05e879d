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
import type { EntityView } from './query-context.js';
import { chairsAt, listOrganizations, membersOf, organizationView, withBodies, type OrganizationView } from './organizations/queries.js';
import { holders, officesOf, type OfficeView } from './offices/queries.js';
import { sessionsOf } from './sessions/queries.js';
import { personView, searchPeople } from './people/queries.js';

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
 * everything when `org` is undefined; null when `org` is not known at `k`.
 */
export function popoloExport(rq: ReadQueries, org: string | undefined, k: string): PopoloDocument | null {
  const q = rq.q;
  let orgIds: string[];
  if (org === undefined) {
    orgIds = listOrganizations(q, k, {}).map((o) => o.id);
  } else {
    const row = q.entity('organization', org, k);
    if (!row) return null;
    orgIds = withBodies(q, row.id, k);
  }

  const orgs = new Map<string, OrganizationView>();
  const addOrg = (id: string | null | undefined): void => {
    if (!id || orgs.has(id)) return;
    const row = q.byId(id, k);
    if (row && row.kind === 'organization') orgs.set(id, organizationView(q, row, k));
  };
  const people = new Set<string>();
  const addPerson = (v: EntityView | null): void => {
    if (v) people.add(v.id);
  };
  const offices = new Map<string, OfficeView>();
  const memberships: PopoloMembership[] = [];
  const events: PopoloEvent[] = [];

  for (const id of orgIds) addOrg(id);
  // The parent of the organization asked for, so that every parent_id resolves in the document.
  for (const id of orgIds) addOrg(orgs.get(id)?.parent?.id);

  for (const id of orgIds) {
    for (const o of officesOf(q, id, k)) offices.set(o.id, o);
    for (const m of membersOf(q, id, k)) {
      if (!m.member) continue;
      addOrg(m.member.id);
      memberships.push({ id: m.factId, role: 'member', member: { '@type': 'Organization', id: m.member.id, name: m.member.name ?? null }, organization_id: id, start_date: m.term.from, end_date: m.term.to, sources: [] });
    }
    for (const c of chairsAt(q, id, k)) {
      if (!c.state) continue;
      addOrg(c.state.id);
      memberships.push({ id: c.factId, label: 'Chairmanship', role: 'chair', member: { '@type': 'Organization', id: c.state.id, name: c.state.name ?? null }, organization_id: id, start_date: c.term.from, end_date: c.term.to, sources: sources(c.source), ...(c.source ? { annals_source: c.source } : {}) });
    }
  }

  for (const s of sessionsOf(q, orgIds, k)) {
    const place = s.place ? [s.place.city, s.place.country?.name].filter((x): x is string => !!x).join(', ') : null;
    events.push({ id: s.id, name: s.title ?? s.body?.name ?? null, classification: 'session', start_date: s.held.from, end_date: s.held.to ?? s.held.from, organization_id: s.body?.id ?? null, location: place });
    addOrg(s.place?.country?.id);
    const named: (EntityView | null)[] = [s.chairedBy?.office ?? null, ...s.attendees.map((a) => a.office), ...s.reports.map((r) => r.office)];
    for (const o of named) {
      if (!o || offices.has(o.id)) continue;
      const view = rq.office(o.id, k);
      if (view) offices.set(view.id, view);
    }
    addPerson(s.chairedBy?.person ?? null);
    for (const a of s.attendees) (addPerson(a.person), addOrg(a.representing?.id));
    for (const r of s.reports) addPerson(r.person);
  }

  const posts: PopoloPost[] = [];
  for (const o of offices.values()) {
    const orgId = o.organization?.id ?? null;
    addOrg(orgId);
    posts.push({ id: o.id, label: o.title, organization_id: orgId, identifiers: keyIds(o.key) });
    for (const h of holders(q, o.id, k)) {
      addPerson(h.person);
      const m: PopoloMembership = { id: h.factId, role: o.title, person_id: h.person?.id ?? null, organization_id: orgId, post_id: o.id, start_date: h.term.from, end_date: h.term.to, sources: sources(h.source), ...(h.source ? { annals_source: h.source } : {}) };
      if (h.basis === 'attested') {
        const at = h.session?.title ?? h.session?.name ?? 'a session';
        m.label = `Attested, not appointed: named in the capacity ${h.capacity ?? ''} at ${at} (term = the session's days)`;
      } else if (h.acting) {
        m.label = 'Acting';
      }
      memberships.push(m);
    }
  }

  if (org === undefined) for (const p of searchPeople(q, k, undefined, null, -1)) people.add(p.id);
  const persons: PopoloPerson[] = [];
  for (const id of people) {
    const row = q.byId(id, k);
    if (!row) continue;
    const p = personView(row);
    persons.push({ id: p.id, name: p.name, other_names: p.aliases.map((name) => ({ name })), identifiers: keyIds(p.key) });
  }

  const organizations: PopoloOrganization[] = [...orgs.values()].map((o) => ({
    id: o.id,
    name: o.name,
    classification: o.classification,
    parent_id: o.parent?.id ?? null,
    other_names: o.aliases.map((name) => ({ name })),
    identifiers: keyIds(o.key),
  }));
  return { persons, organizations, posts, memberships, events };
}
