/**
 * What a unit of appends costs to cross to the store writer's thread, text against bytes
 * (`node --import tsx bench/unit-transfer.ts`): the bench:record batch's mix (a key reservation,
 * a PersonRegistered, a DelegateAttended; 1,000 appends a unit, as the recorder's waves send
 * them) encoded on this thread as encodeUnit's string (posted, copied) or encodeUnitBytes'
 * buffer (transferred), decoded on a worker thread; CPU of the whole process (both threads)
 * per event, in alternating slices. Environment: BENCH_ROUNDS (default 8), BENCH_UNITS (a
 * slice's units, default 200).
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { startWorker } from '../src/store/worker-thread.js';
import { decodeUnit, decodeUnitBytes, encodeUnit, encodeUnitBytes } from '../src/store/sqlite-writer-protocol.js';
import type { PendingAppend } from '../src/store/sqlite-writer.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 8);
const UNITS = Number(process.env['BENCH_UNITS'] ?? 200);

if (!isMainThread) {
  parentPort?.on('message', (m: string | Uint8Array) => {
    const waves = typeof m === 'string' ? decodeUnit(m) : decodeUnitBytes(m);
    parentPort?.postMessage(waves.length);
  });
} else {
  const meta = (i: number) => JSON.stringify({ factId: `01KB19R500D0CSEXAMP1E${String(i).padStart(5, '0')}`, recordedBy: 'recorder', source: { title: 'Benchmark', publisher: 'Annals' }, correlationId: `req-${i}`, schemaVersion: 3 });
  const unit = (n: number): PendingAppend[][] => {
    const keys: PendingAppend[] = [];
    const people: PendingAppend[] = [];
    const attended: PendingAppend[] = [];
    for (let i = 0; i < n / 3; i++) {
      const id = `01KB19R500D0CSEXAMP1E${String(i).padStart(5, '0')}`;
      keys.push({ stream: `key-bench-person-${i}`, expected: 'no_stream', events: [{ id: `0199a0b4-${i}-4000-8000-000000000000`, type: 'KeyReserved', data: JSON.stringify({ key: `bench-person-${i}`, entityId: id, entityKind: 'person', factId: id }), metadata: JSON.stringify({ causationId: id, recordedBy: 'recorder', schemaVersion: 3 }) }] });
      people.push({ stream: `person-${id}`, expected: 'no_stream', events: [{ id: `0199a0b4-${i}-4000-8000-000000000001`, type: 'PersonRegistered', data: JSON.stringify({ key: `bench-person-${i}`, name: `Bench Person ${i}` }), metadata: meta(i) }] });
      attended.push({ stream: 'session-01KB19R500D0CSEXAMP1E00000', expected: i, events: [{ id: `0199a0b4-${i}-4000-8000-000000000002`, type: 'DelegateAttended', data: JSON.stringify({ session: '01KB19R500D0CSEXAMP1E00000', person: id, role: 'delegate' }), metadata: meta(i) }] });
    }
    return [keys, people, attended];
  };
  const waves = unit(1_000);
  const events = waves.reduce((n, w) => n + w.length, 0);
  const worker = startWorker(new URL(import.meta.url));
  const send = (kind: 'text' | 'bytes'): Promise<unknown> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      if (kind === 'text') worker.postMessage(encodeUnit(waves));
      else {
        const b = encodeUnitBytes(waves) as Uint8Array;
        worker.postMessage(b, [b.buffer as ArrayBuffer]);
      }
    });
  const slice = async (kind: 'text' | 'bytes'): Promise<number> => {
    const t = process.cpuUsage();
    for (let u = 0; u < UNITS; u++) await send(kind);
    const d = process.cpuUsage(t);
    return (d.user + d.system) / (UNITS * events);
  };
  await slice('text');
  await slice('bytes');
  const got: Record<'text' | 'bytes', number[]> = { text: [], bytes: [] };
  for (let r = 0; r < ROUNDS; r++) for (const kind of r % 2 === 0 ? (['text', 'bytes'] as const) : (['bytes', 'text'] as const)) got[kind].push(await slice(kind));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  process.stdout.write(`a unit of ${events} appends, both threads, µs of CPU an event (median of ${ROUNDS} slices): text ${median(got.text).toFixed(2)} (${got.text.map((x) => x.toFixed(2)).join(' ')}), bytes ${median(got.bytes).toFixed(2)} (${got.bytes.map((x) => x.toFixed(2)).join(' ')})\n`);
  await worker.terminate();
}
