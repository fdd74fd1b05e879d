/**
 * The key reservation stream (`key-<key>`): one KeyReserved, appended with expected
 * `no_stream` before the registration it is for, so a key is registered once even with
 * several writers. A reservation left by a registration that never landed (a crash between
 * the two appends) is re-used by a retry of the same factId, and by nothing else.
 */
import type { KeyReserved } from '../../events/index.js';
import { conflict } from './decide.js';

export interface KeyState {
  revision: number;
  reservation?: KeyReserved;
}

export const keyDecider = {
  initialState: (): KeyState => ({ revision: -1 }),
  evolve(state: KeyState, event: { revision: number; data: KeyReserved }): KeyState {
    return { revision: event.revision, reservation: state.reservation ?? event.data };
  },
  /** [] when this factId already holds the key. */
  decide(command: KeyReserved, state: KeyState): KeyReserved[] {
    const held = state.reservation;
    if (!held) return [command];
    if (held.factId === command.factId) return [];
    throw conflict(`the key \`${command.key}\` is already registered (fact ${held.factId}); a key is registered once`, held.factId);
  },
};
