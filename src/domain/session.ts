/**
 * The session stream (`session-<id>`): SessionHeld, then what happened at it — reports,
 * delegates, sideline talks. Those need the session to stand. Talks without a date take the
 * session's first day, filled in here so the stored fact says it.
 */
import { alreadyRecorded, decideAmendment, misplaced, type Command, type StreamDecider } from './decide.js';
import { decideCreation, requireEntity } from './entity.js';
import { evolveStream, initialStreamState, type StreamState } from './state.js';

function withDefaults(command: Command, state: StreamState): Command {
  if (command.type !== 'SidelineTalksHeld' || command.data['on'] !== undefined) return command;
  const session = requireEntity(state, ['SessionHeld'], 'session', 'data.session');
  const held = session.data['held'] as { from: string };
  return { ...command, data: { ...command.data, on: held.from } };
}

export const sessionDecider: StreamDecider = {
  initialState: initialStreamState,
  evolve: evolveStream,
  decide(input, state) {
    const command = withDefaults(input, state);
    if (alreadyRecorded(command, state)) return [];
    switch (command.type) {
      case 'SessionHeld':
        return decideCreation(command, state);
      case 'ReportDelivered':
      case 'DelegateAttended':
      case 'SidelineTalksHeld':
        requireEntity(state, ['SessionHeld'], 'session', 'data.session');
        return [command];
      case 'FactCorrected':
      case 'FactRetracted':
        return decideAmendment(command, state, () => undefined);
      default:
        return misplaced(command, 'session');
    }
  },
};
