/**
 * A session item's fact data as its `session_items` columns give it back (#19: attendances,
 * reports and talks dated by their session have no `timeline` row of their own; the timeline
 * reads them from `session_items`). The fields in the order of the fact's schema
 * (events/facts/sessions.ts), an absent optional field left out, as the service writes them. A
 * fact whose stored data is not exactly this (another key order, a log written by hand, talks
 * with `topics: []`) keeps its data as recorded in the row's `data` column (`itemData`), so the
 * timeline shows every fact's data as recorded, byte for byte.
 */
import { json } from '../rows.js';

/** The fact types whose timeline entries `session_items` holds, and their item. */
export const TIMELINE_ITEMS = { DelegateAttended: 'attendee', ReportDelivered: 'report', SidelineTalksHeld: 'talks' } as const;
export type TimelineItemType = keyof typeof TIMELINE_ITEMS;

export interface ItemColumns {
  readonly session: unknown;
  readonly person: unknown;
  readonly office: unknown;
  readonly representing: unknown;
  readonly subject: unknown;
  /** Talks: `on`, and the JSON texts of `participants` and `topics` (`[]` when absent), `summary`. */
  readonly on_raw?: unknown;
  readonly participants?: unknown;
  readonly topics?: unknown;
  readonly summary?: unknown;
}

/** The data the columns give back. */
export function dataOf(type: TimelineItemType, c: ItemColumns): Record<string, unknown> {
  if (type === 'SidelineTalksHeld') {
    const d: Record<string, unknown> = { session: c.session };
    if (c.on_raw != null) d['on'] = c.on_raw;
    d['participants'] = JSON.parse(c.participants as string);
    // Stored as `[]` when absent: talks recorded with `topics: []` keep their data (itemData).
    if (c.topics != null && c.topics !== '[]') d['topics'] = JSON.parse(c.topics as string);
    if (c.summary != null) d['summary'] = c.summary;
    return d;
  }
  const d: Record<string, unknown> = { session: c.session, person: c.person };
  if (type === 'DelegateAttended') {
    if (c.representing != null) d['representing'] = c.representing;
    if (c.office != null) d['office'] = c.office;
  } else {
    if (c.office != null) d['office'] = c.office;
    d['subject'] = c.subject;
  }
  return d;
}

/** String.prototype.isWellFormed (Node 20; the ES2024 lib this project does not compile against). */
const wellFormed = (v: unknown): boolean => typeof v !== 'string' || (v as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * The row's `data` cell: NULL when the columns give the recorded data back exactly, else the data as
 * recorded. A column holding a lone surrogate (a log imported or written by hand: POST refuses one)
 * does not come back from SQLite as it went in (UTF-8 has no lone surrogates: it reads back as
 * U+FFFD), while the recorded JSON text keeps it as a `\ud800` escape: such a row keeps its data.
 * (Talks' participants and topics are JSON texts, which escape a lone surrogate the same way.)
 */
export function itemData(type: TimelineItemType, data: unknown, c: ItemColumns): string | null {
  const recorded = json(data);
  const columns = [c.session, c.person, c.office, c.representing, c.subject, c.on_raw, c.summary];
  return columns.every(wellFormed) && recorded === JSON.stringify(dataOf(type, c)) ? null : recorded;
}
