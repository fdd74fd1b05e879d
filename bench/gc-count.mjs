/**
 * A preload for a server under bench/server-cpu.ts (BENCH_GC=1): `node --import <this file>`,
 * with GC_COUNT_FILE set. Counts the event loop's GCs as perf_hooks sees them (the main
 * thread's isolate only: the workers' are their own) and writes the totals to that file every
 * 50 ms, for the bench to read before and after each slice: mark-compacts, their pauses (the
 * atomic part, ms: the incremental steps before it run inside other work), scavenges.
 * Plain JavaScript, so a built server (dist) loads it without tsx.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env['GC_COUNT_FILE'];
// A preload runs in every worker thread too: the event loop's alone.
if (file && isMainThread) {
  const n = { major: 0, majorMs: 0, majorPauses: [], minor: 0, minorMs: 0, incremental: 0, incrementalMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) ((n.major += 1), (n.majorMs += e.duration), n.majorPauses.push(Math.round(e.duration * 10) / 10));
      else if (kind === constants.NODE_PERFORMANCE_GC_MINOR) ((n.minor += 1), (n.minorMs += e.duration));
      else if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) ((n.incremental += 1), (n.incrementalMs += e.duration));
    }
  }).observe({ entryTypes: ['gc'] });
  // Renamed into place, so a reader never sees half a file.
  setInterval(() => (writeFileSync(`${file}.tmp`, JSON.stringify(n)), renameSync(`${file}.tmp`, file)), 50).unref();
}
