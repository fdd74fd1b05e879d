import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'tap';
import { getHeapStatistics } from 'node:v8';
import { HEAP_GROWING_PERCENT, heapGrowingFlag, setHeapGrowth } from '../src/heap-growth.js';
import { nodeArgs } from './fixtures/node-child.js';

test('the heap growing flag: set unless node was given one', (t) => {
  t.equal(heapGrowingFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  t.equal(heapGrowingFlag(['--enable-source-maps']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  t.equal(heapGrowingFlag(['--heap-growing-percent=50']), null);
  t.equal(heapGrowingFlag(['--heap_growing_percent=50']), null);
  t.equal(heapGrowingFlag([], 0), null, '0 lets V8 choose');
  t.end();
});

test('setting it is accepted by V8 and leaves the heap usable', (t) => {
  t.equal(setHeapGrowth([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  t.equal(setHeapGrowth(['--heap-growing-percent=100']), null);
  const junk = Array.from({ length: 10_000 }, (_, i) => ({ i, s: `x${i}` }));
  t.equal(junk.length, 10_000);
  t.ok(getHeapStatistics().total_heap_size > 0);
  t.end();
});

const CHILD = fileURLToPath(new URL('./fixtures/heap-growth-child.ts', import.meta.url));
/** The child's mark-compacts over its fixed allocation, with setHeapGrowth given `percent` after the start. */
const markCompacts = (percent: number): { flag: string | null; count: number } => {
  const r = spawnSync(process.execPath, ['--trace-gc', ...nodeArgs(CHILD, String(percent))], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`heap growth child exited ${r.status}: ${r.stderr}`);
  const result = JSON.parse(r.stdout.split('\n').filter((l) => l.startsWith('{')).at(-1)!) as { flag: string | null };
  return { flag: result.flag, count: r.stdout.split('\n').filter((l) => l.includes('Mark-Compact')).length };
};

test('set after the start, it takes effect: the heap grows further between mark-compacts', (t) => {
  // Node documents flags set after the start as unsupported: this one is read at each new heap limit.
  const small = markCompacts(10);
  const ours = markCompacts(HEAP_GROWING_PERCENT);
  t.equal(small.flag, '--heap-growing-percent=10');
  t.equal(ours.flag, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  t.ok(ours.count > 0, `${ours.count} mark-compacts at ${HEAP_GROWING_PERCENT}%`);
  t.ok(small.count > 2 * ours.count, `${small.count} at 10% against ${ours.count} at ${HEAP_GROWING_PERCENT}%: the setting holds`);
  t.end();
});
