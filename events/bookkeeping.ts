/**
 * Bookkeeping events: written by the write side to keep invariants, not facts about the
 * world. They appear in the log (and in the audit export) under their own types.
 */
import { z } from 'zod';
import { Key, Ulid } from './ids.js';
import { ENTITY_KINDS } from './streams.js';

export const KeyReserved = z.strictObject({
  key: Key,
  entityId: Ulid,
  entityKind: z.enum(ENTITY_KINDS),
  factId: Ulid,
});
export type KeyReserved = z.infer<typeof KeyReserved>;

export const BOOKKEEPING_TYPES = ['KeyReserved'] as const;
