/**
 * Documents: adoptions (with the period of effect) and considerations. The document itself
 * is an entity (entities/); an adoption of an existing document points at it.
 */
import { projection } from '../types.js';
import { assertNever, typesIn } from '../../events/index.js';
import { dateColumns, json, str, termColumns, sourceJson } from '../rows.js';
import { ITEM_COLUMNS } from './stored.js';

/**
 * adoptions' (session, document, …) index: besides its key, known_from, known_to and position,
 * `earliest`, the stored item (ITEM_COLUMNS) and the columns documentFields writes
 * (sessions/json.ts ADOPTION), in that order: a page of sessions' walk of a session's adoptions
 * reads no row of the table (SQLite's covering index).
 */
export const SESSION_ADOPTIONS = `session, document, known_from, known_to, position, earliest, ${ITEM_COLUMNS.join(', ')}, body, from_raw, to_raw, adopted_raw, period, summary`;

export const documents = projection({
  name: 'documents',
  version: 9,
  tables: [
    // Pages of an organization's documents read (body, s0, document) in order; in force on a
    // day: the open-ended ones through (body, e1, …), the others from the day minus the body's span;
    // (body, known_from, …): the first and last time an adoption of a body was known, one seek each,
    // and (index 4, read INDEXED BY) the few adoptions of a body known at an early k (queries.ts documentBodies).
    // item_head, item_tail, item_to: the item a page writes, stored at the insert (stored.ts);
    // (document, …) and (session, document, …) find the rows an entity's closed version touches.
    // (session, document, …) holds every column a page of sessions reads of a session's
    // adoptions (sessions/json.ts documents(): its stored items included), so that page reads
    // them from one place of the index a session, not from as many places of the table as it has
    // documents (~25 a page, adopted at different times: rows far apart; documents@9, s40-st).
    { name: 'adoptions', columns: ['document', 'body', 'session', 'adopted_raw', 'adopted_lo', 'adopted_hi', 'from_raw', 'to_raw', 's0', 's1', 'e0', 'e1', 'period', 'summary', 'source'], streamKey: { column: 'document', kind: 'document' }, indexes: ['document, known_from, known_to, position', 'body, s0, document, e1, known_from, known_to', 'body, e1, s0, document, known_from, known_to', SESSION_ADOPTIONS, 'body, known_from, known_to, e1, s0, document, earliest'], span: { group: 'body' }, first: 'document', stored: ITEM_COLUMNS },
    // data: the fact's data as recorded (the table has no columns for its title, kind, period
    // and summary to give it back from): the timeline reads considered documents from here
    // through (session, document) (#19: no timeline row of their own).
    { name: 'considerations', columns: ['document', 'body', 'session', 'source', 'data'], factKey: 'document', indexes: ['document, known_from', 'body, document', 'session, document'] },
  ],
  handles: typesIn('document'),
  evolve(fact) {
    const source = sourceJson(fact);
    switch (fact.type) {
      case 'DocumentConsidered': {
        const d = fact.data;
        return [{ table: 'considerations', row: { document: fact.factId, body: d.body, session: d.session, source, data: json(d) } }];
      }
      case 'DocumentAdopted': {
        const d = fact.data;
        // No recorded effect: in force from the adoption, open.
        const effective = d.effective ?? { from: d.adoptedOn, to: null };
        return [
          {
            table: 'adoptions',
            row: { document: d.document ?? fact.factId, body: d.body, session: str(d.session), ...dateColumns('adopted', d.adoptedOn), ...termColumns(effective), to_raw: effective.to ?? null, period: json(d.period), summary: str(d.summary), source },
          },
        ];
      }
      default:
        return assertNever(fact);
    }
  },
});
