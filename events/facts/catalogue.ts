/**
 * The fact catalogue: one entry per fact type, each declared beside its schema (entry.ts says
 * what an entry holds), and the tables every other part derives from it: the types, their
 * schemas, the typed facts, which stream a fact goes to, which entity it creates. Adding a
 * fact type is one entry in its file and one line here; the compiler then asks for what
 * depends on it (a decider's rules if it has invariants, the projections that show it).
 */
import type { z } from 'zod';
import { isEntityKind, type EntityKind, type StreamKind } from '../streams.js';
import { FactCorrected, FactRetracted } from './corrections.js';
import { DocumentAdopted, DocumentConsidered } from './documents.js';
import type { StreamRule } from './entry.js';
import { ChairmanshipPassed, MembershipEnded, MembershipStarted, OfficialAppointed, OfficialLeftOffice } from './offices.js';
import { OfficeEstablished, OrganizationRegistered, PersonRegistered } from './registrations.js';
import { DelegateAttended, ReportDelivered, SessionHeld, SidelineTalksHeld } from './sessions.js';

/** Every fact type, in the order the contract lists them (API.md; the OpenAPI document follows it). */
export const catalogue = {
  OrganizationRegistered,
  PersonRegistered,
  OfficeEstablished,
  MembershipStarted,
  MembershipEnded,
  SessionHeld,
  DocumentConsidered,
  DocumentAdopted,
  ReportDelivered,
  ChairmanshipPassed,
  OfficialAppointed,
  OfficialLeftOffice,
  DelegateAttended,
  SidelineTalksHeld,
  FactCorrected,
  FactRetracted,
} as const;

type Catalogue = typeof catalogue;
export type FactType = keyof Catalogue;
export const FACT_TYPES = Object.keys(catalogue) as FactType[];

/** The types that correct or retract another fact (their stream is that fact's). */
export type AmendmentType = { [T in FactType]: Catalogue[T]['stream'] extends { amends: string } ? T : never }[FactType];

/** Each fact type's data schema. */
export const factSchemas = Object.fromEntries(FACT_TYPES.map((type) => [type, catalogue[type].data])) as { readonly [T in FactType]: Catalogue[T]['data'] };

/** The `data` of each fact type, as stored (after defaults are applied). */
export type FactData<T extends FactType = FactType> = z.output<Catalogue[T]['data']>;
/** The `data` of each fact type, as a client may send it (defaults not yet applied). */
export type FactDataInput<T extends FactType = FactType> = z.input<Catalogue[T]['data']>;

/** A fact: its type and data. A discriminated union, so a `switch` on `type` narrows `data`. */
export type Fact<T extends FactType = FactType> = { [K in T]: { readonly type: K; readonly data: FactData<K> } }[T];

/** An entry as the derived tables read it: its fields by name. */
export interface EntryShape {
  readonly stream: StreamRule<string>;
  readonly identity: readonly string[];
  readonly refs: { readonly [path: string]: EntityKind | undefined };
}
/** The catalogue, read by field name. */
export const ENTRIES: Readonly<Record<FactType, EntryShape>> = catalogue;

export function isFactType(type: string): type is FactType {
  return Object.prototype.hasOwnProperty.call(catalogue, type);
}

export function isAmendmentType(type: FactType): type is AmendmentType {
  return ENTRIES[type].stream.amends !== undefined;
}

export function isAmendment<F extends Fact>(fact: F): fact is Extract<F, { type: AmendmentType }> {
  return isAmendmentType(fact.type);
}

/**
 * Stored data taken as its fact type's data. The log holds only data the write side
 * validated against the type's schema (older versions are upcast to it on read), so it is
 * trusted here rather than parsed again: this is where the write and read sides turn a
 * stored event, or a correction's replacement data, into a typed fact.
 */
export function storedFact<T extends FactType>(type: T, data: unknown): Fact<T> {
  return { type, data } as Fact<T>;
}

/** A top-level field of a fact's data, by name (the catalogue names fields as strings). */
export function fieldOf(fact: Fact, field: string): unknown {
  return (fact.data as Readonly<Record<string, unknown>>)[field];
}

/** The kind of entity a fact of this type creates when it has a stream of its own (its factId is the entity's id). */
export function createdKind(type: FactType): EntityKind | undefined {
  const own = ENTRIES[type].stream.own;
  return own !== undefined && isEntityKind(own) ? own : undefined;
}

/** Where a fact lives: a stream of its own it opens (named by its factId), or the stream of an entity it names at `by`. */
export type Placement =
  | { readonly kind: StreamKind; readonly id: string; readonly opens: true }
  | { readonly kind: EntityKind; readonly id: string; readonly opens: false; readonly by: string };

/**
 * The stream a fact goes to, from its data (references already resolved to ids); null for
 * corrections and retractions, which go to the stream of the fact they name.
 */
export function placementOf(fact: Fact, factId: string): Placement | null {
  const rule = ENTRIES[fact.type].stream;
  if (rule.amends !== undefined) return null;
  if (rule.in !== undefined) {
    const named = fieldOf(fact, rule.by);
    if (typeof named === 'string') return { kind: rule.in, id: named, opens: false, by: rule.by };
  }
  if (rule.own === undefined) throw new Error(`a ${fact.type} names no ${rule.in ?? 'stream'}: its schema should have refused it`);
  return { kind: rule.own, id: factId, opens: true };
}

/** The fact types that create an entity of kind K. */
export type CreatingType<K extends EntityKind> = { [T in FactType]: Catalogue[T]['stream'] extends { own: K } ? T : never }[FactType];

const creating = <K extends EntityKind>(kind: K): readonly CreatingType<K>[] =>
  FACT_TYPES.filter((type): type is CreatingType<K> => createdKind(type) === kind);

/** The fact types that make an entity of each kind exist, for checking a reference to one. */
export const CREATING_TYPES: { readonly [K in EntityKind]: readonly CreatingType<K>[] } = {
  organization: creating('organization'),
  person: creating('person'),
  office: creating('office'),
  session: creating('session'),
  document: creating('document'),
};

/** The fact types that live in streams of kind K (corrections and retractions, which live anywhere, aside). */
export type TypesIn<K extends StreamKind> = { [T in FactType]: Catalogue[T]['stream'] extends { own: K } | { in: K } ? T : never }[FactType];

/** The fact types that live in streams of this kind, as a list the compiler knows as TypesIn<K>. */
export const typesIn = <K extends StreamKind>(kind: K): TypesIn<K>[] =>
  FACT_TYPES.filter((type): type is TypesIn<K> => {
    const rule = ENTRIES[type].stream;
    return rule.own === kind || rule.in === kind;
  });

/** The fact types some reference of which names an entity of kind K. */
export type TypesNaming<K extends EntityKind> = { [T in FactType]: K extends Catalogue[T]['refs'][keyof Catalogue[T]['refs']] ? T : never }[FactType];

/** The fact types that create an entity (of any kind): their own stream is an entity's. */
export type CreatingAnyType = CreatingType<EntityKind>;

export const isCreatingType = (type: FactType): type is CreatingAnyType => createdKind(type) !== undefined;

/** Exhaustiveness check for a `switch` over fact types: adding a type breaks the build here. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
