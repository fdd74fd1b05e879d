/** Helpers for the deciders of entity streams: creation, existence. */
import type { FactType } from '../../events/index.js';
import { conflict, notFound, type Command } from './decide.js';
import { creation, type FactVersion, type StreamState } from './state.js';

/** A fact that creates the stream's entity: the stream must not exist yet. */
export function decideCreation(command: Command, state: StreamState): Command[] {
  if (state.revision >= 0) {
    const first = state.facts.values().next().value as FactVersion | undefined;
    throw conflict(`the entity ${command.factId} already exists`, first?.factId);
  }
  return [command];
}

/** The standing fact that created the stream's entity, or a 404 naming the reference. */
export function requireEntity(state: StreamState, types: FactType[], what: string, path: string): FactVersion {
  const created = creation(state, ...types);
  if (!created) throw notFound(`no ${what} is recorded under that reference (or its registration was retracted)`, path);
  return created;
}
