/**
 * What every stream decider shares: the errors they raise, retries (a factId already in the
 * stream), corrections and retractions (FactCorrected / FactRetracted live in the corrected
 * fact's stream), and the one skeleton every entity stream is decided by (stream.ts). A
 * decision is the list of facts to append; an empty list means the command was already
 * recorded (the caller answers with the original result).
 */
import { ENTRIES, fieldOf, storedFact, type Fact } from '../../events/index.js';
import { DomainError } from './errors.js';
import { fingerprint, type DomainEvent, type StreamEvent, type StreamFact, type StreamState } from './state.js';

export type Command = DomainEvent;

export interface StreamDecider<S extends StreamState = StreamState> {
  initialState(): S;
  evolve(state: S, event: StreamEvent): S;
  /** Throws DomainError when the command breaks an invariant; [] when already recorded. */
  decide(command: Command, state: S): DomainEvent[];
}

export const conflict = (message: string, collidesWith?: string): DomainError =>
  new DomainError('conflict', message, collidesWith ? { collidesWith } : {});
/** A reference that does not resolve: an entity, or the fact a correction names (404). */
export const unresolved = (message: string, path?: string): DomainError =>
  new DomainError('not_found', message, path ? { errors: [{ path, message }] } : {});
export const invalid = (message: string, path: string): DomainError => new DomainError('invalid', message, { errors: [{ path, message }] });

/**
 * True when the command's factId is already in the stream with the same content (a retry);
 * a factId recorded with other content is a 409: one factId names one fact.
 */
export function alreadyRecorded(command: Command, state: StreamState): boolean {
  const existing = state.facts.get(command.factId);
  if (!existing) return false;
  if (fingerprint({ type: existing.type, ...existing.original }) !== fingerprint(command)) {
    throw conflict(`factId ${command.factId} is already recorded with other content (a ${existing.type}); use a new factId`, command.factId);
  }
  return true;
}

/** A fact as it would stand in a stream: a new one, or a recorded one with replacement data. */
export type Candidate = Fact & { readonly factId: string };

/** One invariant of a stream, checked for a fact as it would stand (new, or corrected). Throws a DomainError. */
export type Rule<S extends StreamState = StreamState> = (state: S, fact: Candidate) => void;

/**
 * One invariant of a stream, checked for the stream as it would stand without a fact (its
 * retraction): withdrawing a fact can break what the others hold (a retracted departure opens
 * its term again). Throws a DomainError.
 */
export type RetractionRule<S extends StreamState = StreamState> = (state: S, retracted: StreamFact) => void;

/**
 * Decides a FactCorrected or FactRetracted against the stream holding the fact it names.
 * A correction is decided as if the original were replaced by the new data: the rules see the
 * replacement under the original's factId, so the original does not collide with itself.
 */
export function decideAmendment<S extends StreamState>(
  command: Extract<Command, { type: 'FactCorrected' | 'FactRetracted' }>,
  state: S,
  rules: readonly Rule<S>[],
  retractionRules: readonly RetractionRule<S>[] = [],
): DomainEvent[] {
  const targetId = command.data.fact;
  const target = state.facts.get(targetId);
  if (!target) throw unresolved(`no recorded fact ${targetId}`, 'data.fact');
  if (target.type === 'FactCorrected' || target.type === 'FactRetracted') {
    const original = target.data.fact;
    throw invalid(
      `${targetId} is a ${target.type} of ${original}: name the original fact ${original} instead (a correction replaces its data in full)`,
      'data.fact',
    );
  }
  if (target.retractedBy) {
    throw conflict(`fact ${targetId} was retracted by ${target.retractedBy}; a retracted fact is not corrected or retracted again`, target.retractedBy);
  }
  if (command.type === 'FactCorrected') {
    const replacement: Candidate = { ...storedFact(target.type, command.data.data), factId: target.factId };
    for (const field of ENTRIES[target.type].identity) {
      if (fieldOf(replacement, field) !== fieldOf(target, field)) {
        throw invalid(`a correction may not change \`${field}\` of a ${target.type}; retract the fact and record a new one`, `data.data.${field}`);
      }
    }
    for (const rule of rules) rule(state, replacement);
  } else {
    for (const rule of retractionRules) rule(state, target);
  }
  return [command];
}

/** The refusal for a command that does not belong in this kind of stream: a bug upstream. */
export function misplaced(command: Command, kind: string): never {
  throw new Error(`${command.type} is not decided by the ${kind} decider`);
}
