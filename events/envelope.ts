/**
 * Event metadata carried by every fact. `recordedAt` is not here: the store assigns it at
 * commit (StoredEvent.recordedAt), never the client.
 */
import { z } from 'zod';
import { Ulid } from './ids.js';
import { Source } from './source.js';

/**
 * The version of the fact schemas written now. Older events are upcast on read
 * (events/upcast.ts). 2: OrganizationRegistered.classification is free text.
 */
export const SCHEMA_VERSION = 2;

export const FactMetadata = z.strictObject({
  factId: Ulid,
  recordedBy: z.string().min(1).max(200).describe('The authenticated principal, e.g. recorder:alice'),
  source: Source,
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).optional(),
  schemaVersion: z.int().positive(),
  idempotencyKey: z.string().min(1).max(200).optional(),
});
export type FactMetadata = z.infer<typeof FactMetadata>;
