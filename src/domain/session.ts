/**
 * The session stream (`session-<id>`): SessionHeld, then what happened at it — reports,
 * delegates, sideline talks. Those need the session to stand. Talks without a date take the
 * session's first day, filled in here so the stored fact says it.
 */
import type { Command } from './decide.js';
import type { StreamState } from './state.js';
import { requireEntity, streamDecider } from './stream.js';

function talksOnTheSessionsFirstDay(command: Command, state: StreamState): Command {
  if (command.type !== 'SidelineTalksHeld' || command.data.on !== undefined) return command;
  const session = requireEntity(state, 'session', 'data.session');
  return { ...command, data: { ...command.data, on: session.data.held.from } };
}

export const sessionDecider = streamDecider('session', { complete: talksOnTheSessionsFirstDay });
