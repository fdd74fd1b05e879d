/**
 * A session item's fact data as its `session_items` columns give it back (#19: attendances and
 * reports have no `timeline` row of their own; the timeline reads them from `session_items`).
 * The fields in the order of the fact's schema (events/facts/sessions.ts), an absent optional
 * field left out, as the service writes them. A fact whose stored data is not exactly this
 * (another key order, a log written by hand) keeps its data as recorded in the row's `data`
 * column (`itemData`), so the timeline shows every fact's data as recorded, byte for byte.
 */
import { json } from '../rows.js';

/** The fact types whose timeline entries `session_items` holds, and their item. */
export const TIMELINE_ITEMS = { DelegateAttended: 'attendee', ReportDelivered: 'report' } as const;
export type TimelineItemType = keyof typeof TIMELINE_ITEMS;

export interface ItemColumns {
  readonly session: unknown;
  readonly person: unknown;
  readonly office: unknown;
  readonly representing: unknown;
  readonly subject: unknown;
}

/** The data the columns give back. */
export function dataOf(type: TimelineItemType, c: ItemColumns): Record<string, unknown> {
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

/** The row's `data` cell: NULL when the columns give the recorded data back exactly, else the data as recorded. */
export function itemData(type: TimelineItemType, data: unknown, c: ItemColumns): string | null {
  const recorded = json(data);
  return recorded === JSON.stringify(dataOf(type, c)) ? null : recorded;
}
