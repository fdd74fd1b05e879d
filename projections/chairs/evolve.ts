/** Chairmanships: which state chairs an organization for which term. */
import type { Projection } from '../types.js';
import { TERM_COLUMNS, json, str, termColumns, type TermLike } from '../rows.js';

export const chairs: Projection = {
  name: 'chairs',
  version: 3,
  tables: [{ name: 'chairmanships', columns: ['organization', 'chair', ...TERM_COLUMNS, 'session', 'decided_by', 'motto', 'priorities', 'source'], primaryKey: 'organization, fact_id, position', indexes: ['organization, s0, s1, fact_id'] }],
  handles: ['ChairmanshipPassed'],
  evolve(fact) {
    if (fact.type !== 'ChairmanshipPassed') return [];
    const d = fact.data;
    return [{ table: 'chairmanships', row: { organization: str(d['organization']), chair: str(d['chair']), ...termColumns(d['term'] as TermLike), session: str(d['session']), decided_by: str(d['decidedBy']), motto: str(d['motto']), priorities: json(d['priorities']), source: json(fact.source) } }];
  },
};
