/**
 * The fact catalogue: one zod schema per fact type. The stored contract: change a schema
 * with care, bump SCHEMA_VERSION and add an upcaster (events/upcast.ts) for old shapes.
 */
import { z } from 'zod';
import { FactCorrected, FactRetracted } from './corrections.js';
import { DocumentAdopted, DocumentConsidered } from './documents.js';
import { ChairmanshipPassed, MembershipEnded, MembershipStarted, OfficialAppointed, OfficialLeftOffice } from './offices.js';
import { OfficeEstablished, OrganizationRegistered, PersonRegistered } from './registrations.js';
import { DelegateAttended, ReportDelivered, SessionHeld, SidelineTalksHeld } from './sessions.js';

export * from './common.js';
export * from './corrections.js';
export * from './documents.js';
export * from './offices.js';
export * from './registrations.js';
export * from './sessions.js';

export const factSchemas = {
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

export type FactType = keyof typeof factSchemas;
export const FACT_TYPES = Object.keys(factSchemas) as FactType[];

/** The `data` of each fact type, as stored (after defaults are applied). */
export type FactData<T extends FactType = FactType> = z.output<(typeof factSchemas)[T]>;
/** The `data` of each fact type, as a client may send it (defaults not yet applied). */
export type FactDataInput<T extends FactType = FactType> = z.input<(typeof factSchemas)[T]>;

/** A fact: its type and data. A discriminated union, so a `switch` on `type` narrows `data`. */
export type Fact = { [T in FactType]: { type: T; data: FactData<T> } }[FactType];

export function isFactType(type: string): type is FactType {
  return Object.prototype.hasOwnProperty.call(factSchemas, type);
}

/** Exhaustiveness check for a `switch` over fact types: adding a type breaks the build here. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
