/**
 * `annals diff` through the real command (a child process for the first diff; main() in this
 * process for the others, help and usage errors: a child loading TypeScript costs seconds,
 * tens of seconds under load) on a real SQLite data dir holding
 * the example and the worked example's correction (the CSTO chairmanship of the Kyrgyz
 * Republic recorded for 2024, corrected to 2025), recorded with a clock the test moves so the
 * moments before and after the correction are ones it names. Between them exactly that
 * chairmanship changed, with its reason; an empty window changes nothing; bad arguments are
 * usage errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startTestApp } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';
import { runCli, runMain } from './fixtures/cli.js';
import { FIX, REASON, recordWorkedCorrection, term, WRONG, type CorrectionMoments } from './fixtures/worked-correction.js';

const CSTO = '01KB19R500EXAMP1E000000001';
/** `annals <args>` through main() in this process, answered as runCli answers. */
const inProcess = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  const r = await runMain(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
};

interface Difference {
  since: string;
  until: string;
  facts: { kind: string; factId: string; fact?: { factId: string }; before?: { term: unknown }; after?: { term: unknown }; reason?: string }[];
  added: { kind: string; key: string | null }[];
  changed: { kind: string; id: string; key: string | null; fields: { field: string; before: unknown; after: unknown }[] }[];
  removed: unknown[];
}

t.test('annals diff on the worked example’s correction', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'annals-diff-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clock = manualClock();
  let moments: CorrectionMoments = { seeded: '', before: '', after: '' };
  await t.test('record', async (t) => {
    moments = await recordWorkedCorrection(t, await startTestApp(t, { dataDir: dir, clock: clock.now }), clock);
  });
  const { seeded, before, after } = moments;

  const json = await runCli(['diff', '--since', before, '--until', after, '--json', '--data-dir', dir]);
  t.equal(json.code, 0, json.stderr);
  const d = JSON.parse(json.stdout) as Difference;
  t.equal(d.since, before);
  t.equal(d.until, after);
  t.equal(d.facts.length, 1, 'one fact in between');
  t.match(d.facts[0], { kind: 'correction', factId: FIX, fact: { factId: WRONG }, reason: REASON, before: { term: term(2024) }, after: { term: term(2025) } });
  t.same(d.added, [], 'nothing added');
  t.same(d.removed, [], 'nothing removed');
  t.equal(d.changed.length, 1, 'one entity changed');
  const [csto] = d.changed;
  t.match(csto, { kind: 'organization', id: CSTO, key: 'csto' });
  t.same(csto?.fields.map((f) => f.field), ['chairs'], 'only its chairs');
  const chairs = csto?.fields[0] as { before: { factId: string; term: unknown }[]; after: { factId: string; term: unknown; correctedBy?: { reason: string } }[] };
  const kgBefore = chairs.before.filter((c) => c.factId === WRONG);
  const kgAfter = chairs.after.filter((c) => c.factId === WRONG);
  t.match(kgBefore, [{ term: term(2024) }]);
  t.match(kgAfter, [{ term: term(2025), correctedBy: { factId: FIX, reason: REASON } }], 'the chairmanship now, with the reason of its correction');
  t.same(chairs.before.filter((c) => c.factId !== WRONG), chairs.after.filter((c) => c.factId !== WRONG), 'the other chairmanship (ru, 2026) unchanged');

  const text = await inProcess(['diff', '--since', before, '--until', after, '--data-dir', dir]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, `The record at ${before} against ${after}`);
  t.match(text.stdout, '1 fact in between: 0 recorded, 1 corrected, 0 retracted');
  t.match(text.stdout, `corrected  ChairmanshipPassed ${WRONG} at`);
  t.match(text.stdout, JSON.stringify(REASON));
  t.match(text.stdout, 'Entities: 0 added, 1 changed, 0 removed');
  t.match(text.stdout, 'changed  organization csto (Collective Security Treaty Organization)');
  t.match(text.stdout, /chairs:\n\s+- .*"from":"2024-01-01".*\n\s+\+ .*"from":"2025-01-01"/);

  const empty = await inProcess(['diff', '--since', before, '--until', before, '--json', '--data-dir', dir]);
  t.equal(empty.code, 0, empty.stderr);
  t.match(JSON.parse(empty.stdout), { facts: [], added: [], changed: [], removed: [] }, 'an empty window changes nothing');

  const whole = JSON.parse((await inProcess(['diff', '--since', seeded, '--until', before, '--json', '--data-dir', dir])).stdout) as Difference;
  t.ok(whole.added.some((e) => e.kind === 'organization' && e.key === 'csto') && whole.added.some((e) => e.kind === 'office' && e.key === 'csto-secretary-general'), 'from before the example: its entities are added');
  t.same(whole.changed, []);
  t.ok(whole.facts.length > 20 && whole.facts.every((f) => f.kind === 'recorded'));

  const now = JSON.parse((await inProcess(['diff', '--since', before, '--json', '--data-dir', dir])).stdout) as Difference;
  t.ok(now.until > after, '--until defaults to now');
  t.equal(now.facts.length, 1);
});

t.test('annals diff: help and usage errors', async (t) => {
  const help = await inProcess(['diff', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'Usage: annals diff --since T1');
  const list = await inProcess(['--help']);
  t.match(list.stdout, /diff\s+what changed/);
  for (const [args, pattern] of [
    [[], /--since T1 is required/],
    [['--since', 'yesterday'], /--since "yesterday": expected an RFC 3339/],
    [['--since', '2025-12-02T00:00:00.000Z', '--until', '2025-12-01T00:00:00.000Z'], /is after --until/],
    [['--since', '2025-12-01T00:00:00.000Z', '--colour'], /Unknown option '--colour'/],
  ] as const) {
    const r = await inProcess(['diff', ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, pattern);
  }
});
