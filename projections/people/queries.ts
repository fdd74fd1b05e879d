/** People: search by name across aliases (accents and case ignored), and one person. */
import { bind, KNOWN, afterParams, mergePage, parse, type EntityRow, type Key, type Page, type PageRequest, type QueryContext } from '../query-context.js';
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

export const personKey = (p: PersonView): Key => [p.name ?? '', p.id];

/** People whose name or an alias contains `q` (all people without `q`), by name then id, a page at a time. */
export function peoplePage(qc: QueryContext, k: string, q: string | undefined, page: PageRequest): Page<PersonView> {
  const pattern = q ? `%${normalizeName(q).replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = qc.all<EntityRow>(
    `SELECT * FROM entities e WHERE kind = 'person' AND ${KNOWN('e')} AND (name, id) > (@a0, @a1)
       ${pattern === null ? '' : `AND EXISTS (SELECT 1 FROM names n WHERE n.entity = e.id AND n.kind = 'person' AND n.name_norm LIKE +@pattern ESCAPE '\\' AND ${KNOWN('n')})`}
     ORDER BY name, id LIMIT +@n`,
    bind({ k, pattern, n: page.limit + 1 }, afterParams(page.after, 2)),
  );
  return mergePage([rows.map(personView)], personKey, page.limit);
}
