/** Talks recorded without a session (`talks-<factId>`): the stream holds one SidelineTalksHeld and its corrections. */
import { alreadyRecorded, decideAmendment, misplaced, type StreamDecider } from './decide.js';
import { decideCreation } from './entity.js';
import { evolveStream, initialStreamState } from './state.js';

export const talksDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(command, state) {
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'SidelineTalksHeld':
        return decideCreation(command, state);
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, () => undefined);
      default:
        return misplaced(command, 'talks');
    }
  },
};
