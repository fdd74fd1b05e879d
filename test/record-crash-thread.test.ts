/**
 * kill -9 of the real server while it records, the read models in their thread: every fact that
 * got a 201 is in the log after the kill, exactly once; no key reservation is left without its
 * registration (a group's waves commit together); and the read models the killed process was
 * keeping, once a new process on the same data caught up, equal a rebuild from the log, row for
 * row (test/fixtures/record-crash.ts; ANNALS_READ_MODELS=writer in record-crash-writer.test.ts).
 */
import t from 'tap';
import { crashCase } from './fixtures/record-crash.js';

crashCase(t, 'thread');
