/** Member states: starts and ends of membership, paired at query time (like appointments and departures). */
import type { Projection } from '../types.js';
import { dateColumns, json, str } from '../rows.js';

export const memberships: Projection = {
  name: 'memberships',
  version: 4,
  tables: [{ name: 'membership_changes', columns: ['organization', 'member', 'change', 'on_raw', 'on_lo', 'on_hi', 'reason', 'source'], primaryKey: 'organization, fact_id, position', indexes: ['organization, change, on_raw, fact_id', 'organization, member'] }],
  handles: ['MembershipStarted', 'MembershipEnded'],
  evolve(fact) {
    if (fact.type !== 'MembershipStarted' && fact.type !== 'MembershipEnded') return [];
    const d = fact.data;
    const change = fact.type === 'MembershipStarted' ? 'started' : 'ended';
    return [{ table: 'membership_changes', row: { organization: str(d['organization']), member: str(d['member']), change, ...dateColumns('on', d['on'] as string), reason: str(d['reason']), source: json(fact.source) } }];
  },
};
