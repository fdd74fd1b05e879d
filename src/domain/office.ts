/**
 * The office stream (`office-<id>`): OfficeEstablished, then appointments and departures.
 * A single-holder office (multipleHolders false) has one holder a day, the handover day
 * excepted. A departure (OfficialLeftOffice) ends the latest appointment of that person that
 * began on or before its `on` and is not already ended by another departure; its `on` cuts the
 * term. A departure with no such appointment is refused with 409 (the office and the person
 * resolve; what is missing is the appointment they would have to match): decided here, and
 * documented in src/record/README.md.
 */
import { lowerBound, upperBound, type Term } from '../../events/index.js';
import { alreadyRecorded, conflict, decideAmendment, misplaced, type InvariantCheck, type StreamDecider } from './decide.js';
import { decideCreation, requireEntity } from './entity.js';
import { evolveStream, initialStreamState, type FactVersion, type StreamState } from './state.js';
import { refuseOverlap, type HeldTerm } from './terms.js';

type Fact = Pick<FactVersion, 'factId' | 'type' | 'data'>;

interface Appointment extends HeldTerm {
  /** The departure that ended it early or on schedule. */
  endedBy?: string;
}

/** The standing facts of the stream, with `replacement` in place of the fact of the same id. */
function view(state: StreamState, replacement?: Fact): Fact[] {
  const out: Fact[] = [];
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

/** The appointment a departure ends, or a 409 saying why there is none. */
function match(appointments: Appointment[], departure: Fact): Appointment {
  const person = departure.data['person'] as string;
  const on = departure.data['on'] as string;
  const theirs = appointments.filter((a) => a.holder === person);
  if (theirs.length === 0) throw conflict(`no appointment of ${person} to this office is recorded, so they cannot have left it`);
  const begun = theirs.filter((a) => lowerBound(a.term.from) <= upperBound(on));
  if (begun.length === 0) {
    const first = theirs[0] as Appointment;
    throw conflict(`the departure on ${on} is before the term began (${first.term.from}, fact ${first.factId})`, first.factId);
  }
  const open = begun.filter((a) => !a.endedBy);
  if (open.length === 0) {
    const last = begun.at(-1) as Appointment;
    throw conflict(`${person} already left this office (fact ${last.endedBy}) after the appointment ${last.factId}`, last.endedBy);
  }
  return open.reduce((a, b) => (lowerBound(b.term.from) >= lowerBound(a.term.from) ? b : a));
}

/** Every appointment with its term as it stands: a departure's `on` is the term's last day. */
function appointments(facts: Fact[], upTo?: string): Appointment[] {
  const list: Appointment[] = [];
  for (const f of facts) {
    if (f.factId === upTo) break;
    if (f.type === 'OfficialAppointed') {
      list.push({ factId: f.factId, holder: f.data['person'] as string, term: f.data['term'] as Term });
    } else if (f.type === 'OfficialLeftOffice') {
      try {
        const a = match(list, f);
        const i = list.indexOf(a);
        list[i] = { ...a, term: { from: a.term.from, to: f.data['on'] as string }, endedBy: f.factId };
      } catch {
        // A departure the record no longer supports (its appointment was retracted): it cuts nothing.
      }
    }
  }
  return list;
}

const check: InvariantCheck<StreamState> = (state, fact) => {
  const facts = view(state, fact);
  if (fact.type === 'OfficialAppointed') {
    const office = requireEntity(state, ['OfficeEstablished'], 'office', 'data.office');
    if (office.data['multipleHolders'] === true) return;
    const all = appointments(facts);
    const self = all.find((a) => a.factId === fact.factId) as Appointment;
    refuseOverlap(self, all, 'office');
  } else if (fact.type === 'OfficialLeftOffice') {
    match(appointments(facts, fact.factId), fact);
  }
};

export const officeDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(command, state) {
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'OfficeEstablished':
        return decideCreation(command, state);
      case 'OfficialAppointed':
      case 'OfficialLeftOffice':
        requireEntity(state, ['OfficeEstablished'], 'office', 'data.office');
        check(state, command);
        return [command];
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, check);
      default:
        return misplaced(command, 'office');
    }
  },
};
