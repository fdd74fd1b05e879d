/** Facts about meetings of bodies and what happened at them. */
import { z } from 'zod';
import { Key } from '../ids.js';
import { PartialDate } from '../partial-date.js';
import { Term } from '../term.js';
import { fact } from './entry.js';
import { Name, Ref, Strings, Text } from './common.js';

export const SessionHeld = fact({
  data: z.strictObject({
    key: Key.optional(),
    body: Ref.describe('The organization or organ that met'),
    title: Name.optional(),
    number: z.union([z.int().positive(), Name]).optional(),
    held: Term.describe('First and last day; no `to`: a one-day session'),
    place: z.strictObject({ city: Name, country: Ref.optional().describe('A state') }).optional(),
    chairedBy: z.strictObject({ person: Ref, office: Ref.optional().describe('The capacity') }).optional(),
    agenda: Strings.optional(),
  }),
  stream: { own: 'session' },
  identity: ['key'],
  refs: { body: 'organization', 'place.country': 'organization', 'chairedBy.person': 'person', 'chairedBy.office': 'office' },
});

export const ReportDelivered = fact({
  data: z.strictObject({
    session: Ref,
    person: Ref,
    office: Ref.optional().describe('The capacity in which the report was made'),
    subject: Text,
  }),
  stream: { in: 'session', by: 'session' },
  identity: ['session'],
  refs: { session: 'session', person: 'person', office: 'office' },
});

export const DelegateAttended = fact({
  data: z.strictObject({
    session: Ref,
    person: Ref,
    representing: Ref.optional(),
    office: Ref.optional().describe('The capacity'),
  }),
  stream: { in: 'session', by: 'session' },
  identity: ['session'],
  refs: { session: 'session', person: 'person', representing: 'organization', office: 'office' },
});

export const Participant = z
  .strictObject({ person: Ref.optional(), organization: Ref.optional() })
  .refine((p) => p.person !== undefined || p.organization !== undefined, {
    message: 'a participant names a person, an organization, or both',
  });

export const SidelineTalksHeld = fact({
  data: z
    .strictObject({
      session: Ref.optional(),
      on: PartialDate.optional().describe("Default: the session's first day"),
      participants: z.array(Participant).min(1).max(500),
      topics: Strings.optional(),
      summary: Text.optional(),
    })
    .refine((t) => t.session !== undefined || t.on !== undefined, {
      message: 'talks need a session or a date (`on`)',
      path: ['on'],
    }),
  // Talks at a session live in its stream; talks without one in a stream of their own.
  stream: { in: 'session', by: 'session', own: 'talks' },
  identity: ['session'],
  refs: { session: 'session', 'participants.*.person': 'person', 'participants.*.organization': 'organization' },
});
