import { test } from 'tap';
import { getHeapStatistics } from 'node:v8';
import { HEAP_GROWING_PERCENT, heapGrowingFlag, setHeapGrowth } from '../src/heap-growth.js';

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
