/**
 * The read-model file's SQLite page size (ANNALS_READ_PAGE_KIB), apart from db.ts so that
 * src/config.ts validates it without loading the read side. Session 45 (s45-ps) measured 4, 8
 * and 16 KiB on the 1,000,000-fact record and kept 4 (bench/RESULTS.md).
 */

/** The page sizes ANNALS_READ_PAGE_KIB accepts (KiB): SQLite's powers of two from 1 to 64. */
export const READ_PAGE_KIB_CHOICES = [1, 2, 4, 8, 16, 32, 64] as const;
/** SQLite's own default page size (KiB), this setting's default. */
export const DEFAULT_READ_PAGE_KIB = 4;

/**
 * The page size, in bytes, of a read-model file SQLite makes (ANNALS_READ_PAGE_KIB, KiB; default
 * 4, SQLite's). Read from the environment where a file is made (openDb, the terms' file), so the
 * service, `annals rebuild` and the benchmarks' rebuilds, and their worker threads, agree;
 * src/config.ts validates it at start. It takes effect only when a file's first page is made: an
 * existing file keeps its size until it is rebuilt (a new file swapped in).
 */
export function readPageBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['ANNALS_READ_PAGE_KIB'];
  if (raw === undefined || raw === '') return DEFAULT_READ_PAGE_KIB * 1024;
  const kib = Number(raw);
  if (!(READ_PAGE_KIB_CHOICES as readonly number[]).includes(kib)) throw new Error(`ANNALS_READ_PAGE_KIB: expected one of ${READ_PAGE_KIB_CHOICES.join(', ')}, got ${raw}`);
  return kib * 1024;
}
