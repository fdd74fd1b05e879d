/**
 * Where each fact type names an entity, and which kind of entity it must be. The recorder
 * resolves every one of these (a key or an id) to the entity's ULID before deciding, so
 * stored facts name entities by id only and projections never resolve keys.
 */
import type { EntityKind, FactType } from '../../events/index.js';

type RefKind = Exclude<EntityKind, 'talks'>;

/** `participants.*.person`: `*` walks an array. */
export const REFS: Record<FactType, ReadonlyArray<readonly [string, RefKind]>> = {
  OrganizationRegistered: [['parent', 'organization']],
  PersonRegistered: [],
  OfficeEstablished: [['organization', 'organization']],
  MembershipStarted: [['organization', 'organization'], ['member', 'organization']],
  MembershipEnded: [['organization', 'organization'], ['member', 'organization']],
  SessionHeld: [['body', 'organization'], ['place.country', 'organization'], ['chairedBy.person', 'person'], ['chairedBy.office', 'office']],
  DocumentConsidered: [['body', 'organization'], ['session', 'session']],
  DocumentAdopted: [['document', 'document'], ['body', 'organization'], ['session', 'session']],
  ReportDelivered: [['session', 'session'], ['person', 'person'], ['office', 'office']],
  ChairmanshipPassed: [['organization', 'organization'], ['chair', 'organization'], ['session', 'session'], ['decidedBy', 'organization']],
  OfficialAppointed: [['office', 'office'], ['person', 'person'], ['session', 'session'], ['appointedBy', 'organization']],
  OfficialLeftOffice: [['office', 'office'], ['person', 'person']],
  DelegateAttended: [['session', 'session'], ['person', 'person'], ['representing', 'organization'], ['office', 'office']],
  SidelineTalksHeld: [['session', 'session'], ['participants.*.person', 'person'], ['participants.*.organization', 'organization']],
  FactCorrected: [],
  FactRetracted: [],
};

export interface RefSite {
  /** The path inside `data`, e.g. ['participants', 0, 'person']. */
  readonly path: (string | number)[];
  readonly kind: RefKind;
  readonly value: string;
}

/** Every entity reference present in `data`. */
export function refSites(type: FactType, data: Record<string, unknown>): RefSite[] {
  const out: RefSite[] = [];
  for (const [spec, kind] of REFS[type]) {
    const walk = (node: unknown, rest: string[], path: (string | number)[]): void => {
      if (rest.length === 0) {
        if (typeof node === 'string') out.push({ path, kind, value: node });
        return;
      }
      const [head, ...tail] = rest as [string, ...string[]];
      if (head === '*') {
        if (Array.isArray(node)) node.forEach((item, i) => walk(item, tail, [...path, i]));
      } else if (node !== null && typeof node === 'object') {
        walk((node as Record<string, unknown>)[head], tail, [...path, head]);
      }
    };
    walk(data, spec.split('.'), []);
  }
  return out;
}

/** A copy of `data` with the value at each site replaced (structure shared where untouched). */
export function replaceRefs(data: Record<string, unknown>, replacements: ReadonlyArray<{ path: (string | number)[]; id: string }>): Record<string, unknown> {
  const root: Record<string, unknown> = { ...data };
  for (const { path, id } of replacements) {
    let node: Record<string | number, unknown> = root;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] as string | number;
      const child = node[key] as Record<string | number, unknown>;
      const copy = (Array.isArray(child) ? [...child] : { ...child }) as Record<string | number, unknown>;
      node[key] = copy;
      node = copy;
    }
    node[path[path.length - 1] as string | number] = id;
  }
  return root;
}
