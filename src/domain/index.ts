/**
 * The write side's pure deciders, one per stream kind (events/streams.ts), each the one
 * skeleton of stream.ts with its kind's rules. Each is `decide(command, state) → facts`,
 * `evolve(state, event) → state`, `initialState()`; time and ids arrive in the command.
 * Nothing here does I/O.
 */
import type { StreamKind } from '../../events/index.js';
import type { StreamDecider } from './decide.js';
import { documentDecider } from './document.js';
import { officeDecider } from './office.js';
import { organizationDecider } from './organization.js';
import { sessionDecider } from './session.js';
import { streamDecider } from './stream.js';

export { alreadyRecorded, conflict, decideAmendment, invalid, unresolved, type Candidate, type Command, type RetractionRule, type Rule, type StreamDecider } from './decide.js';
export { DomainError, type DomainErrorKind, type FieldProblem } from './errors.js';
export { keyDecider, type KeyState } from './key.js';
export { canonical, cloneState, creation, evolveStream, fingerprint, initialStreamState, standing } from './state.js';
export type { DomainEvent, StreamEvent, StreamFact, StreamState } from './state.js';
export { streamDecider, type StreamRules } from './stream.js';

export const personDecider = streamDecider('person');
/** Talks recorded without a session: one SidelineTalksHeld and its corrections. */
export const talksDecider = streamDecider('talks');
export { documentDecider, officeDecider, organizationDecider, sessionDecider };

/** The decider of each kind of stream: the one skeleton, with the kind's own rules. */
export const DECIDERS: Readonly<Record<StreamKind, StreamDecider>> = {
  organization: organizationDecider,
  person: personDecider,
  office: officeDecider,
  session: sessionDecider,
  document: documentDecider,
  talks: talksDecider,
};
