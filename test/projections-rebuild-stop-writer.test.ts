/**
 * A rebuild in flight when the service is told to stop (test/fixtures/rebuild-stop.ts), the
 * read models applied on the store writer's thread (the embedded store's default): the
 * rebuild's thread stops, the service exits 0, the rebuild answered 503, the read models as before.
 */
import { rebuildStopTests } from './fixtures/rebuild-stop.js';

rebuildStopTests(false, ['writer']);
