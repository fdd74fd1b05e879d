/**
 * A bulk build's terms (offices/terms-index.ts), cut and indexed on a thread of their own
 * (terms-build.ts starts it): the file it is given holds the appointments and departures the
 * build's thread copied there (copyTermsInputs); this thread cuts them into `terms`, builds its
 * indexes and packs `terms_rt` in that file, while the build's thread goes on with the other
 * tables' indexes and closes; then the build copies the finished table and index in.
 */
// First: this thread's heap was just made (src/young-generation.ts).
import '../src/young-generation.js';
import { parentPort, workerData } from 'node:worker_threads';
import { finishTermsFile, type TermsThreadInit, type TermsThreadReply } from './terms-build.js';

const init = workerData as TermsThreadInit;
const port = parentPort as NonNullable<typeof parentPort>;
try {
  const made = finishTermsFile(init.path, init.tempOnDisk === true, init.readOutOnly === true);
  port.postMessage({ kind: 'done', ...made } satisfies TermsThreadReply);
} catch (err) {
  port.postMessage({ kind: 'failed', message: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code ?? null } satisfies TermsThreadReply);
} finally {
  port.close();
}
