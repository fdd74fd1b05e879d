/**
 * Where a fact names an entity, read from the catalogue's `refs`: every reference present in
 * a fact's data with the kind of entity it must name. The recorder resolves each one (a key
 * or an id) to the entity's ULID before deciding, so stored facts name entities by id only;
 * the read side finds the entities a stored fact names the same way.
 */
import type { EntityKind } from '../streams.js';
import { ENTRIES, FACT_TYPES, type FactType, type TypesNaming } from './catalogue.js';

/** Each fact type's references, `[path, kind]`. `participants.*.person`: `*` walks an array. */
export const REFS: ReadonlyMap<FactType, ReadonlyArray<readonly [string, EntityKind]>> = new Map(
  FACT_TYPES.map((type) => [type, Object.entries(ENTRIES[type].refs).flatMap(([path, kind]) => (kind ? [[path, kind] as const] : []))]),
);

export interface RefSite {
  /** The path inside `data`, e.g. ['participants', 0, 'person']. */
  readonly path: (string | number)[];
  readonly kind: EntityKind;
  readonly value: string;
}

/** Each fact type's references as steps to walk (`participants.*.person` split once, here). */
const WALKS: ReadonlyMap<FactType, ReadonlyArray<{ readonly steps: readonly string[]; readonly kind: EntityKind }>> = new Map(
  [...REFS].map(([type, refs]) => [type, refs.map(([path, kind]) => ({ steps: path.split('.'), kind }))]),
);

/**
 * Every entity reference present in `data` of a fact of this type (optionally only those of
 * one kind). Called for every fact recorded and every one applied, so it walks without a
 * closure or a split path per call.
 */
export function refSites(type: FactType, data: unknown, only?: EntityKind): RefSite[] {
  const out: RefSite[] = [];
  for (const { steps, kind } of WALKS.get(type) ?? []) {
    if (only === undefined || kind === only) collect(out, kind, steps, 0, data, []);
  }
  return out;
}

function collect(out: RefSite[], kind: EntityKind, steps: readonly string[], at: number, node: unknown, path: (string | number)[]): void {
  const head = steps[at];
  if (head === undefined) {
    if (typeof node === 'string') out.push({ path, kind, value: node });
  } else if (head === '*') {
    if (Array.isArray(node)) for (let i = 0; i < node.length; i++) collect(out, kind, steps, at + 1, node[i] as unknown, [...path, i]);
  } else if (node !== null && typeof node === 'object') {
    collect(out, kind, steps, at + 1, (node as Readonly<Record<string, unknown>>)[head], [...path, head]);
  }
}

/** The fact types that name an entity of this kind somewhere in their data, as a list the compiler knows as TypesNaming<K>. */
export const typesNaming = <K extends EntityKind>(kind: K): TypesNaming<K>[] =>
  FACT_TYPES.filter((type): type is TypesNaming<K> => (REFS.get(type) ?? []).some(([, k]) => k === kind));
