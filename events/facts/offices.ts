/** Facts about who held which office, chairmanships and memberships. */
import { z } from 'zod';
import { PartialDate } from '../partial-date.js';
import { Term } from '../term.js';
import { Name, Ref, Strings } from './common.js';

export const OfficialAppointed = z.strictObject({
  office: Ref,
  person: Ref,
  term: Term,
  acting: z.boolean().default(false),
  session: Ref.optional().describe('The session that made the appointment'),
  appointedBy: Ref.optional().describe('The body that appointed'),
});

export const LeftOfficeReason = z.enum(['term-ended', 'resigned', 'dismissed', 'died', 'other']);

export const OfficialLeftOffice = z.strictObject({
  office: Ref,
  person: Ref,
  on: PartialDate.describe('The last day in office'),
  reason: LeftOfficeReason.optional(),
});

export const ChairmanshipPassed = z.strictObject({
  organization: Ref,
  chair: Ref.describe('The state that chairs'),
  term: Term,
  session: Ref.optional(),
  decidedBy: Ref.optional().describe('The body that decided'),
  motto: Name.optional(),
  priorities: Strings.optional(),
});

const Membership = z.strictObject({
  organization: Ref,
  member: Ref.describe('The member, e.g. a state'),
  on: PartialDate,
  reason: Name.optional(),
});
export const MembershipStarted = Membership;
export const MembershipEnded = Membership;
