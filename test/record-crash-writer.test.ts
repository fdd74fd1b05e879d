/**
 * kill -9 of the real server while it records, the read models applied on the store writer's
 * thread (ANNALS_READ_MODELS=writer): the same case as record-crash-thread.test.ts
 * (test/fixtures/record-crash.ts), in a file of its own to stay well inside tap's timeout.
 */
import t from 'tap';
import { crashCase } from './fixtures/record-crash.js';

crashCase(t, 'writer');
