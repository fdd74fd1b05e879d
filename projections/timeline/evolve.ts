/**
 * The timeline: one row per dated fact, with the entity it is about (`subject`) and, for
 * facts dated by their session, the session, whose days are looked up at query time.
 */
import type { FactVersion, Projection, RowWrite } from '../types.js';
import { json, str } from '../rows.js';
import { lowerBound, upperBound } from '../../events/index.js';

function row(fact: FactVersion, subject: unknown, session: unknown, from: string | null, to?: string | null): RowWrite[] {
  return [
    {
      table: 'timeline',
      row: { type: fact.type, subject: str(subject), session: str(session), date_from: from, date_to: to ?? null, lo: from ? lowerBound(from) : null, hi: from ? upperBound(to ?? from) : null, data: json(fact.data), source: json(fact.source) },
    },
  ];
}

export const timeline: Projection = {
  name: 'timeline',
  version: 3,
  // Pages read (lo, fact_id) in order from the window's first day minus the longest dated
  // interval; facts dated by their session, through the session (session, fact_id).
  tables: [{ name: 'timeline', columns: ['type', 'subject', 'session', 'date_from', 'date_to', 'lo', 'hi', 'data', 'source'], indexes: ['lo, fact_id', 'session, fact_id'], span: { group: 'type', from: 'lo', to: 'hi' } }],
  handles: ['MembershipStarted', 'MembershipEnded', 'SessionHeld', 'DocumentConsidered', 'DocumentAdopted', 'ReportDelivered', 'ChairmanshipPassed', 'OfficialAppointed', 'OfficialLeftOffice', 'DelegateAttended', 'SidelineTalksHeld'],
  evolve(fact) {
    const d = fact.data;
    const term = (k: string) => d[k] as { from: string; to?: string | null };
    switch (fact.type) {
      case 'MembershipStarted':
      case 'MembershipEnded':
        return row(fact, d['organization'], null, d['on'] as string);
      case 'SessionHeld':
        return row(fact, d['body'], fact.factId, term('held').from, term('held').to);
      case 'DocumentConsidered':
        return row(fact, d['body'], d['session'], null);
      case 'DocumentAdopted':
        return row(fact, d['body'], d['session'], d['adoptedOn'] as string);
      case 'ChairmanshipPassed':
        return row(fact, d['organization'], d['session'], term('term').from, term('term').to);
      case 'OfficialAppointed':
        return row(fact, d['office'], d['session'], term('term').from, term('term').to);
      case 'OfficialLeftOffice':
        return row(fact, d['office'], null, d['on'] as string);
      case 'ReportDelivered':
      case 'DelegateAttended':
        return row(fact, null, d['session'], null);
      case 'SidelineTalksHeld':
        return row(fact, null, d['session'], (d['on'] as string | undefined) ?? null);
      default:
        return [];
    }
  },
};
