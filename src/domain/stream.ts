/**
 * The one skeleton every entity stream is decided by. A retry of a recorded fact gives
 * nothing new; a correction or retraction is decided against the fact it names; a fact that
 * opens the stream (a registration) needs it not to exist yet; any other fact needs the
 * stream's entity to stand; then the stream's own rules. Which facts open which stream, and
 * which field names the entity a fact joins, come from the catalogue (events/facts/).
 * Each kind of stream gives only its rules (organization.ts, office.ts, document.ts, session.ts).
 */
import { CREATING_TYPES, isAmendment, placementOf, type CreatingType, type EntityKind, type StreamKind } from '../../events/index.js';
import { alreadyRecorded, conflict, decideAmendment, misplaced, unresolved, type Command, type RetractionRule, type Rule, type StreamDecider } from './decide.js';
import { creation, evolveStream, initialStreamState, type StreamFact, type StreamState } from './state.js';

export interface StreamRules {
  /** Fills in what the stream knows before anything is compared (talks take their session's first day). */
  readonly complete?: (command: Command, state: StreamState) => Command;
  /** The stream's invariants, each checked for a new fact and for a correction's replacement data. */
  readonly rules?: readonly Rule[];
  /** The stream's invariants a retraction could break, checked for the stream without the retracted fact. */
  readonly retractionRules?: readonly RetractionRule[];
}

export function streamDecider(kind: StreamKind, spec: StreamRules = {}): StreamDecider {
  const rules = spec.rules ?? [];
  return {
    initialState: initialStreamState,
    evolve: evolveStream,
    decide(input, state) {
      const command = spec.complete ? spec.complete(input, state) : input;
      if (alreadyRecorded(command, state)) return [];
      if (isAmendment(command)) return decideAmendment(command, state, rules, spec.retractionRules);
      const place = placementOf(command, command.factId);
      if (place === null || place.kind !== kind) return misplaced(command, kind);
      if (place.opens) refuseExisting(command, state);
      else requireEntity(state, place.kind, `data.${place.by}`);
      for (const rule of rules) rule(state, command);
      return [command];
    },
  };
}

/** A fact that opens the stream: the stream must not exist yet. */
function refuseExisting(command: Command, state: StreamState): void {
  if (state.revision < 0) return;
  const first: StreamFact | undefined = state.facts.values().next().value;
  throw conflict(`the entity ${command.factId} already exists`, first?.factId);
}

/** The standing fact that created the stream's entity, or a 404 naming the reference at `path`. */
export function requireEntity<K extends EntityKind>(state: StreamState, kind: K, path: string): Extract<StreamFact, { type: CreatingType<K> }> {
  const created = creation(state, ...CREATING_TYPES[kind]);
  if (!created) throw unresolved(`no ${kind} is recorded under that reference (or its registration was retracted)`, path);
  return created;
}
