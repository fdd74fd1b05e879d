/**
 * `annals import` when the event store fails (not a refusal): the message says what happened
 * (unavailable, a write not answered, another failure), that nothing was refused, and what to
 * do: run the same import again, which is safe because every fact has a factId; and running it
 * again does resume, recording nothing twice. importItems on a recorder whose embedded store
 * fails on chosen commits.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { monotonicFactory } from 'ulid';
import { CliError, EXIT } from '../src/cli/common.js';
import { importItems } from '../src/cli/import.js';
import type { InputItem } from '../src/cli/input.js';
import { createRecorder, type Recorder } from '../src/record/index.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import type { AppendRequest, EventStore } from '../src/store/port.js';
import { openSqliteStore, type SqliteEventStore } from '../src/store/sqlite.js';
import * as f from './fixtures/facts.js';

const dir = mkdtempSync(join(tmpdir(), 'annals-import-faults-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A recorder on an embedded store whose `appendWaves` call number n (from 1) throws `fail(n)`'s error, if any. */
function faulty(t: Test, fail: (call: number) => Error | undefined): { recorder: Recorder; sqlite: SqliteEventStore } {
  const sqlite = openSqliteStore(join(dir, `${randomUUID()}.db`), { writer: 'inline' });
  t.teardown(() => sqlite.close());
  let calls = 0;
  const store = new Proxy(sqlite, {
    get: (target, name) => {
      if (name === 'appendWaves') {
        return async (waves: readonly (readonly AppendRequest[])[]) => {
          const err = fail(++calls);
          if (err) throw err;
          return target.appendWaves(waves);
        };
      }
      const v = Reflect.get(target, name, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as EventStore;
  const id = monotonicFactory();
  const recorder = createRecorder({ store, readModels: { waitFor: async () => true }, newId: () => id(), readWaitMs: 100 });
  return { recorder, sqlite };
}

/** Persons with keys and no factId, one a line: the import derives each factId from the file's name and the line. */
async function* lines(n: number): AsyncIterable<InputItem> {
  // (No factId: the file's own type says every fact has one once read; the import fills it in.)
  for (let i = 1; i <= n; i++) yield { kind: 'fact', line: i, fact: f.person(`person-${i}`, `Person ${i}`) as Extract<InputItem, { kind: 'fact' }>['fact'] };
}

const failure = async (p: Promise<unknown>): Promise<CliError> => {
  const err = await p.catch((e: unknown) => e);
  if (!(err instanceof CliError)) throw new Error(`expected a CliError, got ${String(err)}`);
  return err;
};

const registered = async (sqlite: SqliteEventStore) => (await sqlite.readAll()).filter((e) => e.type === 'PersonRegistered').length;

t.test('the store unavailable for a whole chunk: exit 4, "were not recorded", nothing refused, run it again (safe: factIds); run again, it resumes', async (t) => {
  let down = true;
  const { recorder, sqlite } = faulty(t, (n) => (n >= 2 && down ? new StoreUnavailableError('injected: the store is down') : undefined));
  const err = await failure(importItems(recorder, lines(4), { chunk: 2, source: 'people.ndjson' }));
  t.equal(err.code, EXIT.unavailable);
  t.match(err.message, /^facts 3 to 4 \(lines 3 to 4\) were not recorded: the event store is unavailable \(injected: the store is down\); nothing was refused\n/);
  t.match(err.message, /\n2 facts recorded and 0 already recorded before it; once the store answers again, run the same import again to resume: it is safe: every fact has a factId/);
  t.notMatch(err.message, /refused:/, 'not called a refusal');
  down = false;
  const again = await importItems(recorder, lines(4), { chunk: 2, source: 'people.ndjson' });
  t.same(again, { recorded: 2, already: 2, skipped: 0 }, 'the first two found by their factIds, the rest recorded');
  t.equal(await registered(sqlite), 4, 'nothing twice');
});

t.test('a write the store did not answer (outcome unknown), for a one-fact chunk: "may not be recorded", the store did not answer', async (t) => {
  const { recorder } = faulty(t, () => new StoreUnavailableError('injected: no reply', { outcomeUnknown: true }));
  const err = await failure(importItems(recorder, lines(1), { chunk: 1, source: 'one.ndjson' }));
  t.equal(err.code, EXIT.unavailable);
  t.match(err.message, /^fact 1 \(line 1\) may not be recorded: the event store did not answer the write \(injected: no reply\); nothing was refused\n0 facts recorded/);
});

t.test('the store failing after a stored part of a chunk: the fact named, "was not recorded", the facts before it counted; run again, it resumes', async (t) => {
  for (const [what, error, text] of [
    ['unavailable', () => new StoreUnavailableError('injected: the store is down'), /the event store is unavailable \(injected: the store is down\)/],
    ['another failure', () => new Error('injected: disk I/O error'), /recording failed \(injected: disk I\/O error\)/],
  ] as const) {
    let down = true;
    // 499 persons with keys make a part (998 appends): the second part's commit fails.
    const { recorder, sqlite } = faulty(t, (n) => (n === 2 && down ? error() : undefined));
    const err = await failure(importItems(recorder, lines(600), { chunk: 1_000, source: 'many.ndjson' }));
    t.equal(err.code, EXIT.unavailable, `${what}: exit 4`);
    t.match(err.message, /^fact 500 \(line 500, factId [0-9A-Z]{26}, PersonRegistered\) was not recorded: /, `${what}: the first fact not stored`);
    t.match(err.message, text, `${what}: what happened`);
    t.match(err.message, /; nothing was refused\n499 facts recorded and 0 already recorded before it; once .* run the same import again to resume: it is safe/, `${what}: what to do`);
    down = false;
    t.same(await importItems(recorder, lines(600), { chunk: 1_000, source: 'many.ndjson' }), { recorded: 101, already: 499, skipped: 0 }, `${what}: resumed`);
    t.equal(await registered(sqlite), 600, `${what}: nothing twice`);
  }
});

t.test('an error that is not the store\'s, before anything of a chunk is stored, is not dressed up as a store fault', async (t) => {
  const { recorder } = faulty(t, () => new TypeError('injected: a bug'));
  const err = await importItems(recorder, lines(1), { chunk: 1, source: 'bug.ndjson' }).catch((e: unknown) => e);
  t.ok(err instanceof TypeError, 'the error itself');
});
