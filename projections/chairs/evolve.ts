/** Chairmanships: which state chairs an organization for which term. */
import { projection } from '../types.js';
import { TERM_COLUMNS, json, str, termColumns, sourceJson } from '../rows.js';

export const chairs = projection({
  name: 'chairs',
  version: 3,
  tables: [{ name: 'chairmanships', columns: ['organization', 'chair', ...TERM_COLUMNS, 'session', 'decided_by', 'motto', 'priorities', 'source'], primaryKey: 'organization, fact_id, position', streamKey: { column: 'organization', kind: 'organization' }, indexes: ['organization, s0, s1, fact_id'] }],
  handles: ['ChairmanshipPassed'],
  evolve(fact) {
    const d = fact.data;
    return [{ table: 'chairmanships', row: { organization: d.organization, chair: d.chair, ...termColumns(d.term), session: str(d.session), decided_by: str(d.decidedBy), motto: str(d.motto), priorities: json(d.priorities), source: sourceJson(fact) } }];
  },
});
