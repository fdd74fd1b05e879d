/**
 * Corrections and retractions. The original fact stays in the log; the corrected version
 * stops being known at the correction's recordedAt. `data` is the full replacement data,
 * checked against the corrected fact's own schema by the write side.
 */
import { z } from 'zod';
import { Ulid } from '../ids.js';
import { Text } from './common.js';

export const FactCorrected = z.strictObject({
  fact: Ulid.describe('The factId of the fact corrected'),
  data: z.record(z.string(), z.unknown()).describe("The full replacement `data` of that fact"),
  reason: Text,
});

export const FactRetracted = z.strictObject({
  fact: Ulid.describe('The factId of the fact retracted'),
  reason: Text,
});
