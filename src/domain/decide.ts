/**
 * What every stream decider shares: retries (a factId already in the stream), corrections and
 * retractions (FactCorrected / FactRetracted live in the corrected fact's stream), and the
 * errors the deciders raise. A decision is the list of facts to append; an empty list means
 * the command was already recorded (the caller answers with the original result).
 */
import type { FactType } from '../../events/index.js';
import { DomainError } from './errors.js';
import { fingerprint, type DomainEvent, type FactVersion, type StreamState } from './state.js';

export type Command = DomainEvent;

export interface StreamDecider<S extends StreamState = StreamState> {
  initialState(): S;
  evolve(state: S, event: import('./state.js').StreamEvent): S;
  /** Throws DomainError when the command breaks an invariant; [] when already recorded. */
  decide(command: Command, state: S): DomainEvent[];
}

export const conflict = (message: string, collidesWith?: string): DomainError =>
  new DomainError('conflict', message, collidesWith ? { collidesWith } : {});
export const notFound = (message: string, path?: string): DomainError =>
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

/**
 * The fields that decide which stream a fact lives in, or that name it for good (keys). A
 * correction may not change them: it is decided in the original's stream, and a key is
 * reserved once. To move a fact, retract it and record a new one.
 */
const IDENTITY: Partial<Record<FactType, readonly string[]>> = {
  OrganizationRegistered: ['key'],
  PersonRegistered: ['key'],
  OfficeEstablished: ['key'],
  SessionHeld: ['key'],
  DocumentConsidered: ['key'],
  DocumentAdopted: ['key', 'document'],
  MembershipStarted: ['organization'],
  MembershipEnded: ['organization'],
  ChairmanshipPassed: ['organization'],
  OfficialAppointed: ['office'],
  OfficialLeftOffice: ['office'],
  ReportDelivered: ['session'],
  DelegateAttended: ['session'],
  SidelineTalksHeld: ['session'],
};

/** Checks a stream's invariants for one fact as it would stand, `replacing` an earlier version. */
export type InvariantCheck<S extends StreamState> = (state: S, fact: Pick<FactVersion, 'factId' | 'type' | 'data'>) => void;

/**
 * Decides a FactCorrected or FactRetracted against the stream holding the fact it names.
 * A correction is decided as if the original were replaced by the new data: `check` sees the
 * replacement under the original's factId, so the original does not collide with itself.
 */
export function decideAmendment<S extends StreamState>(command: Command, state: S, check: InvariantCheck<S>): DomainEvent[] {
  const targetId = command.data['fact'] as string;
  const target = state.facts.get(targetId);
  if (!target) throw notFound(`no recorded fact ${targetId}`, 'data.fact');
  if (target.type === 'FactCorrected' || target.type === 'FactRetracted') {
    const original = target.data['fact'] as string;
    throw invalid(
      `${targetId} is a ${target.type} of ${original}: name the original fact ${original} instead (a correction replaces its data in full)`,
      'data.fact',
    );
  }
  if (target.retractedBy) {
    throw conflict(`fact ${targetId} was retracted by ${target.retractedBy}; a retracted fact is not corrected or retracted again`, target.retractedBy);
  }
  if (command.type === 'FactCorrected') {
    const replacement = command.data['data'] as Record<string, unknown>;
    for (const field of IDENTITY[target.type] ?? []) {
      if (replacement[field] !== target.data[field]) {
        throw invalid(`a correction may not change \`${field}\` of a ${target.type}; retract the fact and record a new one`, `data.data.${field}`);
      }
    }
    check(state, { factId: target.factId, type: target.type, data: replacement });
  }
  return [command];
}

/** The refusal for a command that does not belong in this kind of stream: a bug upstream. */
export function misplaced(command: Command, kind: string): never {
  throw new Error(`${command.type} is not decided by the ${kind} decider`);
}
