/**
 * The query facade over one read-model connection: takes entity references (id or key) and
 * returns null where the entity is not known at `knownAt` (the HTTP layer answers 404).
 * Lists come a keyset page at a time (`PageRequest` in, `Page` out); views that hold lists
 * which can grow without bound (an organization's offices, a session's attendees) hold the
 * first page of each and, in `more`, the key to continue after.
 *
 * No answer is cached: every question reads the rows it needs through the indexes
 * (temporal.ts for the point questions), at any knownAt alike.
 */
import type { Database as Db } from 'better-sqlite3';
import { QueryContext, everything, type EntityView, type Key, type Page, type PageRequest, type SnapshotState } from './query-context.js';
import { holderAt } from './offices/holder.js';
import { holderAnswerJson, successionJson } from './offices/holder-json.js';
import { isUlid } from '../events/index.js';
import { holdersPage, officesPage, officeView, rolesPage, type HolderItem, type OfficeView, type RoleItem } from './offices/queries.js';
import { chairsAt, chairsPage, membersPage, organizationView, organizationsPage, withBodies, type ChairItem, type MemberItem, type OrganizationView } from './organizations/queries.js';
import { NESTED_LIMIT, organizationSessionBodies, sessionById, sessionsById, sessionListPage, sessionRow, sessionsPage, sessionsPageJson, type SessionList, type SessionView } from './sessions/queries.js';
import { documentById, documentsPage, documentsPageJson, type DocumentItem } from './documents/queries.js';
import { peoplePage, personView, type PersonView } from './people/queries.js';
import { timelinePage, type TimelineItem } from './timeline/queries.js';
import { changesIn, factVersions, markCorrected, scopeOf, type ChangeRef, type Corrected, type CorrectedBy, type FactRef } from './facts/queries.js';
import { searchNames, type NameHit } from './search/queries.js';
import { participationOf, type Participation } from './people/participation.js';

export type { HolderItem, OfficeView, RoleItem, ChairItem, MemberItem, OrganizationView, SessionView, SessionList, DocumentItem, PersonView, TimelineItem, EntityView, Key, Page, PageRequest, SnapshotState, Corrected, CorrectedBy, FactRef, ChangeRef, NameHit, Participation };
export { NESTED_LIMIT, everything };

export type OrganizationList = 'bodies' | 'offices' | 'members' | 'chairs';

export interface OrganizationDetail extends OrganizationView, Corrected {
  bodies: OrganizationView[];
  offices: OfficeView[];
  members: (MemberItem & Corrected)[];
  chairs: (ChairItem & Corrected)[];
  more?: Partial<Record<OrganizationList, Key>>;
}

export interface PersonDetail extends PersonView, Corrected {
  roles: RoleItem[];
  more?: { roles?: Key };
}

const first = (limit: number): PageRequest => ({ after: null, limit });

/** A page with `correctedBy` on each item whose fact was corrected by `k` (one statement for the page). */
function marked<T extends { factId: string } | { id: string }>(q: QueryContext, page: Page<T>, k: string): Page<T & Corrected> {
  markCorrected(q, page.items, k);
  return page;
}

/** `correctedBy` on sessions and on everything recorded about them, in one statement for all of them. */
function markSessions(q: QueryContext, sessions: SessionView[], k: string): SessionView[] {
  const all: ({ factId: string } | { id: string })[] = [];
  for (const s of sessions) all.push(s, ...s.attendees, ...s.reports, ...s.talks, ...s.documents);
  markCorrected(q, all, k);
  return sessions;
}

export class ReadQueries {
  readonly q: QueryContext;

  /** `shared`: `db` is also the writer's connection (no read snapshot is opened on it). `snapshotMs`: see QueryContext. */
  constructor(db: Db, shared = false, snapshotMs?: number) {
    this.q = new QueryContext(db, shared, snapshotMs);
  }

  /** The runner applied events: the next statement reads a new snapshot. */
  invalidate(): void {
    this.q.end();
  }

  /** The checkpoint the current answers read (opening a snapshot if none is open). */
  snapshot(): SnapshotState {
    return this.q.snapshot();
  }

  private officeRef(ref: string, k: string): EntityView | null {
    const row = this.q.ref('office', ref, k);
    return row ? { id: row.id, key: row.key, title: row.name } : null;
  }

  office(ref: string, k: string): OfficeView | null {
    return officeView(this.q, ref, k);
  }

  holder(ref: string, validAt: string, k: string): { office: EntityView; holders: HolderItem[] } | null {
    const office = this.officeRef(ref, k);
    return office ? { office, holders: holderAt(this.q, office.id, validAt, k) } : null;
  }

  /** The holder answer as JSON text (`{ office, validAt, knownAt, holders }`), equal to JSON.stringify of what `holder` gives. */
  holderJson(ref: string, validAt: string, k: string): string | null {
    // One statement (offices/holder-json.ts) for an id; a key is resolved to its id first.
    if (isUlid(ref)) return holderAnswerJson(this.q, ref, validAt, k);
    const office = this.q.ref('office', ref, k);
    return office ? holderAnswerJson(this.q, office.id, validAt, k) : null;
  }

