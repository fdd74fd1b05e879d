/**
 * Entities: organizations (states and bodies included), people, offices, sessions and
 * documents, each a version of the fact that brought it into the record, plus one `names`
 * row per name and alias for search. The factId of that fact is the entity's id.
 */
import { projection, type FactVersion, type Row, type RowWrite } from '../types.js';
import { FACT_TYPES, assertNever, isCreatingType } from '../../events/index.js';
import { bool, json, normalizeName, str } from '../rows.js';

function entity(kind: string, fact: FactVersion, row: Row, names: readonly string[]): RowWrite[] {
  const id = fact.factId;
  const out: RowWrite[] = [{ table: 'entities', row: { kind, id, key: null, name: null, parent: null, classification: null, multiple: 0, aliases: null, detail: null, ...row } }];
  for (const n of new Set(names.map(normalizeName))) out.push({ table: 'names', row: { entity: id, kind, name_norm: n } });
  return out;
}

export const entities = projection({
  name: 'entities',
  version: 5,
  tables: [
    // (id, known_from, …, name): an entity's view in an answer from the index alone.
    // (kind, name, id), (kind, parent, name, id): pages of organizations, offices, people by name.
    // (key, …): an entity by its key, so only the entities that have one (30,000 of 148,000 at 1,000,000 facts).
    { name: 'entities', columns: ['kind', 'id', 'key', 'name', 'parent', 'classification', 'multiple', 'aliases', 'detail'], primaryKey: 'id, position', factKey: 'id', indexes: ['key, known_from WHERE key IS NOT NULL', 'kind, parent, name, id WHERE parent IS NOT NULL', 'kind, name, id', 'id, known_from, known_to, kind, key, name'] },
    { name: 'names', columns: ['entity', 'kind', 'name_norm'], factKey: 'entity', indexes: ['entity, kind'] },
  ],
  // The facts that create an entity (events/facts/: their own stream of an entity kind).
  handles: FACT_TYPES.filter(isCreatingType),
  evolve(fact) {
    switch (fact.type) {
      case 'OrganizationRegistered': {
        const d = fact.data;
        const aliases = d.aliases ?? [];
        return entity('organization', fact, { key: d.key, name: d.name, parent: str(d.parent), classification: d.classification, aliases: json(aliases) }, [d.name, ...aliases]);
      }
      case 'PersonRegistered': {
        const d = fact.data;
        const aliases = d.aliases ?? [];
        return entity('person', fact, { key: str(d.key), name: d.name, aliases: json(aliases) }, [d.name, ...aliases]);
      }
      case 'OfficeEstablished': {
        const d = fact.data;
        return entity('office', fact, { key: d.key, name: d.title, parent: d.organization, multiple: bool(d.multipleHolders) }, [d.title]);
      }
      case 'SessionHeld': {
        const d = fact.data;
        return entity('session', fact, { key: str(d.key), name: str(d.title), parent: d.body }, d.title ? [d.title] : []);
      }
      case 'DocumentConsidered': {
        const d = fact.data;
        return entity('document', fact, { key: str(d.key), name: d.title, parent: d.body, detail: json({ kind: d.kind, period: d.period ?? null, summary: d.summary ?? null }) }, [d.title]);
      }
      case 'DocumentAdopted': {
        const d = fact.data;
        // The adoption of a document already recorded creates nothing; its schema then requires title and kind.
        if (d.document !== undefined || d.title === undefined) return [];
        return entity('document', fact, { key: str(d.key), name: d.title, parent: d.body, detail: json({ kind: d.kind, period: d.period ?? null, summary: d.summary ?? null }) }, [d.title]);
      }
      default:
        return assertNever(fact);
    }
  },
});
