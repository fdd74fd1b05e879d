/**
 * No statement of the service binds its LIMIT or OFFSET as a bare parameter. SQLite (3.53, the
 * version better-sqlite3 12 bundles) marks the variable of a bare `LIMIT @n` or `LIMIT ?`
 * (sqlite3ExprIsInteger, to plan with its value when it is bound as an INTEGER; better-sqlite3
 * binds a JS number as a REAL, so it never was), and binding a marked variable expires the
 * statement, so every run first parsed and planned it again: ~85–125 µs for a documents
 * page's keyset statement, ~7 µs for the log's `position > ? ORDER BY position LIMIT ?`.
 * `LIMIT +@n` is an expression read at run time (query-context.ts `LIMIT`). This test reads
 * the sources (the expiry itself leaves no trace better-sqlite3 shows: the program is the same,
 * only its cost at each run differs, measured in bench/page-cpu.ts and by hand).
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = ['src', 'projections'];
const BARE = /\b(LIMIT|OFFSET)\s+(@|\?|:|\$(?!\{))/g; // ${…} is a constant written into the SQL

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

t.test('no LIMIT or OFFSET is a bare bound parameter in the service’s SQL', async (t) => {
  const files = ROOTS.flatMap(sources);
  t.ok(files.length > 50, `${files.length} source files read`);
  const found = files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.match(BARE) && !line.trimStart().startsWith('*') && !line.trimStart().startsWith('//') ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
  t.same(found, [], 'write LIMIT +@n (query-context.ts LIMIT) or LIMIT +?');
});


/**
 * Nor is a LIKE or GLOB pattern: SQLite marks a bare bound pattern's variable too (whereexpr.c
 * isLikeOrGlob, for the LIKE optimisation, which a pattern opening with `%` and a column
 * without TEXT affinity never get here), so binding it expired the statement at every run:
 * a people page by name ~65 → ~46 µs of CPU (session 29, the 1,000,000-fact record).
 * `LIKE +@pattern` matches alike: unary plus leaves a text as it is.
 */
t.test('no LIKE or GLOB pattern is a bare bound parameter in the service’s SQL', async (t) => {
  const PATTERN = /\b(LIKE|GLOB)\s+(@|\?|:|\$(?!\{))/gi;
  const found = ROOTS.flatMap(sources).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.match(PATTERN) && !line.trimStart().startsWith('*') && !line.trimStart().startsWith('//') ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
  t.same(found, [], 'write LIKE +@pattern');
});
