/**
 * bench:read's load through wrk (/usr/bin/wrk: C, its requests from a LuaJIT script,
 * bench/read-wrk.lua) with BENCH_CLIENT=wrk; the Node client (http-load.ts) stays the default.
 * On a 2-core machine what the client spends is taken from the server under test: measured
 * (bench/client-cpu.ts, bench/RESULTS.md, session 44, s44-wk), the Node client spent 1.0-1.2x
 * wrk's CPU an answer on a quiet machine (load ~3) and 1.35-2.7x under load 9-11. The paths are
 * drawn in Node and handed to the script in a file.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';

export const WRK = '/usr/bin/wrk';
const LUA = new URL('./read-wrk.lua', import.meta.url).pathname;

/** BENCH_CLIENT=node|wrk (default: node). */
export function useWrk(choice = process.env['BENCH_CLIENT']): boolean {
  if (choice !== 'wrk') return false;
  if (!existsSync(WRK)) throw new Error(`BENCH_CLIENT=wrk but there is no ${WRK}`);
  return true;
}

/** Paths for read-wrk.lua: one a line, "<question> <path>", each padded with spaces to the longest's width. */
export interface PathFile {
  readonly path: string;
  readonly width: number;
  readonly lines: number;
}

export function writePaths(path: string, paths: readonly (readonly [question: string, path: string])[]): PathFile {
  const lines = paths.map(([q, p]) => `${q} ${p}`);
  const width = lines.reduce((w, l) => Math.max(w, l.length), 0);
  writeFileSync(path, `${lines.map((l) => l.padEnd(width)).join('\n')}\n`);
  return { path, width, lines: lines.length };
}

/** One question's figures of a run. */
export interface WrkFigure {
  /** 2xx, 304 and 404. */
  readonly answers: number;
  readonly shed: number;
  readonly limited: number;
  /** Other statuses of 400 or more. */
  readonly errors: number;
  /** The answers' bytes. */
  readonly bytes: number;
  /** Each answer's latency (ms), in no order. */
  readonly latencies: number[];
}

export interface WrkRun {
  readonly byQuestion: ReadonlyMap<string, WrkFigure>;
  /** Socket errors (connect, read, write, timeout). */
  readonly socketErrors: number;
  /** Requests wrk left in flight when it stopped (0 but when the drain did not end within 2 s): the server answers them, to closed sockets, uncounted. */
  readonly inFlight: number;
  readonly seconds: number;
  /** wrk's own percentiles of every response of the run (ms): a check of the script's timing. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** read-wrk.lua's lines, parsed. */
export function parseWrk(out: string): WrkRun {
  const run = /^read-wrk-run (.*)$/m.exec(out)?.[1];
  if (run === undefined) throw new Error(`wrk gave no figures:\n${out}`);
  const r = JSON.parse(run) as { socketErrors: number; inFlight: number; us: number; p50: number; p99: number; max: number };
  const byQuestion = new Map<string, WrkFigure>();
  for (const [, q, json] of out.matchAll(/^read-wrk (\S+) (.*)$/gm)) {
    const f = JSON.parse(json as string) as Omit<WrkFigure, 'latencies'> & { latency: string };
    const latencies: number[] = [];
    for (const pair of f.latency.split(',').filter(Boolean)) {
      const [us, n] = pair.split(':').map(Number) as [number, number];
      for (let k = 0; k < n; k++) latencies.push(us / 1000);
    }
    byQuestion.set(q as string, { answers: f.answers, shed: f.shed, limited: f.limited, errors: f.errors, bytes: f.bytes, latencies });
  }
  return { byQuestion, socketErrors: r.socketErrors, inFlight: r.inFlight, seconds: r.us / 1e6, p50: r.p50 / 1000, p99: r.p99 / 1000, max: r.max / 1000 };
}

export function wrkArgs(opts: { port: number; connections: number; ms: number; seconds: number; file?: PathFile | undefined; offset?: number }): string[] {
  const f = opts.file;
  const script = [String(opts.ms), ...(f ? [f.path, String(f.width), String((opts.offset ?? 0) % f.lines)] : [])];
  return ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--timeout', '10s', '-s', LUA, `http://127.0.0.1:${opts.port}`, '--', ...script];
}

/**
 * One run of `wrk -t1 -c<connections>` for `ms`, then until the answers in flight are in (the
 * script says when: wrk is then ended by SIGINT, its -d counting whole seconds; 2 s past `ms`
 * at the latest), over the lines of `file` from line `offset` on (no file: /healthz).
 */
export function runWrk(opts: { port: number; connections: number; ms: number; file?: PathFile | undefined; offset?: number }): Promise<WrkRun> {
  const child = spawn(WRK, wrkArgs({ ...opts, seconds: Math.ceil(opts.ms / 1000) + 60 }), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const end = (): void => void child.kill('SIGINT');
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('read-wrk-drained\n')) end();
  });
  const timer = setTimeout(end, opts.ms + 2000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseWrk(out));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
