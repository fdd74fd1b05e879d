/**
 * The property: for random histories of appointments, departures, corrections and retractions
 * with partial dates, every answer of GET /v1/offices/{office}/holder for random
 * (validAt, knownAt) equals the brute-force answer folded from the log filtered to
 * recordedAt <= knownAt.
 */
import t from 'tap';
import fc from 'fast-check';
import { buildHistory, op, oracleHolder, partialDate, startReadApp } from './fixtures/history.js';

t.test('holder endpoint equals the brute-force fold of the log, on both time axes', async (t) => {
  const started = Date.now();
  let queries = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.array(fc.tuple(partialDate, fc.nat(), fc.constantFrom(-1, 0, 1)), { minLength: 5, maxLength: 25 }), async (ops, probes) => {
      const h = buildHistory(ops);
      const teardowns: (() => unknown)[] = [];
      try {
        const { app, readModels } = await startReadApp({ teardown: (fn) => teardowns.push(fn) }, h.log);
        await readModels.caughtUp();
        for (const [validAt, i, shift] of probes) {
          const base = Date.parse(h.times[i % h.times.length] as string);
          const knownAt = new Date(base + shift).toISOString();
          const res = await app.inject({ url: `/v1/offices/${h.office}/holder?validAt=${validAt}&knownAt=${knownAt}` });
          queries += 1;
          const expected = oracleHolder(h.log.events, h.office, validAt, knownAt);
          if (expected === null) {
            if (res.statusCode !== 404) throw new Error(`expected 404 at ${knownAt}, got ${res.statusCode}`);
            continue;
          }
          if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
          // The endpoint answers with text built from cached item text: byte for byte what
          // JSON.stringify makes of the answer's objects.
          const objects = readModels.queries.holder(h.office, validAt, knownAt);
          if (objects === null || res.body !== JSON.stringify({ office: objects.office, validAt, knownAt, holders: objects.holders })) throw new Error(`text answer differs from the objects at validAt=${validAt} knownAt=${knownAt}: ${res.body}`);
          if (!String(res.headers['content-type']).startsWith('application/json')) throw new Error(`content-type ${res.headers['content-type']}`);
          const body = res.json() as { validAt: string; knownAt: string; holders: { person: { id: string }; term: { from: string; to: string | null }; acting: boolean; certainty: string; factId: string; basis: string }[] };
          if (body.validAt !== validAt || body.knownAt !== knownAt) throw new Error('validAt/knownAt not echoed');
          const got = body.holders
            .map((x) => ({ person: x.person.id, from: x.term.from, to: x.term.to, acting: x.acting, certainty: x.certainty, factId: x.factId }))
            .sort((a, b) => (a.factId < b.factId ? -1 : 1));

          if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`mismatch at validAt=${validAt} knownAt=${knownAt}: ${JSON.stringify({ got, expected })}`);
        }
        // Without knownAt: the record as it stands now (served from the cache of the current record).
        for (const [validAt] of probes.slice(0, 3)) {
          const res = await app.inject({ url: `/v1/offices/${h.office}/holder?validAt=${validAt}` });
          const now = res.json() as { knownAt: string };
          const objects = readModels.queries.holder(h.office, validAt, now.knownAt);
          if (objects === null || res.body !== JSON.stringify({ office: objects.office, validAt, knownAt: now.knownAt, holders: objects.holders })) throw new Error(`text answer (now) differs from the objects at validAt=${validAt}: ${res.body}`);
          const body = res.json() as { knownAt: string; holders: { person: { id: string }; term: { from: string; to: string | null }; acting: boolean; certainty: string; factId: string }[] };
          const got = body.holders.map((x) => ({ person: x.person.id, from: x.term.from, to: x.term.to, acting: x.acting, certainty: x.certainty, factId: x.factId })).sort((a, b) => (a.factId < b.factId ? -1 : 1));
          const expected = oracleHolder(h.log.events, h.office, validAt, body.knownAt);
          queries += 1;
          if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`mismatch now, validAt=${validAt}: ${JSON.stringify({ got, expected })}`);
        }
      } finally {
        for (const fn of teardowns.reverse()) await fn();
      }
    }),
    { numRuns: 120, interruptAfterTimeLimit: 45_000 },
  );
  t.ok(queries > 0, `${queries} holder queries compared in ${Date.now() - started} ms`);
});
