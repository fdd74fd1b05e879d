/**
 * Entities: organizations (states and bodies included), people, offices, sessions and
 * documents, each a version of the fact that brought it into the record, plus one `names`
 * row per name and alias for search. The factId of that fact is the entity's id.
 */
import type { FactVersion, Projection, Row, RowWrite } from '../types.js';
import { FACT_TYPES, createdKind } from '../../events/index.js';
import { bool, json, normalizeName, str } from '../rows.js';

function entity(kind: string, fact: FactVersion, row: Row, names: readonly string[]): RowWrite[] {
  const id = fact.factId;
  const out: RowWrite[] = [{ table: 'entities', row: { kind, id, key: null, name: null, parent: null, classification: null, multiple: 0, aliases: null, detail: null, ...row } }];
  for (const n of new Set(names.map(normalizeName))) out.push({ table: 'names', row: { entity: id, kind, name_norm: n } });
  return out;
}

export const entities: Projection = {
  name: 'entities',
  version: 4,
  tables: [
    // (id, known_from, …, name): an entity's view in an answer from the index alone.
    // (kind, name, id), (kind, parent, name, id): pages of organizations, offices, people by name.
    { name: 'entities', columns: ['kind', 'id', 'key', 'name', 'parent', 'classification', 'multiple', 'aliases', 'detail'], primaryKey: 'id, position', factKey: 'id', indexes: ['key, known_from', 'kind, parent, name, id', 'kind, name, id', 'id, known_from, known_to, kind, key, name'] },
    { name: 'names', columns: ['entity', 'kind', 'name_norm'], factKey: 'entity', indexes: ['entity, kind'] },
  ],
  // The facts that create an entity (events/facts/: their own stream of an entity kind).
  handles: FACT_TYPES.filter((type) => createdKind(type) !== undefined),
  evolve(fact) {
    const d = fact.data;
    switch (fact.type) {
      case 'OrganizationRegistered': {
        const aliases = (d['aliases'] as string[] | undefined) ?? [];
        return entity('organization', fact, { key: str(d['key']), name: str(d['name']), parent: str(d['parent']), classification: str(d['classification']) ?? 'organization', aliases: json(aliases) }, [d['name'] as string, ...aliases]);
      }
      case 'PersonRegistered': {
        const aliases = (d['aliases'] as string[] | undefined) ?? [];
        return entity('person', fact, { key: str(d['key']), name: str(d['name']), aliases: json(aliases) }, [d['name'] as string, ...aliases]);
      }
      case 'OfficeEstablished':
        return entity('office', fact, { key: str(d['key']), name: str(d['title']), parent: str(d['organization']), multiple: bool(d['multipleHolders']) }, [d['title'] as string]);
      case 'SessionHeld':
        return entity('session', fact, { key: str(d['key']), name: str(d['title']), parent: str(d['body']) }, d['title'] ? [d['title'] as string] : []);
      case 'DocumentConsidered':
        return entity('document', fact, { key: str(d['key']), name: str(d['title']), parent: str(d['body']), detail: json({ kind: d['kind'], period: d['period'] ?? null, summary: d['summary'] ?? null }) }, [d['title'] as string]);
      case 'DocumentAdopted':
        if (d['document'] !== undefined) return [];
        return entity('document', fact, { key: str(d['key']), name: str(d['title']), parent: str(d['body']), detail: json({ kind: d['kind'], period: d['period'] ?? null, summary: d['summary'] ?? null }) }, [d['title'] as string]);
      default:
        return [];
    }
  },
};
