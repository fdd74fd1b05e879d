/** The person stream (`person-<id>`): a registration, and corrections of it. No invariants beyond the key. */
import { alreadyRecorded, decideAmendment, misplaced, type StreamDecider } from './decide.js';
import { decideCreation } from './entity.js';
import { evolveStream, initialStreamState } from './state.js';

export const personDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(command, state) {
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'PersonRegistered':
        return decideCreation(command, state);
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, () => undefined);
      default:
        return misplaced(command, 'person');
    }
  },
};
