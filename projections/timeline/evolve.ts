/**
 * The timeline: one row per fact dated by its own dates, with the entity it is about
 * (`subject`) and the session it names, if any. Facts dated by their session (attendances,
 * reports, talks without a date of their own, considered documents) have no row here: their
 * `session_items` and `considerations` rows hold the same versions and give their data back
 * (sessions/item-data.ts), and the timeline reads them there through the session, whose days
 * are looked up at query time (#19: 185,413 rows in session 31, 19,769 talks in session 32, of
 * 946,673 at 1,000,000 facts, each a copy of the fact's data and source).
 */
import { projection, type FactVersion, type RowWrite } from '../types.js';
import { json, sourceJson } from '../rows.js';
import { assertNever, lowerBound, upperBound } from '../../events/index.js';

function row(fact: FactVersion, subject: string | null | undefined, session: string | null | undefined, from: string | null | undefined, to?: string | null): RowWrite[] {
  return [
    {
      table: 'timeline',
      row: { type: fact.type, subject: subject ?? null, session: session ?? null, date_from: from ?? null, date_to: to ?? null, lo: from ? lowerBound(from) : null, hi: from ? upperBound(to ?? from) : null, data: json(fact.data), source: sourceJson(fact) },
    },
  ];
}

export const timeline = projection({
  name: 'timeline',
  version: 7,
  // Pages read (lo, fact_id) in order from the window's first day minus the longest dated
  // interval (partial: every row has lo since the facts dated by their session left the table,
  // #19; the `(session, fact_id) WHERE date_from IS NULL` index they needed went with them).
  // The index holds hi and known_from too (#12, session 31): a page's rows that end before the
  // window or are not yet known at k (the longest interval, ~1,093 days, read before the
  // window's first day: 10,000-55,000 rows) are passed over in the index, not each a read of
  // the table's row (a page's statement ~85 -> ~4 ms of CPU at 1,000,000 facts; the index 33 ->
  // 59 MB). Not known_to: closing a version leaves the index alone.
  tables: [{ name: 'timeline', columns: ['type', 'subject', 'session', 'date_from', 'date_to', 'lo', 'hi', 'data', 'source'], indexes: ['lo, fact_id, hi, known_from WHERE lo IS NOT NULL'], span: { group: 'type', from: 'lo', to: 'hi' } }],
  handles: ['MembershipStarted', 'MembershipEnded', 'SessionHeld', 'DocumentAdopted', 'ChairmanshipPassed', 'OfficialAppointed', 'OfficialLeftOffice', 'SidelineTalksHeld'],
  evolve(fact) {
    switch (fact.type) {
      case 'MembershipStarted':
      case 'MembershipEnded':
        return row(fact, fact.data.organization, null, fact.data.on);
      case 'SessionHeld':
        return row(fact, fact.data.body, fact.factId, fact.data.held.from, fact.data.held.to);
      case 'DocumentAdopted':
        return row(fact, fact.data.body, fact.data.session, fact.data.adoptedOn);
      case 'ChairmanshipPassed':
        return row(fact, fact.data.organization, fact.data.session, fact.data.term.from, fact.data.term.to);
      case 'OfficialAppointed':
        return row(fact, fact.data.office, fact.data.session, fact.data.term.from, fact.data.term.to);
      case 'OfficialLeftOffice':
        return row(fact, fact.data.office, null, fact.data.on);
      case 'SidelineTalksHeld':
        // Dated by its session (no `on`): read from its session item.
        return fact.data.on === undefined ? [] : row(fact, null, fact.data.session, fact.data.on);
      default:
        return assertNever(fact);
    }
  },
});
