/**
 * The query facade over one read-model connection: takes entity references (id or key) and
 * returns null where the entity is not known at `knownAt` (the HTTP layer answers 404).
 */
import type { Database as Db } from 'better-sqlite3';
import { QueryContext, viewer, type EntityView } from './query-context.js';
import { holderAt, holderAtJson, holders, officesOf, rolesOf, succession, type HolderItem, type OfficeView, type RoleItem, type SuccessionItem } from './offices/queries.js';
import { chairsAt, listOrganizations, membersOf, organizationView, withBodies, type ChairItem, type MemberItem, type OrganizationView } from './organizations/queries.js';
import { sessionById, sessionsOf, type SessionView } from './sessions/queries.js';
import { documentById, documentsOf, type DocumentItem } from './documents/queries.js';
import { personView, searchPeople, type PersonView } from './people/queries.js';
import { timelineOf, type TimelineItem } from './timeline/queries.js';
import { factVersions, markCorrected, type Corrected, type CorrectedBy, type FactRef } from './facts/queries.js';
import { searchNames, type NameHit } from './search/queries.js';
import { participationOf, type Participation } from './people/participation.js';

export type { HolderItem, OfficeView, RoleItem, ChairItem, MemberItem, OrganizationView, SessionView, DocumentItem, PersonView, TimelineItem, EntityView, Corrected, CorrectedBy, FactRef, NameHit, Participation };

/** Most offices whose current succession is cached. */
const CACHE_LIMIT = 5_000;

export class ReadQueries {
  readonly q: QueryContext;
  /**
   * Successions as the record stands now (reads without knownAt), by office reference;
   * emptied whenever the runner applies events, so an answer is never staler than the read
   * models themselves. Reads with an explicit knownAt never use it.
   */
  private readonly current = new Map<string, { office: EntityView; items: SuccessionItem[] }>();

  constructor(db: Db) {
    this.q = new QueryContext(db);
  }

  /**
   * The runner applied events: drop what was cached about "now" for the offices they may
   * have changed (projections/invalidation.ts), or everything.
   */
  invalidate(offices: Set<string> | 'all' = 'all'): void {
    if (offices === 'all') this.current.clear();
    else if (offices.size > 0) for (const [ref, hit] of this.current) if (offices.has(hit.office.id)) this.current.delete(ref);
  }

  private currentSuccession(ref: string, k: string): { office: EntityView; items: SuccessionItem[] } | null {
    let hit = this.current.get(ref);
    if (!hit) {
      const row = this.q.entity('office', ref, k);
      if (!row) return null;
      hit = { office: { id: row.id, key: row.key, title: row.name }, items: succession(this.q, row.id, k) };
      if (this.current.size >= CACHE_LIMIT) this.current.clear();
      this.current.set(ref, hit);
    }
    return hit;
  }

  office(ref: string, k: string): OfficeView | null {
    const row = this.q.entity('office', ref, k);
    if (!row) return null;
    // The row itself, not officesOf(its organization): an organization may have thousands of offices.
    return { id: row.id, key: row.key, title: row.name, organization: viewer(this.q, k)(row.parent), multipleHolders: row.multiple === 1 };
  }

  /** `now`: knownAt was not given (it is the current time), so the cache of the current record may answer. */
  holder(ref: string, validAt: string, k: string, now = false): { office: EntityView; holders: HolderItem[] } | null {
    if (now) {
      const hit = this.currentSuccession(ref, k);
      return hit ? { office: hit.office, holders: holderAt(this.q, hit.office.id, validAt, k, hit.items) } : null;
    }
    const row = this.q.entity('office', ref, k);
    if (!row) return null;
    return { office: { id: row.id, key: row.key, title: row.name }, holders: holderAt(this.q, row.id, validAt, k) };
  }

  /**
   * The holder answer as JSON text (`{ office, validAt, knownAt, holders }`), equal to
   * JSON.stringify of the object `holder` gives: the hot read, so cached successions keep
   * their items' text.
   */
  holderJson(ref: string, validAt: string, k: string, now = false): string | null {
    let office: EntityView;
    let items: readonly SuccessionItem[];
    if (now) {
      const hit = this.currentSuccession(ref, k);
      if (!hit) return null;
      ({ office, items } = hit);
    } else {
      const row = this.q.entity('office', ref, k);
      if (!row) return null;
      office = { id: row.id, key: row.key, title: row.name };
      items = succession(this.q, row.id, k);
    }
    return `{"office":${JSON.stringify(office)},"validAt":${JSON.stringify(validAt)},"knownAt":${JSON.stringify(k)},"holders":${holderAtJson(items, validAt)}}`;
  }

  holders(ref: string, k: string, now = false): { office: EntityView; holders: HolderItem[] } | null {
    if (now) {
      const hit = this.currentSuccession(ref, k);
      return hit ? { office: hit.office, holders: holders(this.q, hit.office.id, k, hit.items) } : null;
    }
    const row = this.q.entity('office', ref, k);
    if (!row) return null;
    return { office: { id: row.id, key: row.key, title: row.name }, holders: holders(this.q, row.id, k) };
  }

