/**
 * Which cached successions (ReadQueries' cache of the current record) a batch of applied
 * events can change: the offices the events name (the catalogue says where a fact names an
 * office: events/facts/), or 'all' when an event may change any of them (a correction or
 * retraction, whose target could be anything, or a type this does not know). Events that
 * name no office cannot touch an office's succession; bookkeeping changes nothing.
 */
import { BOOKKEEPING_TYPES, isAmendmentType, isFactType, isUlid, refSites } from '../events/index.js';
import type { LogEvent } from './db.js';

const BOOKKEEPING: ReadonlySet<string> = new Set(BOOKKEEPING_TYPES);

export function officesTouched(events: readonly LogEvent[]): Set<string> | 'all' {
  const offices = new Set<string>();
  for (const e of events) {
    if (BOOKKEEPING.has(e.type)) continue;
    // Corrections, retractions, anything new: could be any office.
    if (!isFactType(e.type) || isAmendmentType(e.type)) return 'all';
    for (const site of refSites(e.type, e.data, 'office')) {
      if (!isUlid(site.value)) return 'all';
      offices.add(site.value);
    }
  }
  return offices;
}
