/**
 * Sessions: when and where a body met, who chaired, the agenda; and what happened there
 * (attendance, reports, sideline talks), each a row of `session_items`.
 */
import { projection } from '../types.js';
import { assertNever, typesIn } from '../../events/index.js';
import { json, str, termColumns, sourceJson } from '../rows.js';
import { itemData } from './item-data.js';
import { SESSION_LENGTH } from './length.js';
import { ITEM_VIEWS } from './stored.js';

export const sessions = projection({
  name: 'sessions',
  version: 15,
  tables: [
    {
      name: 'sessions',
      columns: ['id', 'key', 'body', 'title', 'number', 'from_raw', 'to_raw', 's0', 's1', 'e0', 'e1', 'city', 'country', 'chair_person', 'chair_office', 'agenda', 'source'],
      primaryKey: 'id, position',
      factKey: 'id',
      // (body, s0, id): pages of a body's sessions in order. The narrow one: a session's days,
      // for attestations. chair_person: a person's page lists the sessions they chaired.
      // (body, length class, s0, id): pages of sessions held within a day, each class read from
      // the day asked about minus its longest session (length.ts SESSION_LENGTH, queries.ts sessionKeys).
      indexes: ['body, s0, id, e1, known_from, known_to', 'id, known_from, known_to, s0, s1, e0, e1, from_raw, to_raw', 'chair_person, known_from', `body, ${SESSION_LENGTH}, s0, id, e1, known_from, known_to`],
      span: { group: 'body' },
    },
    // Clustered by session: a page of sessions reads each one's items from adjacent rows, each
    // list (item) in the order of its facts' first recordings (first_position: TableSpec.firstPosition),
    // so a corrected item keeps its place, a correction's version sitting where its fact's first
    // did (sessions@15; until then a list was in its versions' order: an attendance corrected went
    // to the end). position then tells a fact's versions apart; fact_id left the key (first_position
    // names the fact): each index entry, which holds the key, is no longer for it.
    // person: a person's page lists the sessions they attended or reported to.
    // data: an attendance's, report's or session-dated talks' data when its columns do not give
    // it back exactly (item-data.ts; NULL otherwise): the timeline reads these facts from here (#19).
    // views, views_to: an attendance's or report's text with its entity views as known when the
    // row was written, and until when they hold (stored.ts); office and representing: the rows
    // the writer derives them again for when an entity they name changes (as person's index does).
    {
      name: 'session_items',
      columns: ['session', 'item', 'person', 'office', 'representing', 'subject', 'on_raw', 'participants', 'topics', 'summary', 'source', 'data'],
      primaryKey: 'session, item, first_position, position',
      firstPosition: true,
      streamKey: { column: 'session', kind: 'session' },
      // office and representing: led by the entity, then position, so a live row's entry goes to
      // the end of its entity's range (one page a commit for every attendance of one organization),
      // not among the entity's rows in session order (32 sessions, 32 pages: ~13 WAL frames a
      // commit of single facts, s39-sg). The upkeep reads them by the entity alone (db.ts).
      indexes: ['person, known_from', 'office, position WHERE office IS NOT NULL', 'representing, position WHERE representing IS NOT NULL'],
      derived: ITEM_VIEWS,
    },
    // The ids talks at a session name among their participants (each once a version of the
    // talks): the talks rows the writer derives their stored text again for when an entity they
    // name changes (stored.ts: the ids sit in `participants`' JSON, which no index reads).
    // talk: the talks' own fact id, for closing a version (factKey). Both keys grow at their end
    // live (an entity's rows by position; new facts' ids): keyed by session instead, the rows
    // of 32 sessions in turn went into as many places, +~40 µs of CPU an event (bench:apply-cpu, talks).
    {
      name: 'talk_participants',
      columns: ['talk', 'session', 'entity'],
      primaryKey: 'entity, position, fact_id',
      factKey: 'talk',
      indexes: ['talk'],
    },
  ],
  // Every type of fact a session's stream holds (talks held at no session included).
  handles: typesIn('session'),
  evolve(fact) {
    const source = sourceJson(fact);
    const item = { person: null, office: null, representing: null, subject: null, on_raw: null, participants: null, topics: null, summary: null, source, data: null };
    switch (fact.type) {
      case 'SessionHeld': {
        const d = fact.data;
        const { held, place, chairedBy: chair } = d;
        // A session without `to` is a one-day session: its days are those of `from`.
        const t = termColumns({ from: held.from, to: held.to ?? held.from });
        return [
          {
            table: 'sessions',
            row: { id: fact.factId, key: str(d.key), body: d.body, title: str(d.title), number: str(d.number), ...t, to_raw: held.to ?? null, city: place?.city ?? null, country: place?.country ?? null, chair_person: chair?.person ?? null, chair_office: chair?.office ?? null, agenda: json(d.agenda ?? []), source },
          },
        ];
      }
      case 'DelegateAttended': {
        const d = fact.data;
        const row = { ...item, session: d.session, item: 'attendee', person: d.person, office: str(d.office), representing: str(d.representing) };
        return [{ table: 'session_items', row: { ...row, data: itemData(fact.type, d, row) } }];
      }
      case 'ReportDelivered': {
        const d = fact.data;
        const row = { ...item, session: d.session, item: 'report', person: d.person, office: str(d.office), subject: d.subject };
        return [{ table: 'session_items', row: { ...row, data: itemData(fact.type, d, row) } }];
      }
      case 'SidelineTalksHeld': {
        const d = fact.data;
        // Talks held at no session (only `on`) are no session's item: no read model lists them
        // (a person's participation joins sessions), and session_items is keyed by its session.
        if (d.session === undefined) return [];
        const row = { ...item, session: str(d.session), item: 'talks', on_raw: str(d.on), participants: json(d.participants), topics: json(d.topics ?? []), summary: str(d.summary) };
        // Talks dated by their session have no timeline row: the timeline reads them here (#19).
        // Talks with a date of their own (`on`) keep theirs, read in the order of that date.
        const named = [...new Set(d.participants.flatMap((p) => [p.person, p.organization]).filter((x): x is string => typeof x === 'string'))];
        return [
          { table: 'session_items', row: d.on === undefined ? { ...row, data: itemData(fact.type, d, row) } : row },
          ...named.map((entity) => ({ table: 'talk_participants', row: { talk: fact.factId, session: row.session, entity } })),
        ];
      }
      default:
        return assertNever(fact);
    }
  },
});
