/**
 * What the read models' writer pays when an entity's versions change and no session item names
 * it (a registration, #19, s37-bz): the three UPDATEs of the derived columns (ReadModelWriter
 * `rederive`, what it ran before) against the one statement of three EXISTS it runs first now
 * (`rederiveAny`), each for 20,000 ids no row names, in alternating slices, on a file that
 * applied 40,000 events of bench:apply-cpu's mix. Prints µs of CPU a change.
 * `node --import tsx bench/rederive-probe.ts`
 */
import { openDb, ReadModelWriter } from '../projections/db.js';
import { applyMix } from './apply-mix.js';
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const db = openDb(mkdtempSync(join(tmpdir(), 'annals-bench-probe-')) + '/r.db');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the writer's private statements, read for the measure
const w = new ReadModelWriter(db, pino({ level: 'silent' })) as any;
const g = applyMix();
for (let i = 0; i < 20; i++) w.applyBatch(Array.from({ length: 2000 }, () => g.next().value));
const upd = w.rederive as any[]; const any = w.rederiveAny[0];
const N = 20000; const at = '2026-06-01T00:00:00.000Z';
const r = { updates: [] as number[], probe: [] as number[] };
db.exec('BEGIN');
for (let s = 0; s < 10; s++) {
  for (const k of s % 2 ? ['probe', 'updates'] : ['updates', 'probe']) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const id = `01JZ${k}${s}${i}`;
      if (k === 'updates') for (const u of upd) u.run({ entity: id, at });
      else any.stmt.get(id, at, id, at, id, at);
    }
    const d = process.cpuUsage(t0); (r as any)[k].push((d.user + d.system) / N);
  }
}
db.exec('COMMIT');
const med = (x: number[]) => [...x].sort((a, b) => a - b)[5]?.toFixed(2);
console.log('three UPDATEs', r.updates.map((x) => x.toFixed(2)).join(' '), 'median', med(r.updates));
console.log('one EXISTS probe', r.probe.map((x) => x.toFixed(2)).join(' '), 'median', med(r.probe));