  /** Offices, of one organization when `org` is given (null: that organization is unknown). */
  offices(org: string | undefined, k: string): OfficeView[] | null {
    if (org === undefined) return officesOf(this.q, null, k);
    const row = this.q.entity('organization', org, k);
    return row ? officesOf(this.q, row.id, k) : null;
  }

  organizations(k: string, filter: { classification?: string | undefined; parent?: string | undefined }): OrganizationView[] | null {
    let parent: string | undefined;
    if (filter.parent !== undefined) {
      const p = this.q.entity('organization', filter.parent, k);
      if (!p) return null;
      parent = p.id;
    }
    return listOrganizations(this.q, k, { classification: filter.classification, parent });
  }

  organization(ref: string, k: string, validAt?: string): (OrganizationView & Corrected & { bodies: OrganizationView[]; offices: OfficeView[]; members: (MemberItem & Corrected)[]; chairs: (ChairItem & Corrected)[] }) | null {
    const row = this.q.entity('organization', ref, k);
    if (!row) return null;
    const [view] = markCorrected(this.q, [organizationView(this.q, row, k)], k);
    return {
      ...(view as OrganizationView & Corrected),
      bodies: listOrganizations(this.q, k, { parent: row.id }),
      offices: officesOf(this.q, row.id, k),
      members: markCorrected(this.q, membersOf(this.q, row.id, k, validAt), k),
      chairs: markCorrected(this.q, chairsAt(this.q, row.id, k, validAt), k),
    };
  }

  chair(ref: string, validAt: string, k: string): { organization: EntityView; chairs: (ChairItem & Corrected)[] } | null {
    const row = this.q.entity('organization', ref, k);
    if (!row) return null;
    return { organization: { id: row.id, key: row.key, name: row.name }, chairs: markCorrected(this.q, chairsAt(this.q, row.id, k, validAt), k) };
  }

  sessions(org: string, k: string, validAt?: string): SessionView[] | null {
    const row = this.q.entity('organization', org, k);
    return row ? sessionsOf(this.q, withBodies(this.q, row.id, k), k, validAt).map((s) => this.markSession(s, k)) : null;
  }

  session(ref: string, k: string): SessionView | null {
    const row = this.q.entity('session', ref, k);
    const s = row ? sessionById(this.q, row.id, k) : null;
    return s ? this.markSession(s, k) : null;
  }

  /** correctedBy on the session and on everything recorded about it. */
  private markSession(s: SessionView, k: string): SessionView {
    markCorrected(this.q, [s], k);
    markCorrected(this.q, s.attendees, k);
    markCorrected(this.q, s.reports, k);
    markCorrected(this.q, s.talks, k);
    markCorrected(this.q, s.documents, k);
    return s;
  }

  documents(org: string, k: string, validAt?: string): (DocumentItem & Corrected)[] | null {
    const row = this.q.entity('organization', org, k);
    return row ? markCorrected(this.q, documentsOf(this.q, withBodies(this.q, row.id, k), k, validAt), k) : null;
  }

  document(ref: string, k: string): (DocumentItem & Corrected) | null {
    const row = this.q.entity('document', ref, k);
    const d = row ? documentById(this.q, row.id, k) : null;
    return d ? (markCorrected(this.q, [d], k)[0] as DocumentItem & Corrected) : null;
  }

  people(k: string, q: string | undefined, after: string | null, limit: number): PersonView[] {
    return searchPeople(this.q, k, q, after, limit);
  }

  person(ref: string, k: string, validAt?: string): (PersonView & Corrected & { roles: RoleItem[] }) | null {
    const row = this.q.entity('person', ref, k);
    if (!row) return null;
    const [view] = markCorrected(this.q, [personView(row)], k);
    return { ...(view as PersonView & Corrected), roles: rolesOf(this.q, row.id, k, validAt) };
  }

  /** The sessions a person attended, reported to or chaired, in the order held (null: unknown person). */
  participation(ref: string, k: string): (Participation & Corrected)[] | null {
    const row = this.q.entity('person', ref, k);
    return row ? markCorrected(this.q, participationOf(this.q, row.id, k), k) : null;
  }

  /** A fact and the corrections and retraction that name it, as known at `k` (null: not recorded by then). */
  fact(factId: string, k: string): { fact: FactRef; amendments: FactRef[] } | null {
    return factVersions(this.q, factId, k);
  }

  /** Organizations, offices and people whose name or an alias contains `text` (any script; case and accents ignored). */
  search(text: string, k: string, after: string | null, limit: number): NameHit[] {
    return searchNames(this.q, text, k, after, limit);
  }

  timeline(org: string, k: string, from?: string, to?: string): TimelineItem[] | null {
    const row = this.q.entity('organization', org, k);
    if (!row) return null;
    const bodies = withBodies(this.q, row.id, k);
    const offices = this.q.all<{ id: string }>(
      `SELECT id FROM entities WHERE kind = 'office' AND parent IN (SELECT value FROM json_each(@b)) AND known_from <= @k AND known_to > @k`,
      { b: JSON.stringify(bodies), k },
    );
    return markCorrected(this.q, timelineOf(this.q, [...bodies, ...offices.map((o) => o.id)], k, from, to), k);
  }
}
