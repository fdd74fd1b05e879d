/**
 * A rebuild in flight when the process is told to stop (test/fixtures/rebuild-stop.ts): `annals
 * rebuild` SIGINTed, and the service with its read models threaded and inline SIGTERMed (the
 * writer-thread placement, the embedded store's default: projections-rebuild-stop-writer.test.ts).
 */
import { rebuildStopTests } from './fixtures/rebuild-stop.js';

rebuildStopTests(true, ['thread', 'inline']);
