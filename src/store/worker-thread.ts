/**
 * Starting a worker thread from a module next to the caller, compiled or not.
 *
 * Built (`npm start`): the module is JavaScript and the worker loads it directly. From
 * TypeScript sources (tests under tap, benchmarks under tsx), Node 20 does not hand the
 * main thread's `--import` loaders to workers, so the worker first imports the same loader
 * modules this process was started with, then the module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { MetricsSink } from '../metrics/sink.js';
import { isMetricsMessage, replayMetrics } from '../metrics/thread.js';
import { holdAgain } from '../young-generation.js';

/** Loader modules of this process worth repeating in a worker (the TypeScript ones). */
function loaderImports(): string[] {
  const args = process.execArgv;
  const specs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    let spec: string | undefined;
    if (a.startsWith('--import=')) spec = a.slice('--import='.length);
    else if (a === '--import') spec = args[++i];
    // tap's process-info and mock loaders belong to the main thread's test bookkeeping.
    if (spec !== undefined && !/@tapjs\/(processinfo|mock)/.test(spec)) specs.push(spec);
  }
  return specs;
}

/** The workers started here and not yet exited, by what they do (for diagnostics: bench:record prints their utilisation). */
const running = new Map<Worker, string>();
export function runningWorkers(): ReadonlyMap<Worker, string> {
  return running;
}

/** The labels each sink has seen started: a label started again is a restart. */
const started = new WeakMap<MetricsSink, Set<string>>();

/**
 * Starts `module` in a worker; `label` says what it does (runningWorkers). With `metrics`, the
 * worker's metrics messages (src/metrics/thread.ts) are replayed on it, and a second start
 * of the same label counts as a restart.
 */
export function startWorker(module: URL, options: WorkerOptions = {}, label = module.pathname.replace(/^.*\//, ''), metrics?: MetricsSink): Worker {
  const w = create(module, options);
  running.set(w, label);
  w.once('exit', () => running.delete(w));
  // Its heap is made by now: young generations held again if they were (src/young-generation.ts).
  w.once('online', holdAgain);
  if (metrics) {
    const labels = started.get(metrics) ?? new Set<string>();
    started.set(metrics, labels);
    if (labels.has(label)) metrics.workerRestarted(label);
    labels.add(label);
    w.on('message', (m: unknown) => {
      if (isMetricsMessage(m)) replayMetrics(m, metrics);
    });
  }
  return w;
}

function create(module: URL, options: WorkerOptions): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  // The worker resolves nothing relative to a data: URL, so every specifier goes in resolved.
  const boot: string[] = [];
  for (const spec of loaderImports()) {
    // tsx's `--import tsx` entry registers on the main thread only; its API registers anywhere.
    if (spec === 'tsx') boot.push(`(await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();`);
    else boot.push(`await import(${JSON.stringify(/^[a-z]+:/.test(spec) ? spec : import.meta.resolve(spec))});`);
  }
  // Its OS thread id, for benchmarks that read each thread's CPU from /proc (bench/thread-cpu.ts).
  boot.push(`try { const c = new BroadcastChannel('annals:os-thread'); c.postMessage({ threadId: (await import('node:worker_threads')).threadId, tid: Number((await import('node:fs')).readlinkSync('/proc/thread-self').split('/').pop()) }); c.close(); } catch {}`);
  boot.push(`await import(${JSON.stringify(module.href)});`);
  // Not the main thread's --import flags: the loaders come in above, tap's bookkeeping stays out.
  // --cpu-prof* too: each thread then writes its own profile (how the write path was profiled).
  const execArgv = process.execArgv.filter((a) => a === '--enable-source-maps' || a.startsWith('--cpu-prof'));
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot.join('\n'))}`), { execArgv, ...options });
}