  /** The whole succession of `office` (an id known at k) as the JSON text of its items, comma-joined: what JSON.stringify writes of every page of `holders`' items, inside the brackets. */
  successionJson(office: string, k: string): string {
    return successionJson(this.q, office, k);
  }

  holders(ref: string, k: string, page: PageRequest): { office: EntityView; page: Page<HolderItem> } | null {
    const office = this.officeRef(ref, k);
    return office ? { office, page: holdersPage(this.q, office.id, k, page) } : null;
  }

  /** Offices, of one organization when `org` is given (null: that organization is unknown). */
  offices(org: string | undefined, k: string, page: PageRequest): Page<OfficeView> | null {
    if (org === undefined) return officesPage(this.q, null, k, page);
    const row = this.q.ref('organization', org, k);
    return row ? officesPage(this.q, row.id, k, page) : null;
  }

  organizations(k: string, filter: { classification?: string | undefined; parent?: string | undefined }, page: PageRequest): Page<OrganizationView> | null {
    let parent: string | undefined;
    if (filter.parent !== undefined) {
      const p = this.q.ref('organization', filter.parent, k);
      if (!p) return null;
      parent = p.id;
    }
    return organizationsPage(this.q, k, { classification: filter.classification, parent }, page);
  }

  /** One organization with the first page of its bodies, offices, members and chairs (during `validAt` when given). */
  organization(ref: string, k: string, validAt?: string, nested = NESTED_LIMIT): OrganizationDetail | null {
    const row = this.q.entity('organization', ref, k);
    if (!row) return null;
    const lists = {
      bodies: organizationsPage(this.q, k, { parent: row.id }, first(nested)),
      offices: officesPage(this.q, row.id, k, first(nested)),
      members: membersPage(this.q, row.id, k, validAt, first(nested)),
      chairs: chairsPage(this.q, row.id, k, validAt, first(nested)),
    };
    markCorrected(this.q, lists.members.items, k);
    markCorrected(this.q, lists.chairs.items, k);
    const [view] = markCorrected(this.q, [organizationView(this.q, row, k)], k);
    const detail: OrganizationDetail = Object.assign(view as OrganizationView & Corrected, { bodies: lists.bodies.items, offices: lists.offices.items, members: lists.members.items, chairs: lists.chairs.items });
    const more: Partial<Record<OrganizationList, Key>> = {};
    for (const [name, page] of Object.entries(lists) as [OrganizationList, Page<unknown>][]) if (page.next) more[name] = page.next;
    if (Object.keys(more).length) detail.more = more;
    return detail;
  }

  chair(ref: string, validAt: string, k: string): { organization: EntityView; chairs: ChairItem[] } | null {
    const row = this.q.ref('organization', ref, k);
    return row ? { organization: { id: row.id, key: row.key, name: row.name }, chairs: markCorrected(this.q, chairsAt(this.q, row.id, k, validAt), k) } : null;
  }

  chairs(ref: string, k: string, validAt: string | undefined, page: PageRequest): Page<ChairItem> | null {
    const row = this.q.ref('organization', ref, k);
    return row ? marked(this.q, chairsPage(this.q, row.id, k, validAt, page), k) : null;
  }

  members(ref: string, k: string, validAt: string | undefined, page: PageRequest): Page<MemberItem> | null {
    const row = this.q.ref('organization', ref, k);
    return row ? marked(this.q, membersPage(this.q, row.id, k, validAt, page), k) : null;
  }

  /** `nested`: items of each session's own lists to include (the rest: `more`). */
  sessions(org: string, k: string, validAt: string | undefined, page: PageRequest, nested = NESTED_LIMIT): Page<SessionView> | null {
    const row = this.q.ref('organization', org, k);
    if (!row) return null;
    const p = sessionsPage(this.q, organizationSessionBodies(this.q, row.id, k), k, validAt, page, nested);
    markSessions(this.q, p.items, k);
    return p;
  }

  /**
   * A list question answered as its items' JSON texts (each what JSON.stringify writes of the
   * item the method gives, without its `more`), for a read worker to hand over instead of
   * objects (read-worker.ts); `value`: the method's answer with no items (null: unknown
   * organization). Null when this question is answered as objects (ask the method itself): a
   * list not written in SQL, or a page whose items need a `more`. A page of documents may come
   * as runs of items, each several items joined by ',' (documents/queries.ts singlePage): the
   * page is `[${items.join(',')}]` either way.
   */
  itemsJson(method: string, args: readonly unknown[]): { value: Page<never> | null; items: string[] } | null {
    if (method === 'documents') {
      // Written by their keyset statements: since every row keeps `corrected_by` and adoptions
      // `earliest`, no correlated subquery runs for a row of the benchmark record.
      const [org, k, validAt, page] = args as Parameters<ReadQueries['documents']>;
      const row = this.q.ref('organization', org, k);
      if (!row) return { value: null, items: [] };
      const p = documentsPageJson(this.q, row.id, k, validAt, page);
      return { value: { items: [], next: p.next }, items: p.items };
    }
    if (method !== 'sessions') return null;
    const [org, k, validAt, page, nested] = args as Parameters<ReadQueries['sessions']>;
    const row = this.q.ref('organization', org, k);
    if (!row) return { value: null, items: [] };
    const p = sessionsPageJson(this.q, organizationSessionBodies(this.q, row.id, k), k, validAt, page, nested);
    return p ? { value: { items: [], next: p.next }, items: p.items } : null;
  }

