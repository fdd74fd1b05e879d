/**
 * Corrections and retractions. The original fact stays in the log; the corrected version
 * stops being known at the correction's recordedAt. `data` is the full replacement data,
 * checked against the corrected fact's own schema by the write side. Both live in the
 * stream of the fact they name.
 */
import { z } from 'zod';
import { Ulid } from '../ids.js';
import { fact } from './entry.js';
import { Text } from './common.js';

export const FactCorrected = fact({
  data: z.strictObject({
    fact: Ulid.describe('The factId of the fact corrected'),
    data: z.record(z.string(), z.unknown()).describe("The full replacement `data` of that fact"),
    reason: Text,
  }),
  stream: { amends: 'fact' },
  identity: [],
  refs: {},
});

export const FactRetracted = fact({
  data: z.strictObject({
    fact: Ulid.describe('The factId of the fact retracted'),
    reason: Text,
  }),
  stream: { amends: 'fact' },
  identity: [],
  refs: {},
});
