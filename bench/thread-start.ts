/**
 * How long a thread takes to start again after it died, and the CPU that costs: the
 * read-model thread (and with `--thread reads`, the read worker) of a runtime on a small data
 * dir is terminated N times, and each restart's "ready again" line (thread-client.ts) is read.
 * CPU is the whole process's (every thread's) during the restart, which contention disturbs
 * far less than the wall time. The worker loads its modules as this process does: under
 * `node --import tsx` through tsx, under tap's loader through ts-node; `--dist` takes the
 * runtime from `dist/` (npm run build), so the workers load plain JavaScript as `npm start`'s do.
 *
 *   node --import tsx bench/thread-start.ts [--runs 5] [--thread 'read models'|reads] [--dist]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, thread: { type: 'string', default: 'read models' }, dist: { type: 'boolean', default: false } } });
const from = values.dist ? '../dist/src/' : '../src/';
const { loadConfig } = (await import(`${from}config.js`)) as typeof import('../src/config.js');
const { openRuntime } = (await import(`${from}runtime.js`)) as typeof import('../src/runtime.js');
const { createLogger } = (await import(`${from}logging.js`)) as typeof import('../src/logging.js');
const { runningWorkers } = (await import(`${from}store/worker-thread.js`)) as typeof import('../src/store/worker-thread.js');

const dataDir = await mkdtemp(join(tmpdir(), 'annals-thread-start-'));
let onLine: (l: Record<string, unknown>) => void = () => undefined;
const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, done) => (onLine(JSON.parse(String(c)) as Record<string, unknown>), done()) }) });
const config = loadConfig({ ANNALS_DATA_DIR: dataDir, ANNALS_SEED: 'none', LOG_LEVEL: 'silent', ANNALS_SQLITE_WRITER: 'thread', ANNALS_AUDIT_FOLLOWER: 'thread', ANNALS_READ_MODELS: 'thread', ANNALS_READ_WORKERS: '1' });
const t0 = performance.now();
const runtime = await openRuntime(config, { log });
console.log(`opened in ${Math.round(performance.now() - t0)} ms (loader: ${values.dist ? 'none, dist/' : process.execArgv.filter((a) => a.includes('import')).join(' ') || 'none'})`);

const runs = Number(values.runs);
for (let i = 0; i < runs; i++) {
  const worker = [...runningWorkers()].find(([, label]) => label === values.thread)?.[0];
  if (!worker) throw new Error(`no ${values.thread} thread runs`);
  const ready = new Promise<Record<string, unknown>>((resolve) => (onLine = (l) => (l.msg === `the ${values.thread} thread is ready again` ? resolve(l) : undefined)));
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await worker.terminate();
  const line = await ready;
  const cpu = process.cpuUsage(cpu0);
  console.log(`restart ${i + 1}: ${Math.round(performance.now() - w0)} ms from terminate to ready (start ${String(line.startMs)} ms), process CPU ${Math.round((cpu.user + cpu.system) / 1000)} ms`);
}
await runtime.close();
await rm(dataDir, { recursive: true, force: true });
