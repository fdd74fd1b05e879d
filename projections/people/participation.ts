/**
 * The sessions a person took part in, as known at `knownAt`: attended (as a delegate), reported
 * to, or chaired; in the order they were held. Talks on the sidelines are shown with their
 * session, not here (their participants are stored as a list).
 */
import { KNOWN, viewer, type EntityView, type QueryContext } from '../query-context.js';
import { cmp } from '../offices/succession.js';

export interface Participation {
  session: EntityView | null;
  body: EntityView | null;
  held: { from: string; to: string | null };
  role: 'attended' | 'reported' | 'chaired';
  office: EntityView | null;
  representing: EntityView | null;
  subject: string | null;
  factId: string;
}

interface Row {
  fact_id: string;
  session: string;
  item: 'attendee' | 'report' | 'chair';
  office: string | null;
  representing: string | null;
  subject: string | null;
  body: string;
  from_raw: string;
  to_raw: string | null;
  s0: string;
}

export function participationOf(q: QueryContext, person: string, k: string): Participation[] {
  const rows = q.all<Row>(
    `SELECT i.fact_id, i.session, i.item, i.office, i.representing, i.subject, s.body, s.from_raw, s.to_raw, s.s0
       FROM session_items i JOIN sessions s ON s.id = i.session AND ${KNOWN('s')}
      WHERE i.person = @person AND i.item IN ('attendee', 'report') AND ${KNOWN('i')}
     UNION ALL
     SELECT s.fact_id, s.id, 'chair', s.chair_office, NULL, NULL, s.body, s.from_raw, s.to_raw, s.s0
       FROM sessions s WHERE s.chair_person = @person AND ${KNOWN('s')}`,
    { person, k },
  );
  const v = viewer(q, k);
  return rows
    .sort((a, b) => cmp(a.s0, b.s0) || cmp(a.session, b.session) || cmp(a.fact_id, b.fact_id))
    .map((r) => ({
      session: v(r.session),
      body: v(r.body),
      held: { from: r.from_raw, to: r.to_raw },
      role: r.item === 'attendee' ? 'attended' : r.item === 'report' ? 'reported' : 'chaired',
      office: v(r.office),
      representing: v(r.representing),
      subject: r.subject,
      factId: r.fact_id,
    }));
}
