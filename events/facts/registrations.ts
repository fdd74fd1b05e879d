/** Facts that bring an entity into the record. The factId is also the entity's id. */
import { z } from 'zod';
import { Key } from '../ids.js';
import { fact } from './entry.js';
import { Aliases, Name, Ref } from './common.js';

export const Classification = z.enum(['organization', 'state', 'body', 'secretariat', 'other']);

export const OrganizationRegistered = fact({
  data: z.strictObject({
    key: Key,
    name: Name,
    classification: Classification.default('organization').describe(
      'organization (an international organization), state, body (an organ of a parent), secretariat, other',
    ),
    parent: Ref.optional().describe('The organization this one is a body or secretariat of'),
    aliases: Aliases.optional(),
  }),
  stream: { own: 'organization' },
  identity: ['key'],
  refs: { parent: 'organization' },
});

export const PersonRegistered = fact({
  data: z.strictObject({
    key: Key.optional(),
    name: Name,
    aliases: Aliases.optional(),
  }),
  stream: { own: 'person' },
  identity: ['key'],
  refs: {},
});

export const OfficeEstablished = fact({
  data: z.strictObject({
    key: Key,
    organization: Ref,
    title: Name,
    multipleHolders: z.boolean().default(false).describe('false: at most one holder a day (handover day excepted)'),
  }),
  stream: { own: 'office' },
  identity: ['key'],
  refs: { organization: 'organization' },
});
