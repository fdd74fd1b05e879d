/** Facts that bring an entity into the record. The factId is also the entity's id. */
import { z } from 'zod';
import { Key } from '../ids.js';
import { fact } from './entry.js';
import { Aliases, Name, Ref } from './common.js';

/**
 * What kind of organization it is, as free text: Popolo's classification (an organization
 * category: "intergovernmental organization", "parliament", "committee"). Schema version 1
 * allowed five values only; their words keep their meaning (events/upcast.ts):
 * `international organization` (version 1's `organization`), `state` (a sovereign state),
 * `body` (an organ of its `parent`), `secretariat` (the secretariat of its `parent`), `other`.
 */
export const Classification = z.string().trim().min(1).max(200);

export const OrganizationRegistered = fact({
  data: z.strictObject({
    key: Key,
    name: Name,
    classification: Classification.default('international organization').describe(
      'Free text, as Popolo has it: e.g. international organization (the default), intergovernmental organization, state, body (an organ of the parent), secretariat, parliament, committee',
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
