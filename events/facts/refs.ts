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

/** Every entity reference present in `data` of a fact of this type (optionally only those of one kind). */
export function refSites(type: FactType, data: unknown, only?: EntityKind): RefSite[] {
  const out: RefSite[] = [];
  for (const [spec, kind] of REFS.get(type) ?? []) {
    if (only !== undefined && kind !== only) continue;
    const walk = (node: unknown, rest: readonly string[], path: (string | number)[]): void => {
      const [head, ...tail] = rest;
      if (head === undefined) {
        if (typeof node === 'string') out.push({ path, kind, value: node });
      } else if (head === '*') {
        if (Array.isArray(node)) node.forEach((item: unknown, i) => walk(item, tail, [...path, i]));
      } else if (node !== null && typeof node === 'object') {
        walk((node as Readonly<Record<string, unknown>>)[head], tail, [...path, head]);
      }
    };
    walk(data, spec.split('.'), []);
  }
  return out;
}

/** The fact types that name an entity of this kind somewhere in their data, as a list the compiler knows as TypesNaming<K>. */
export const typesNaming = <K extends EntityKind>(kind: K): TypesNaming<K>[] =>
  FACT_TYPES.filter((type): type is TypesNaming<K> => (REFS.get(type) ?? []).some(([, k]) => k === kind));
