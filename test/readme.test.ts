/** The README shows the worked example that test/example-worked.test.ts executes, word for word. */
import { readFileSync } from 'node:fs';
import t from 'tap';

const read = (rel: string): string => readFileSync(new URL(`../${rel}`, import.meta.url), 'utf8');

t.test("README's worked example is the tested one", async (t) => {
  const readme = read('README.md');
  const start = readme.indexOf('<!-- worked-example');
  const end = readme.indexOf('<!-- /worked-example -->');
  t.ok(start >= 0 && end > start, 'README has the worked-example block');
  const block = readme.slice(readme.indexOf('-->', start) + 4, end).trim();
  t.equal(block, read('src/example/WORKED-EXAMPLE.md').trim(), 'copy src/example/WORKED-EXAMPLE.md into README.md after changing it');
});

t.test('README shows the two set-up commands', async (t) => {
  const readme = read('README.md');
  t.match(readme, 'npm ci && npm start');
  t.match(readme, 'npm ci && npm test');
});
