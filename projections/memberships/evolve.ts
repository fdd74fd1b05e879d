/** Member states: starts and ends of membership, paired at query time (like appointments and departures). */
import { projection } from '../types.js';
import { dateColumns, str, sourceJson } from '../rows.js';

/** The `change` column of each type handled (a type added to `handles` needs its entry here). */
const CHANGE = { MembershipStarted: 'started', MembershipEnded: 'ended' } as const;

export const memberships = projection({
  name: 'memberships',
  version: 4,
  tables: [{ name: 'membership_changes', columns: ['organization', 'member', 'change', 'on_raw', 'on_lo', 'on_hi', 'reason', 'source'], primaryKey: 'organization, fact_id, position', streamKey: { column: 'organization', kind: 'organization' }, indexes: ['organization, change, on_raw, fact_id', 'organization, member'] }],
  handles: ['MembershipStarted', 'MembershipEnded'],
  evolve(fact) {
    const d = fact.data;
    return [{ table: 'membership_changes', row: { organization: d.organization, member: d.member, change: CHANGE[fact.type], ...dateColumns('on', d.on), reason: str(d.reason), source: sourceJson(fact) } }];
  },
});
