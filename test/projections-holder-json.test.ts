/**
 * The holder answer written by SQLite in one statement (projections/offices/holder-json.ts,
 * ReadQueries.holderJson, what a read worker answers) equals, byte for byte, JSON.stringify of
 * the answer built as objects (ReadQueries.holder, which the holder property test compares
 * with the brute-force fold of the log): on random histories of every fact type with
 * attestations (chairs, delegates, reports) an appointment covers or not, corrections of
 * appointments, sessions and attestations, retracted people and offices, many facts in one
 * millisecond; at partial and full validAt, at every recording moment and either side of it.
 */
import t from 'tap';
import { TestLog, prng, recordRichHistory, startReadApp } from './fixtures/history.js';
import type { ReadQueries } from '../projections/queries.js';

/** The objects' answer as the route would write it (null: the office is not known at k). */
function viaObjects(q: ReadQueries, ref: string, validAt: string, k: string): string | null {
  const o = q.holder(ref, validAt, k);
  return o === null ? null : JSON.stringify({ office: o.office, validAt, knownAt: k, holders: o.holders });
}

/** A history, then corrections and retractions the rich history does not make. */
function history(seed: number): { log: TestLog; offices: string[] } {
  const log = new TestLog();
  recordRichHistory(log, 420, seed, { offices: 3, people: 5, sameInstant: 0.3 });
  const rnd = prng(seed * 31);
  const of = (type: string) => log.events.filter((e) => e.type === type);
  const id = (e: { metadata: Record<string, unknown> }) => e.metadata['factId'] as string;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  // A session moved to other days, an attestation corrected (its item shows correctedBy), a person retracted (a view of nulls).
  for (let i = 0; i < 4; i++) {
    const s = pick(of('SessionHeld'));
    const y = 1990 + Math.floor(rnd() * 40);
    log.record('FactCorrected', { fact: id(s), data: { ...(s.data as object), held: { from: `${y}-0${1 + Math.floor(rnd() * 9)}` } }, reason: 'moved' });
    const d = pick([...of('DelegateAttended'), ...of('ReportDelivered')]);
    log.record('FactCorrected', { fact: id(d), data: { ...(d.data as object) }, reason: 'restated' });
  }
  log.record('FactRetracted', { fact: id(pick(of('PersonRegistered'))), reason: 'not a person' });
  const offices = of('OfficeEstablished').map(id);
  // The last office is retracted at the end: unknown after, known before.
  log.record('FactRetracted', { fact: offices.at(-1) as string, reason: 'no such office' });
  return { log, offices };
}

function days(rnd: () => number, n: number): string[] {
  return Array.from({ length: n }, () => {
    const y = 1988 + Math.floor(rnd() * 45);
    const m = String(1 + Math.floor(rnd() * 12)).padStart(2, '0');
    const p = rnd();
    return p < 0.25 ? `${y}` : p < 0.5 ? `${y}-${m}` : `${y}-${m}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
  });
}

t.test('holderJson equals JSON.stringify of the holder objects, byte for byte', async (t) => {
  let compared = 0;
  const seen = { attested: 0, appointed: 0, corrected: 0, correctedAttestation: 0, unknownPerson: 0, possible: 0, unknownOffice: 0 };
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const { log, offices } = history(seed);
    const { readModels } = await startReadApp(t, log);
    await readModels.caughtUp();
    const q = readModels.queries;
    const rnd = prng(seed);
    const times = [...new Set(log.events.map((e) => e.recordedAt))];
    const moments = [...times.flatMap((at) => [-1, 0, 1].map((d) => new Date(Date.parse(at) + d).toISOString())), new Date().toISOString()];
    const refs = [...offices, 'office-0', 'office-1', 'no-such-office', '01ARZ3NDEKTSV4RRFFQ69G5FAV'];
    for (const k of moments.filter((_, i) => i % 5 === 0 || rnd() < 0.1)) {
      for (const ref of refs) {
        for (const validAt of days(rnd, 4)) {
          const text = q.holderJson(ref, validAt, k);
          const expected = viaObjects(q, ref, validAt, k);
          compared += 1;
          if (text !== expected) {
            t.equal(text, expected, `office ${ref} validAt ${validAt} knownAt ${k} (seed ${seed})`);
            return;
          }
          if (text === null) seen.unknownOffice += 1;
          else {
            seen.attested += text.split('"basis":"attested"').length - 1;
            seen.appointed += text.split('"basis":"appointed"').length - 1;
            seen.corrected += text.split('"correctedBy"').length - 1;
            seen.correctedAttestation += (text.match(/"capacity":"[a-z]+","correctedBy"/g) ?? []).length;
            seen.unknownPerson += text.split('"key":null,"name":null').length - 1;
            seen.possible += text.split('"possible"').length - 1;
          }
        }
      }
    }
  }
  t.ok(compared > 10_000, `${compared} answers compared`);
  // Every branch of the statement was met.
  for (const [what, n] of Object.entries(seen)) t.ok(n > 0, `${what}: ${n}`);
});
