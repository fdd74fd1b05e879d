/**
 * A thread started again after it died says so (src/store/thread-client.ts): one info line
 * when the new thread is ready, naming the thread, why the last one stopped and how long it
 * took, and a warn line while a start takes longer than it should. Each of the service's
 * threads (store writer, read models, audit follower, read worker) is terminated as a crash
 * would end it, and its line read from the server's own logger.
 */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../src/logging.js';
import { ThreadClient } from '../src/store/thread-client.js';
import { runningWorkers } from '../src/store/worker-thread.js';
import { startTestApp } from './fixtures/app.js';
import * as f from './fixtures/facts.js';
import { when } from './fixtures/when.js';

type Line = Record<string, unknown> & { level: number; msg: string };

/** A logger at info whose lines the test reads, and an emitter that says when one came. */
function captured(): { log: ReturnType<typeof createLogger>; lines: Line[]; said: EventEmitter } {
  const lines: Line[] = [];
  const said = new EventEmitter();
  const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, done) => (lines.push(JSON.parse(String(c)) as Line), said.emit('line'), done()) }) });
  return { log, lines, said };
}

const INFO = 30;
const WARN = 40;

// Each of the service's threads started twice, each start loading TypeScript: 145 s at a load
// average of ~20, near tap's 240 s (.taprc); a hang is still caught at 600 s.
t.setTimeout(600_000);

t.test("each of the service's threads, terminated, is told ready again with why and how long", async (t) => {
  const { log, lines, said } = captured();
  const a = await startTestApp(t, { log, env: { ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'thread', ANNALS_READ_WORKERS: '1', ANNALS_READ_WAIT_MS: '60000' } });
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: f.organization('r-org') })).statusCode, 201);
  const again = (thread: string) => lines.filter((l) => l.thread === thread && l.msg === `the ${thread} thread is ready again`);
  const threads = ['store writer', 'read models', 'audit follower', 'reads'];
  t.same(threads.flatMap(again), [], 'a first start is not a restart');

  // All four at once: each start costs seconds under tap's TypeScript loader on a busy machine.
  const terminated = new Map<string, number>();
  await Promise.all(
    threads.map(async (thread) => {
      const worker = [...runningWorkers()].find(([, label]) => label === thread)?.[0];
      t.ok(worker, `the ${thread} thread runs`);
      terminated.set(thread, performance.now());
      await worker?.terminate();
    }),
  );
  // The writer starts again at the next append (whose 201 waits for the read models' restart); the others by themselves.
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/facts', headers: a.auth('recorder'), payload: f.person('r-p', 'P') })).statusCode, 201, 'an append after the writer died');
  for (const thread of threads) {
    await when(said, 'line', () => again(thread).length > 0, `the ${thread} thread to be told ready again`, 60_000);
    const [line] = again(thread);
    const elapsed = performance.now() - (terminated.get(thread) as number);
    t.equal(line?.level, INFO, `${thread}: at info`);
    t.equal(line?.reason, 'exited with code 1', `${thread}: why (terminated)`);
    t.equal(line?.attempts, 1);
    const { startMs, downMs } = line as unknown as { startMs: number; downMs: number };
    t.ok(startMs >= 0 && startMs <= downMs && downMs <= elapsed + 1, `${thread}: started in ${startMs} ms, ${downMs} ms without it (at most ${Math.round(elapsed)} ms since terminate)`);
  }
  t.equal((await a.app.inject({ url: '/v1/organizations/r-org' })).statusCode, 200, 'the restarted threads serve');
  const metrics = (await a.app.inject({ url: '/metrics', headers: a.auth('admin') })).body;
  for (const thread of threads) t.match(metrics, new RegExp(`^annals_worker_restarts_total\\{worker="${thread}"\\} 1$`, 'm'), `/metrics counts the ${thread} restart`);
});

t.test('a restart slower than slowRestartMs is told at warn, then at info once ready', async (t) => {
  const { log, lines, said } = captured();
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const client = new ThreadClient<{ kind: 'go' } | { kind: 'close' }, { kind: 'ready' }>({
    module: new URL('./fixtures/gated-thread.ts', import.meta.url),
    workerData: gate.buffer,
    label: 'gated',
    restart: 'later',
    restartAfterMs: 0,
    slowRestartMs: 100,
    log,
    handshake: (m) => (m.kind === 'ready' ? { ready: true } : null),
    unavailable: (reason) => new Error(reason),
    onMessage: () => undefined,
  });
  t.teardown(() => client.close({ kind: 'close' }));
  await client.start();
  Atomics.store(gate, 0, 1); // the next thread waits for `go`
  await client.worker?.terminate();
  await when(said, 'line', () => lines.some((l) => l.level === WARN), 'the warn line');
  const warn = lines.find((l) => l.level === WARN) as Line;
  t.equal(warn.msg, 'the gated thread, started again, is still not ready after 0.1 s');
  t.equal(warn.thread, 'gated');
  t.equal(warn.reason, 'exited with code 1');
  // libuv arms a timer from its loop clock, cached at the loop's last turn and kept in whole
  // milliseconds, so a 100 ms timer can fire up to 1 ms short of 100 ms by performance.now().
  t.ok((warn.startingMs as number) >= 99, `how long it has been starting (${String(warn.startingMs)} ms)`);
  t.notOk(client.ready, 'indeed not ready');
  t.notOk(lines.some((l) => l.level === INFO), 'not told ready before it is');

  client.post({ kind: 'go' });
  await when(said, 'line', () => lines.some((l) => l.level === INFO), 'the info line');
  const info = lines.find((l) => l.level === INFO) as Line;
  t.equal(info.msg, 'the gated thread is ready again');
  // At least the warn's startingMs (≥ 99 above, for the same 1 ms of the loop clock): the thread
  // was let go only after the warn, and on a quick machine the go and the ready take under 1 ms.
  t.ok((info.startMs as number) >= 99 && (info.startMs as number) >= (warn.startingMs as number) && (info.downMs as number) >= (info.startMs as number), `started in ${String(info.startMs)} ms (the warn said ${String(warn.startingMs)}), ${String(info.downMs)} ms without it`);
  t.ok(client.ready);
  t.equal(lines.length, 2, 'one warn, one info');
});
