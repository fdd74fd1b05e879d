/**
 * Offices and terms: appointments, departures (which cut an appointment at query time, so a
 * correction or retraction of either is seen at the right knownAt) and attestations, the
 * capacities named in sessions (chair, delegate, report) whose days come from the session
 * version known at the same knownAt.
 */
import { projection } from '../types.js';
import { assertNever, typesNaming } from '../../events/index.js';
import { TERM_COLUMNS, bool, dateColumns, str, termColumns, sourceJson } from '../rows.js';

export const offices = projection({
  name: 'offices',
  version: 4,
  tables: [
    // A rowid table: `terms` (terms-index.ts, the terms as departures cut them, with their
    // temporal index) points at its rows. (office, person): what the cuts are made from.
    { name: 'appointments', columns: ['office', 'person', ...TERM_COLUMNS, 'acting', 'session', 'appointed_by', 'source'], streamKey: { column: 'office', kind: 'office' }, indexes: ['office, person'] },
    { name: 'departures', columns: ['office', 'person', 'on_raw', 'on_lo', 'on_hi', 'reason', 'source'], primaryKey: 'office, fact_id, position', streamKey: { column: 'office', kind: 'office' }, indexes: [] },
    // Valid on the days of the session, as known at the same knownAt: the temporal index covers the days of every version of it.
    { name: 'attestations', columns: ['office', 'person', 'session', 'capacity', 'source'], temporal: { entity: 'office', daysFrom: { table: 'sessions', id: 'id', ref: 'session' } }, streamKey: { column: 'session', kind: 'session' }, indexes: ['office', 'session', 'person'] },
  ],
  // Every fact that names an office: appointments and departures, and capacities at sessions.
  handles: typesNaming('office'),
  evolve(fact) {
    const source = sourceJson(fact);
    switch (fact.type) {
      case 'OfficialAppointed': {
        const d = fact.data;
        return [{ table: 'appointments', row: { office: d.office, person: d.person, ...termColumns(d.term), acting: bool(d.acting), session: str(d.session), appointed_by: str(d.appointedBy), source } }];
      }
      case 'OfficialLeftOffice': {
        const d = fact.data;
        return [{ table: 'departures', row: { office: d.office, person: d.person, ...dateColumns('on', d.on), reason: str(d.reason), source } }];
      }
      case 'SessionHeld': {
        const chair = fact.data.chairedBy;
        if (!chair?.office) return [];
        return [{ table: 'attestations', row: { office: chair.office, person: chair.person, session: fact.factId, capacity: 'chair', source } }];
      }
      case 'DelegateAttended':
      case 'ReportDelivered': {
        const d = fact.data;
        if (d.office === undefined) return [];
        return [{ table: 'attestations', row: { office: d.office, person: d.person, session: d.session, capacity: fact.type === 'DelegateAttended' ? 'delegate' : 'report', source } }];
      }
      default:
        return assertNever(fact);
    }
  },
});
