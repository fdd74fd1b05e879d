/**
 * The organization stream (`organization-<id>`): its registration, memberships of it, and
 * the chairmanship passing from state to state. Chairmanship terms of one organization do
 * not overlap beyond the handover day.
 */
import type { Term } from '../../events/index.js';
import { alreadyRecorded, decideAmendment, misplaced, type InvariantCheck, type StreamDecider } from './decide.js';
import { decideCreation, requireEntity } from './entity.js';
import { refuseMembershipConflict } from './membership.js';
import { evolveStream, initialStreamState, standing, type StreamState } from './state.js';
import { refuseOverlap, type HeldTerm } from './terms.js';

const ORG = ['OrganizationRegistered'] as const;

const chairTerm = (f: { factId: string; data: Record<string, unknown> }): HeldTerm => ({
  factId: f.factId,
  holder: f.data['chair'] as string,
  term: f.data['term'] as Term,
});

const check: InvariantCheck<StreamState> = (state, fact) => {
  refuseMembershipConflict(state, fact);
  if (fact.type !== 'ChairmanshipPassed') return;
  refuseOverlap(chairTerm(fact), standing(state, 'ChairmanshipPassed').map(chairTerm), 'chairmanship');
};

export const organizationDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(command, state) {
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'OrganizationRegistered':
        return decideCreation(command, state);
      case 'MembershipStarted':
      case 'MembershipEnded':
        requireEntity(state, [...ORG], 'organization', 'data.organization');
        check(state, command);
        return [command];
      case 'ChairmanshipPassed':
        requireEntity(state, [...ORG], 'organization', 'data.organization');
        check(state, command);
        return [command];
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, check);
      default:
        return misplaced(command, 'organization');
    }
  },
};
