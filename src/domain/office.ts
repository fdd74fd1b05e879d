/**
 * The office stream (`office-<id>`): OfficeEstablished, then appointments and departures.
 * A single-holder office (multipleHolders false) has one holder a day, the handover day
 * excepted. Which appointment a departure (OfficialLeftOffice) ends is the one rule of
 * events/departures.ts, shared with the read side: the person's latest-begun appointment
 * among those recorded before it that may have begun by its `on`; the term then ends on the
 * earlier of its `to` and `on`. A departure that would end none is refused with 409 (the
 * office and the person resolve; what is missing is an appointment it can end): none of
 * that person, none begun by `on`, the latest-begun one already ended by an earlier
 * departure (named), or `on` surely after that term's scheduled end (the appointment
 * named). A departure (new, corrected or retracted) is held to the one-holder rule too: the
 * terms it changes are checked as they would stand. Decided here, and documented in
 * src/record/README.md.
 */
import { matchDepartures, type DepartureMatch, type OfficeFactRef } from '../../events/departures.js';
import { conflict, type Candidate, type RetractionRule, type Rule } from './decide.js';
import { creation, type StreamState } from './state.js';
import { requireEntity, streamDecider } from './stream.js';
import { refuseOverlap, type HeldTerm } from './terms.js';

/** The standing facts of the stream in recording order, with `replacement` in place of the fact of the same id. */
function view(state: StreamState, replacement?: Candidate): Candidate[] {
  const out: Candidate[] = [];
  let replaced = false;
  for (const f of state.facts.values()) {
    if (f.retractedBy) continue;
    if (replacement && f.factId === replacement.factId) {
      out.push(replacement);
      replaced = true;
    } else out.push(f);
  }
  if (replacement && !replaced) out.push(replacement);
  return out;
}

/** The appointments and departures of the stream, as events/departures.ts takes them. */
function refs(facts: readonly Candidate[]): OfficeFactRef[] {
  const out: OfficeFactRef[] = [];
  for (const f of facts) {
    if (f.type === 'OfficialAppointed') out.push({ kind: 'appointment', factId: f.factId, person: f.data.person, term: f.data.term });
    else if (f.type === 'OfficialLeftOffice') out.push({ kind: 'departure', factId: f.factId, person: f.data.person, on: f.data.on });
  }
  return out;
}

/** Every appointment with its term as it stands: a departure ends it on the earlier of `to` and `on`. */
function appointments(facts: readonly Candidate[]): HeldTerm[] {
  const { ends } = matchDepartures(refs(facts));
  const list: HeldTerm[] = [];
  for (const f of facts) {
    if (f.type !== 'OfficialAppointed') continue;
    const { term, person } = f.data;
    const end = ends.get(f.factId);
    list.push({ factId: f.factId, holder: person, term: end ? { from: term.from, to: end.to } : term });
  }
  return list;
}

/** The 409 for a departure that ends no appointment. */
function refuseDeparture(departure: Extract<Candidate, { type: 'OfficialLeftOffice' }>, m: DepartureMatch | undefined): void {
  if (m === undefined || m.ends !== null) return;
  const { person, on } = departure.data;
  switch (m.reason) {
    case 'no-appointment':
      throw conflict(`no appointment of ${person} to this office is recorded, so they cannot have left it`);
    case 'before-start':
      throw conflict(`the departure on ${on} is before the term began (${m.from}, fact ${m.fact})`, m.fact);
    case 'already-left':
      throw conflict(`${person} already left this office (fact ${m.fact}) after the appointment ${m.appointment}, the latest that began by ${on}`, m.fact);
    case 'after-end':
      throw conflict(
        `the departure on ${on} is after the term ended (${m.to}, fact ${m.fact}); a departure ends a term early or on schedule`,
        m.fact,
      );
  }
}

/**
 * A single-holder office has one holder a day, the handover day excepted: checked for every
 * term the change makes differ (the new or corrected appointment; the term a new, corrected or
 * retracted departure cuts, or opens again; a term a departure is matched to anew), against
 * every other term as it would stand. A departure can break it too: it ends the term, and a
 * start read with its end may then surely fall inside another term (`{ from: "2020", to:
 * "2021-01-31" }` cut on 2020-01-31 surely held office in January 2020).
 */
function refuseOverlaps(state: StreamState, after: readonly Candidate[], changed?: string): void {
  if (requireEntity(state, 'office', 'data.office').data.multipleHolders) return;
  const was = new Map(appointments(view(state)).map((a) => [a.factId, a.term]));
  const now = appointments(after);
  for (const a of now) {
    const before = was.get(a.factId);
    const same = before !== undefined && before.from === a.term.from && (before.to ?? null) === (a.term.to ?? null);
    if (a.factId === changed || !same) refuseOverlap(a, now, 'office', was);
  }
}

const oneHolderADay: Rule = (state, fact) => {
  if (fact.type !== 'OfficialAppointed' && fact.type !== 'OfficialLeftOffice') return;
  refuseOverlaps(state, view(state, fact), fact.factId);
};

/** A retracted appointment or departure leaves the office's other terms as they would stand without it. */
const oneHolderADayWithout: RetractionRule = (state, retracted) => {
  if (retracted.type !== 'OfficialAppointed' && retracted.type !== 'OfficialLeftOffice') return;
  // An office whose establishment was retracted has no holders to keep apart: its facts stay
  // retractable (refuseOverlaps' requireEntity would answer 404 naming a field the request lacks).
  if (!creation(state, 'OfficeEstablished')) return;
  refuseOverlaps(state, view(state).filter((f) => f.factId !== retracted.factId));
};

/** A departure ends an appointment (events/departures.ts), and takes none another departure ends. */
const departuresEndAppointments: Rule = (state, fact) => {
  if (fact.type !== 'OfficialLeftOffice') return;
  const after = matchDepartures(refs(view(state, fact))).departures;
  refuseDeparture(fact, after.get(fact.factId));
  // A corrected departure may take the appointment a later one ended: refused, naming it.
  const before = matchDepartures(refs(view(state))).departures;
  for (const [id, m] of before) {
    if (id === fact.factId || m.ends === null || after.get(id)?.ends !== null) continue;
    throw conflict(`the departure would end the appointment ${m.ends}, which the departure ${id} ends`, id);
  }
};

export const officeDecider = streamDecider('office', { rules: [departuresEndAppointments, oneHolderADay], retractionRules: [oneHolderADayWithout] });
