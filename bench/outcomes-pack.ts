/**
 * A unit's outcomes crossing back from the store writer (#19, s38-bz), alone: what the writer
 * does to send them and the event loop to take them, as one structured clone in this thread
 * (postMessage serializes on the writer's side and deserializes on the event loop's). Now:
 * packOutcomes, the clone, unpackOutcomes from the waves sent. Before (BENCH_ROOT's
 * sqlite-writer-protocol, which has encodeOutcomes): encodeOutcomes, the clone, decodeOutcomes.
 * Units like bench:record's: a batch part (1,000 appends of one event) and a group of single
 * facts (16 facts: a key reservation and a registration, two waves of one append each, and an
 * attendance). Alternating slices; µs of CPU an append (this thread's user + system, GC included).
 * `BENCH_ROOT=/work/wt-base38 node --import tsx bench/outcomes-pack.ts`; BENCH_SLICES (10).
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { packOutcomes, unpackOutcomes } from '../src/store/sqlite-writer-protocol.js';
import { encodePosition } from '../src/store/positions.js';
import type { AppendOutcome, PendingAppend } from '../src/store/sqlite-writer.js';

const root = process.env['BENCH_ROOT'];
if (!root) throw new Error('BENCH_ROOT=<the base worktree> (its encodeOutcomes and decodeOutcomes)');
type Old = { encodeOutcomes(o: AppendOutcome[][]): unknown; decodeOutcomes(o: unknown): AppendOutcome[][] };
const old = (await import(join(resolve(root), 'src/store/sqlite-writer-protocol.ts'))) as Old;
const SLICES = Number(process.env['BENCH_SLICES'] ?? 10);
const at = new Date().toISOString();
let position = 1_000_000;

/** A unit's waves and the outcomes GroupWriter gives them (each append stored as sent). */
function unit(waves: PendingAppend[][]): { waves: PendingAppend[][]; outcomes: AppendOutcome[][] } {
  const outcomes = waves.map((wave) =>
    wave.map((a): AppendOutcome => {
      const events = a.events.map((e, k) => ({ id: e.id, revision: k, position: encodePosition(position++), recordedAt: at }));
      return { ok: true, value: { stream: a.stream, nextRevision: events.length - 1, events } };
    }),
  );
  return { waves, outcomes };
}
const event = () => ({ id: randomUUID(), type: 'PersonRegistered', data: '{}', metadata: '{}' });
const append = (): PendingAppend => ({ stream: `person-${randomUUID()}`, expected: 'no_stream', events: [event()] });
const batchPart = () => unit([Array.from({ length: 1_000 }, append)]);
const group = () => unit([Array.from({ length: 8 }, append), Array.from({ length: 16 }, append)]);

const ways = {
  before: (u: ReturnType<typeof unit>) => old.decodeOutcomes(structuredClone(old.encodeOutcomes(u.outcomes))),
  packed: (u: ReturnType<typeof unit>) => unpackOutcomes(structuredClone(packOutcomes(u.outcomes, u.waves)), u.waves),
};
for (const [label, make, units] of [['a batch part (1,000 appends)', batchPart, 40], ['a group of 16 single facts (24 appends)', group, 2_000]] as const) {
  const results: Record<string, number[]> = { before: [], packed: [] };
  const kept: unknown[] = [];
  for (let s = -1; s < SLICES; s++) {
    for (const name of s % 2 === 0 ? (['before', 'packed'] as const) : (['packed', 'before'] as const)) {
      const input = Array.from({ length: units }, make);
      const appends = input.reduce((n, u) => n + u.waves.reduce((m, w) => m + w.length, 0), 0);
      kept.length = 0;
      const t0 = process.cpuUsage();
      for (const u of input) kept.push(ways[name](u));
      const d = process.cpuUsage(t0);
      if (s >= 0) results[name]?.push((d.user + d.system) / appends);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(`${label}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  for (const [name, r] of Object.entries(results)) console.log(`  ${name}: ${r.map((x) => x.toFixed(2)).join(', ')} µs an append; median ${median(r).toFixed(2)}`);
}
