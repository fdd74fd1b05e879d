/** Facts about who held which office, chairmanships and memberships. */
import { z } from 'zod';
import { PartialDate } from '../partial-date.js';
import { Term } from '../term.js';
import { fact } from './entry.js';
import { Name, Ref, Strings } from './common.js';

export const OfficialAppointed = fact({
  data: z.strictObject({
    office: Ref,
    person: Ref,
    term: Term,
    acting: z.boolean().default(false),
    session: Ref.optional().describe('The session that made the appointment'),
    appointedBy: Ref.optional().describe('The body that appointed'),
  }),
  stream: { in: 'office', by: 'office' },
  identity: ['office'],
  refs: { office: 'office', person: 'person', session: 'session', appointedBy: 'organization' },
});

export const LeftOfficeReason = z.enum(['term-ended', 'resigned', 'dismissed', 'died', 'other']);

export const OfficialLeftOffice = fact({
  data: z.strictObject({
    office: Ref,
    person: Ref,
    on: PartialDate.describe('The last day in office'),
    reason: LeftOfficeReason.optional(),
  }),
  stream: { in: 'office', by: 'office' },
  identity: ['office'],
  refs: { office: 'office', person: 'person' },
});

export const ChairmanshipPassed = fact({
  data: z.strictObject({
    organization: Ref,
    chair: Ref.describe('The state that chairs'),
    term: Term,
    session: Ref.optional(),
    decidedBy: Ref.optional().describe('The body that decided'),
    motto: Name.optional(),
    priorities: Strings.optional(),
  }),
  stream: { in: 'organization', by: 'organization' },
  identity: ['organization'],
  refs: { organization: 'organization', chair: 'organization', session: 'session', decidedBy: 'organization' },
});

const Membership = z.strictObject({
  organization: Ref,
  member: Ref.describe('The member, e.g. a state'),
  on: PartialDate,
  reason: Name.optional(),
});

export const MembershipStarted = fact({
  data: Membership,
  stream: { in: 'organization', by: 'organization' },
  identity: ['organization'],
  refs: { organization: 'organization', member: 'organization' },
});

export const MembershipEnded = fact({
  data: Membership,
  stream: { in: 'organization', by: 'organization' },
  identity: ['organization'],
  refs: { organization: 'organization', member: 'organization' },
});
