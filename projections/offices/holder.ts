/**
 * Who held an office during `validAt`, as known at `knownAt`: the point question, answered
 * from the rows that may hold then, found through temporal indexes (temporal.ts), never from
 * the office's whole succession. Two searches: terms (appointments as departures cut them,
 * terms-index.ts) and attestations (whose days are their session's), each re-checking the
 * exact bounds and versions on the rows it finds. The answer as objects (web pages, inline
 * reads, the lists); a read worker's JSON text is written by SQLite in one statement of the
 * same searches (holder-json.ts).
 */
import { lowerBound, upperBound, type Certainty } from '../../events/index.js';
import { bind, KNOWN, type QueryContext } from '../query-context.js';
import { SEARCH, rtreeOf, searchParams } from '../temporal.js';
import {
  APPOINTMENT_COLUMNS,
  ATTESTATION_COLUMNS,
  ATTESTATION_VIEWS,
  SESSION_JOIN,
  TERM_JOINS,
  appointedItem,
  attestedItem,
  byTerm,
  certaintyOf,
  correctionsOfItems,
  covers,
  withCertainty,
  type AppointmentHit,
  type AttestationHit,
  type HolderItem,
  type TermItem,
} from './terms.js';

// CROSS JOIN: the index search drives (SQLite would otherwise start from an index on the table).
const APPOINTED = `SELECT ${APPOINTMENT_COLUMNS} FROM terms_rt r CROSS JOIN terms t ON t.rowid = r.id ${TERM_JOINS}
  WHERE ${SEARCH('r')} AND t.office = @office AND ${KNOWN('t')} AND t.s0 <= @q1 AND t.e1 >= @q0`;
const ATTESTED = `SELECT ${ATTESTATION_COLUMNS} FROM ${rtreeOf('attestations')} r CROSS JOIN attestations a ON a.rowid = r.id ${SESSION_JOIN} ${ATTESTATION_VIEWS}
  WHERE ${SEARCH('r')} AND a.office = @office AND ${KNOWN('a')} AND s.s0 <= @q1 AND s.e1 >= @q0`;

/** Every possible holder of `office` (an id) during `validAt`, as known at `k`, ordered by term. */
export function holderItems(q: QueryContext, office: string, validAt: string, k: string): { item: TermItem; certainty: Certainty }[] {
  const q0 = lowerBound(validAt);
  const q1 = upperBound(validAt);
  const params = bind(searchParams(office, q0, q1, k), { office, k, q0, q1 });
  const out: { item: TermItem; certainty: Certainty }[] = [];
  for (const a of q.all<AppointmentHit>(APPOINTED, params)) {
    const item = appointedItem(a);
    out.push({ item, certainty: certaintyOf(item.b, q0, q1) as Certainty });
  }
  const attestations = q.all<AttestationHit>(ATTESTED, params);
  if (attestations.length) {
    const appointed = out.map((o) => o.item);
    for (const a of attestations) {
      const item = attestedItem(a);
      if (appointed.some((i) => i.personId === item.personId && covers(i.b, item.b))) continue;
      out.push({ item, certainty: certaintyOf(item.b, q0, q1) as Certainty });
    }
  }
  return out.sort((x, y) => byTerm(x.item, y.item));
}

export function holderAt(q: QueryContext, office: string, validAt: string, k: string): HolderItem[] {
  const items = holderItems(q, office, validAt, k);
  const corrected = correctionsOfItems(q, items, k);
  return items.map((h) => withCertainty(h.item, h.certainty, corrected));
}

