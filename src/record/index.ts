/** The write side's application service (see recorder.ts) and the request it takes. */
export { createRecorder, type BatchOutcome, type RecordContext, type RecordedFact, type Recorder, type RecorderDeps } from './recorder.js';
export { factIdFromIdempotencyKey } from './idempotency.js';
export { FactRequest, factRequestAsIs, fieldProblems, parseFactRequest } from './request.js';
