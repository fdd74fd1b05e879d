/**
 * Search across organizations (states and bodies included), offices, people and documents by
 * name and alias, in any script: the text is normalized as names are stored (rows.ts
 * `normalizeName`: marks stripped, case folded), so "жапаров", "JAPAROV" and "Japarov" all
 * find Sadyr Japarov; an exact key (`csto`) finds its entity too.
 */
import { KNOWN, parse, viewer, type EntityView, type QueryContext } from '../query-context.js';
import { normalizeName } from '../rows.js';

export type SearchKind = 'organization' | 'office' | 'person' | 'document';

export interface NameHit {
  kind: SearchKind;
  id: string;
  key: string | null;
  name: string | null;
  aliases: string[];
  classification: string | null;
  /** The organization an office belongs to, or a body's parent. */
  parent: EntityView | null;
}

interface Row {
  kind: SearchKind;
  id: string;
  key: string | null;
  name: string | null;
  aliases: string | null;
  classification: string | null;
  parent: string | null;
}

/** The order of hits, and the cursor: name, then id. */
export const hitSortKey = (h: Pick<NameHit, 'name' | 'id'>): string => `${h.name ?? ''}\u0000${h.id}`;

/** Hits ordered by name then id, after the cursor `after` (a hitSortKey), at most `limit` (-1: all). */
export function searchNames(q: QueryContext, text: string, k: string, after: string | null, limit: number): NameHit[] {
  const pattern = `%${normalizeName(text.trim()).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = q.all<Row>(
    `SELECT e.kind, e.id, e.key, e.name, e.aliases, e.classification, e.parent FROM entities e
      WHERE e.kind IN ('organization', 'office', 'person', 'document') AND ${KNOWN('e')}
        AND (e.key = @exact OR e.id IN (SELECT n.entity FROM names n WHERE n.name_norm LIKE +@pattern ESCAPE '\\' AND n.known_from <= @k AND n.known_to > @k))
        AND (@after IS NULL OR (coalesce(e.name, '') || char(0) || e.id) > @after)
      ORDER BY coalesce(e.name, ''), e.id LIMIT +@limit`,
    { exact: text.trim(), pattern, k, after, limit },
  );
  const v = viewer(q, k);
  return rows.map((r) => ({ kind: r.kind, id: r.id, key: r.key, name: r.name, aliases: parse<string[]>(r.aliases) ?? [], classification: r.kind === 'organization' ? r.classification : null, parent: v(r.parent) }));
}
