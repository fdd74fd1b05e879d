/**
 * The timeline of an organization: dated facts about it, its bodies, their offices and
 * sessions, in valid-time order. Facts dated by their session take the session's days as
 * known at `knownAt`.
 */
import { lowerBound, upperBound, type Source } from '../../events/index.js';
import { KNOWN, parse, type QueryContext } from '../query-context.js';
import { cmp } from '../offices/succession.js';

export interface TimelineItem {
  factId: string;
  type: string;
  date: { from: string; to: string | null };
  data: Record<string, unknown>;
  source: Source | null;
}

interface Row {
  fact_id: string;
  type: string;
  date_from: string | null;
  date_to: string | null;
  lo: string | null;
  hi: string | null;
  data: string;
  source: string | null;
  s_from: string | null;
  s_to: string | null;
}

export function timelineOf(q: QueryContext, subjects: readonly string[], k: string, from?: string, to?: string): TimelineItem[] {
  const p = { subjects: JSON.stringify(subjects), k };
  const sessionIds = q.all<{ id: string }>(`SELECT id FROM sessions WHERE body IN (SELECT value FROM json_each(@subjects)) AND ${KNOWN()}`, p).map((r) => r.id);
  const rows = q.all<Row>(
    `SELECT t.fact_id, t.type, t.date_from, t.date_to, t.lo, t.hi, t.data, t.source, s.from_raw AS s_from, s.to_raw AS s_to
       FROM timeline t LEFT JOIN sessions s ON s.id = t.session AND ${KNOWN('s')}
      WHERE (t.subject IN (SELECT value FROM json_each(@subjects)) OR t.session IN (SELECT value FROM json_each(@sessions))) AND ${KNOWN('t')}`,
    { ...p, sessions: JSON.stringify(sessionIds) },
  );
  const q0 = from ? lowerBound(from) : '';
  const q1 = to ? upperBound(to) : '\uffff';
  const out: (TimelineItem & { lo: string })[] = [];
  for (const r of rows) {
    const dFrom = r.date_from ?? r.s_from;
    if (!dFrom) continue;
    const dTo = r.date_from ? r.date_to : (r.s_to ?? null);
    const lo = lowerBound(dFrom);
    const hi = upperBound(dTo ?? dFrom);
    // Possibly within [from, to].
    if (lo > q1 || hi < q0) continue;
    out.push({ factId: r.fact_id, type: r.type, date: { from: dFrom, to: dTo }, data: JSON.parse(r.data) as Record<string, unknown>, source: parse<Source>(r.source), lo });
  }
  return out.sort((a, b) => cmp(a.lo, b.lo) || cmp(a.factId, b.factId)).map(({ lo: _lo, ...item }) => item);
}