  /** `nested`: items of the session's own lists to include (`annals replay`: all of them). */
  session(ref: string, k: string, nested = NESTED_LIMIT): SessionView | null {
    const row = this.q.ref('session', ref, k);
    const s = row ? sessionById(this.q, row.id, k, nested) : null;
    return s ? (markSessions(this.q, [s], k)[0] as SessionView) : null;
  }

  /**
   * Sessions by reference, each as `session` answers it (those not known at k left out), in the
   * order given, rendered together (~5 statements for them all instead of ~5 a session): replayTo's
   * and diff's entities (src/cli/state.ts readUnit; `annals replay`'s lines are sessions/json.ts').
   */
  sessionsByRef(refs: readonly string[], k: string, nested = NESTED_LIMIT): SessionView[] {
    const ids: string[] = [];
    for (const ref of refs) {
      const row = this.q.ref('session', ref, k);
      if (row) ids.push(row.id);
    }
    return markSessions(this.q, sessionsById(this.q, ids, k, nested), k);
  }

  /** One list recorded about a session, a page at a time (null: the session is not known at k). */
  sessionList(ref: string, list: SessionList, k: string, page: PageRequest): Page<unknown> | null {
    const row = this.q.ref('session', ref, k);
    const s = row ? sessionRow(this.q, row.id, k) : null;
    return s ? marked(this.q, sessionListPage(this.q, s, list, k, page) as Page<{ factId: string } | { id: string }>, k) : null;
  }

  documents(org: string, k: string, validAt: string | undefined, page: PageRequest): Page<DocumentItem> | null {
    const row = this.q.ref('organization', org, k);
    // `correctedBy` comes with the page (documentsPage), read from the rows.
    return row ? documentsPage(this.q, row.id, k, validAt, page) : null;
  }

  document(ref: string, k: string): (DocumentItem & Corrected) | null {
    const row = this.q.ref('document', ref, k);
    const d = row ? documentById(this.q, row.id, k) : null;
    return d ? (markCorrected(this.q, [d], k)[0] as DocumentItem & Corrected) : null;
  }

  people(k: string, q: string | undefined, page: PageRequest): Page<PersonView> {
    return peoplePage(this.q, k, q, page);
  }

  person(ref: string, k: string, validAt?: string, nested = NESTED_LIMIT): PersonDetail | null {
    const row = this.q.entity('person', ref, k);
    if (!row) return null;
    const roles = rolesPage(this.q, row.id, k, validAt, first(nested));
    const [view] = markCorrected(this.q, [personView(row)], k);
    return Object.assign(view as PersonView & Corrected, { roles: roles.items }, roles.next ? { more: { roles: roles.next } } : {});
  }

  roles(ref: string, k: string, validAt: string | undefined, page: PageRequest): Page<RoleItem> | null {
    const row = this.q.ref('person', ref, k);
    return row ? rolesPage(this.q, row.id, k, validAt, page) : null;
  }

  timeline(org: string, k: string, window: { from?: string | undefined; to?: string | undefined }, page: PageRequest): { organization: EntityView; page: Page<TimelineItem> } | null {
    const row = this.q.ref('organization', org, k);
    return row ? { organization: row, page: marked(this.q, timelinePage(this.q, withBodies(this.q, row.id, k), k, window, page), k) } : null;
  }

  /** The sessions a person attended, reported to or chaired, in the order held (null: unknown person). */
  participation(ref: string, k: string): (Participation & Corrected)[] | null {
    const row = this.q.ref('person', ref, k);
    return row ? markCorrected(this.q, participationOf(this.q, row.id, k), k) : null;
  }

  /** A fact and the corrections and retraction that name it, as known at `k` (null: not recorded by then). */
  fact(factId: string, k: string): { fact: FactRef; amendments: FactRef[] } | null {
    return factVersions(this.q, factId, k);
  }

  /** Facts recorded in (since, until], in the order (recordedAt, position), after the key `after`, at most `n` (GET /v1/changes). */
  changes(since: string, until: string, after: Key | null, n: number): ChangeRef[] {
    return changesIn(this.q, since, until, after, n);
  }

  /** The organization (id or key, known at `k`), its bodies and their offices, sessions and documents, by id; null: unknown. */
  scopeOf(org: string, k: string): string[] | null {
    const row = this.q.ref('organization', org, k);
    return row ? scopeOf(this.q, row.id, k) : null;
  }

  /** Organizations, offices and people whose name or an alias contains `text` (any script; case and accents ignored). */
  search(text: string, k: string, after: string | null, limit: number): NameHit[] {
    return searchNames(this.q, text, k, after, limit);
  }
}
