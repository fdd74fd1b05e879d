/**
 * The document stream (`document-<id>`): created by DocumentConsidered or DocumentAdopted;
 * a DocumentAdopted naming an existing `document` lands here too. A document is adopted once.
 */
import { alreadyRecorded, conflict, decideAmendment, misplaced, type StreamDecider } from './decide.js';
import { decideCreation, requireEntity } from './entity.js';
import { evolveStream, initialStreamState, standing } from './state.js';

export const documentDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(command, state) {
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'DocumentConsidered':
        return decideCreation(command, state);
      case 'DocumentAdopted': {
        if (command.data['document'] === undefined) return decideCreation(command, state);
        requireEntity(state, ['DocumentConsidered', 'DocumentAdopted'], 'document', 'data.document');
        const adopted = standing(state, 'DocumentAdopted')[0];
        if (adopted) throw conflict(`the document was already adopted (fact ${adopted.factId}); a document is adopted once`, adopted.factId);
        return [command];
      }
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, () => undefined);
      default:
        return misplaced(command, 'document');
    }
  },
};
