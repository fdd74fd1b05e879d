/**
 * The write side's pure deciders, one per stream kind (events/streams.ts). Each is
 * `decide(command, state) → facts`, `evolve(state, event) → state`, `initialState()`; time
 * and ids arrive in the command. Nothing here does I/O.
 */
import type { EntityKind } from '../../events/index.js';
import type { StreamDecider } from './decide.js';
import { documentDecider } from './document.js';
import { officeDecider } from './office.js';
import { organizationDecider } from './organization.js';
import { personDecider } from './person.js';
import { sessionDecider } from './session.js';
import { talksDecider } from './talks.js';

export { alreadyRecorded, conflict, decideAmendment, invalid, notFound, type Command, type StreamDecider } from './decide.js';
export { DomainError, type DomainErrorKind, type FieldProblem } from './errors.js';
export { keyDecider, type KeyState } from './key.js';
export { canonical, cloneState, creation, evolveStream, fingerprint, initialStreamState, standing } from './state.js';
export type { DomainEvent, FactVersion, StreamEvent, StreamState } from './state.js';
export { documentDecider, officeDecider, organizationDecider, personDecider, sessionDecider, talksDecider };

export const DECIDERS: Record<EntityKind, StreamDecider> = {
  organization: organizationDecider,
  person: personDecider,
  office: officeDecider,
  session: sessionDecider,
  document: documentDecider,
  talks: talksDecider,
};
