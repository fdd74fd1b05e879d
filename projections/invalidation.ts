/**
 * Which cached successions (ReadQueries' cache of the current record) a batch of applied
 * events can change: the offices the events name, or 'all' when an event may change any of
 * them (a correction or retraction, whose target could be anything, or a type this does not
 * know). Events that cannot touch an office's succession change nothing.
 */
import { BOOKKEEPING_TYPES, isUlid } from '../events/index.js';
import type { LogEvent } from './db.js';

/** Types whose events never change a cached succession (new entities nobody holds yet, other read models). */
const UNRELATED = new Set<string>([
  'OrganizationRegistered',
  'PersonRegistered',
  'OfficeEstablished',
  'MembershipStarted',
  'MembershipEnded',
  'ChairmanshipPassed',
  'DocumentConsidered',
  'DocumentAdopted',
  'SidelineTalksHeld',
  // Bookkeeping (key reservations): not facts about the world.
  ...BOOKKEEPING_TYPES,
]);

export function officesTouched(events: readonly LogEvent[]): Set<string> | 'all' {
  const offices = new Set<string>();
  for (const e of events) {
    if (UNRELATED.has(e.type)) continue;
    const data = (e.data ?? {}) as Record<string, unknown>;
    let office: unknown;
    switch (e.type) {
      case 'OfficialAppointed':
      case 'OfficialLeftOffice':
      case 'DelegateAttended':
      case 'ReportDelivered':
        office = data['office'];
        break;
      case 'SessionHeld':
        office = (data['chairedBy'] as { office?: unknown } | undefined)?.office;
        break;
      default:
        // Corrections, retractions, anything new: could be any office.
        return 'all';
    }
    if (office === undefined) continue;
    if (typeof office !== 'string' || !isUlid(office)) return 'all';
    offices.add(office);
  }
  return offices;
}
