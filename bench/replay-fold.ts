/**
 * A replay's fold kept (#19): the log of BENCH_DIR (a data dir; only read) recorded by BENCH_KNOWN_AT
 * folded as `annals replay` folds it (readOutOnly, temporary tables on files) into BENCH_FOLD, which
 * is left in place, so that the read-out's parts can be measured on it again and again
 * (bench/replay-units.ts) without folding each time.
 */
import { pino } from 'pino';
import { buildFresh } from '../projections/index.js';
import { openBenchStore } from './sealed-store.js';

const dir = process.env['BENCH_DIR'];
const path = process.env['BENCH_FOLD'];
const knownAt = process.env['BENCH_KNOWN_AT'];
if (!dir || !path || !knownAt) throw new Error('BENCH_DIR, BENCH_FOLD and BENCH_KNOWN_AT are required');
const store = openBenchStore(dir, { readOnly: true, cacheSizeKiB: 2048 });
try {
  await buildFresh(store, path, pino({ level: 'silent' }), (p) => process.stderr.write(`\r${p.applied} events`), undefined, { knownAt, tempOnDisk: true, readOutOnly: true });
  process.stderr.write(`\nfolded into ${path}\n`);
} finally {
  await store.close();
}
