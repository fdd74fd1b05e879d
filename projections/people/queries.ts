/** People: search by name across aliases (accents and case ignored), and one person. */
import { KNOWN, parse, type EntityRow, type QueryContext } from '../query-context.js';
import { normalizeName } from '../rows.js';

export interface PersonView {
  id: string;
  key: string | null;
  name: string | null;
  aliases: string[];
  factId: string;
}

export function personView(row: EntityRow): PersonView {
  return { id: row.id, key: row.key, name: row.name, aliases: parse<string[]>(row.aliases) ?? [], factId: row.fact_id };
}

/** People whose name or an alias contains `q` (all people without `q`), ordered by name then id. */
export function searchPeople(qc: QueryContext, k: string, q: string | undefined, after: string | null, limit: number): PersonView[] {
  const pattern = q ? `%${normalizeName(q).replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = qc.all<EntityRow>(
    `SELECT * FROM entities e WHERE kind = 'person' AND ${KNOWN('e')}
       AND (@pattern IS NULL OR EXISTS (SELECT 1 FROM names n WHERE n.entity = e.id AND n.kind = 'person' AND n.name_norm LIKE @pattern ESCAPE '\\' AND n.known_from <= @k AND n.known_to > @k))
       AND (@after IS NULL OR (coalesce(name, '') || char(0) || id) > @after)
     ORDER BY coalesce(name, ''), id LIMIT @limit`,
    { k, pattern, after, limit },
  );
  return rows.map(personView);
}

export const personSortKey = (p: PersonView): string => `${p.name ?? ''}\u0000${p.id}`;
