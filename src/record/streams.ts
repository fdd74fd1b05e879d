/** Which stream a fact goes to (DESIGN.md, "Facts"; events/streams.ts), from its resolved data. */
import { assertNever, streamOf, type EntityKind, type FactType } from '../../events/index.js';

/** The kind of entity a creating fact brings into the record (its key is reserved for it). */
export const CREATED_KIND: Partial<Record<FactType, Exclude<EntityKind, 'talks'>>> = {
  OrganizationRegistered: 'organization',
  PersonRegistered: 'person',
  OfficeEstablished: 'office',
  SessionHeld: 'session',
  DocumentConsidered: 'document',
  DocumentAdopted: 'document',
};

/** The fact types that make each kind of entity exist, for checking a reference. */
export const CREATING_TYPES: Record<Exclude<EntityKind, 'talks'>, FactType[]> = {
  organization: ['OrganizationRegistered'],
  person: ['PersonRegistered'],
  office: ['OfficeEstablished'],
  session: ['SessionHeld'],
  document: ['DocumentConsidered', 'DocumentAdopted'],
};

/** Corrections and retractions are not here: they go to the stream of the fact they name. */
export function streamFor(type: Exclude<FactType, 'FactCorrected' | 'FactRetracted'>, factId: string, data: Record<string, unknown>): string {
  const ref = (field: string): string => data[field] as string;
  switch (type) {
    case 'OrganizationRegistered':
      return streamOf('organization', factId);
    case 'PersonRegistered':
      return streamOf('person', factId);
    case 'OfficeEstablished':
      return streamOf('office', factId);
    case 'SessionHeld':
      return streamOf('session', factId);
    case 'DocumentConsidered':
      return streamOf('document', factId);
    case 'DocumentAdopted':
      return streamOf('document', data['document'] === undefined ? factId : ref('document'));
    case 'MembershipStarted':
    case 'MembershipEnded':
    case 'ChairmanshipPassed':
      return streamOf('organization', ref('organization'));
    case 'OfficialAppointed':
    case 'OfficialLeftOffice':
      return streamOf('office', ref('office'));
    case 'ReportDelivered':
    case 'DelegateAttended':
      return streamOf('session', ref('session'));
    case 'SidelineTalksHeld':
      return data['session'] === undefined ? streamOf('talks', factId) : streamOf('session', ref('session'));
    default:
      return assertNever(type);
  }
}
