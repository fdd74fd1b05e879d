/**
 * The progress line carries a note while the count stands still (a rebuild's steps after its
 * last event: src/cli/rebuild.ts), and drops it at the end.
 */
import t from 'tap';
import { progress } from '../src/cli/progress.js';

t.test('a note shows with the count while given, and not in the last line', (t) => {
  const lines: string[] = [];
  let clock = 0;
  const bar = progress({ stream: { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream, label: 'rebuild', total: null, now: () => clock });
  clock = 2500;
  bar.update(1000);
  clock = 5000;
  bar.update(1000, 'log applied, finishing: terms: cut done');
  clock = 5100;
  bar.update(1000, 'log applied, finishing: terms: indexes done');
  clock = 7500;
  bar.update(1000, 'log applied, finishing: statistics (ANALYZE) done');
  bar.finish(1000);
  t.same(lines, ['rebuild: 1,000 400/s\n', 'rebuild: 1,000 200/s, log applied, finishing: terms: cut done\n', 'rebuild: 1,000 133/s, log applied, finishing: statistics (ANALYZE) done\n', 'rebuild: 1,000 133/s\n']);
  t.end();
});
