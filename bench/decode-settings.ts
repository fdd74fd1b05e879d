/**
 * The settings the decoding benchmarks read from the environment (bench/decode-cpu.ts,
 * bench/decoded-handoff.ts): BENCH_DIR (a data dir's copy holding events.db, read only, required),
 * BENCH_EVENTS events (default 200,000) from BENCH_OFFSET (default 300,000), medians of
 * BENCH_ROUNDS (default 6); and the load average, for each figure printed.
 */
import { loadavg } from 'node:os';

export function decodeSettings(): { dir: string; events: number; offset: number; rounds: number } {
  const dir = process.env['BENCH_DIR'];
  if (!dir) throw new Error('BENCH_DIR=<a data dir holding events.db> is required (read only)');
  return { dir, events: Number(process.env['BENCH_EVENTS'] ?? 200_000), offset: Number(process.env['BENCH_OFFSET'] ?? 300_000), rounds: Number(process.env['BENCH_ROUNDS'] ?? 6) };
}

/** The load average, 1, 5 and 15 minutes. */
export const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
