/**
 * What every fault scenario uses: the scenario's shape, the real server and the real `annals`
 * command as child processes (started the way the context says: tsx from the campaign, tap's
 * own loader from the tests), writers that keep the 201s they got, and the checks run on a
 * stopped data dir (the log holds every acknowledged fact exactly once, the read models equal
 * a rebuild, the tree and every seal verify).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { rebuildReadModels, tableNames } from '../../projections/index.js';
import { keyPaths, loadKeys } from '../../src/audit/keys.js';
import { verifyCopy } from '../../src/integrity/backup.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface ScenarioResult {
  readonly checks: Check[];
  /** Set when the scenario could not run here (and why); its checks are then empty. */
  readonly skipped?: string;
  /** Figures worth printing (counts, durations). */
  readonly figures?: Record<string, number | string>;
}

export interface ChaosContext {
  /** The tests' version: fewer rounds and writers, a few seconds each. */
  readonly short: boolean;
  /** A fresh directory of the scenario's own, removed afterwards. */
  readonly workDir: string;
  /** Node's arguments to run a TypeScript file (tsx, or tap's loader under tap). */
  readonly nodeArgs: (script: string, ...args: string[]) => string[];
  /** A progress line on stderr. */
  readonly say: (line: string) => void;
  /**
   * Whether children may write V8 coverage (NODE_V8_COVERAGE passes on). Default true; false
   * when they are not run with the test's own loader, whose coverage they would garble.
   */
  readonly coverage?: boolean;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  run(ctx: ChaosContext): Promise<ScenarioResult>;
}

export const TOKENS = { recorder: 'chaos-recorder-token-0123456789', admin: 'chaos-admin-token-0123456789ab', auditor: 'chaos-auditor-token-0123456789' } as const;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER = join(ROOT, 'src/server.ts');
const CLI = join(ROOT, 'src/cli/annals.ts');
export const SOURCE = { title: 'Fault campaign', publisher: 'Annals' };

export const check = (name: string, ok: boolean, detail?: string): Check => ({ name, ok, ...(detail === undefined ? {} : { detail }) });

/** A data dir and an audit key kept outside it, under the scenario's work dir. */
export function layout(ctx: ChaosContext, name = 'data'): { dataDir: string; keyFile: string; env: Record<string, string> } {
  const dataDir = join(ctx.workDir, name);
  const keyDir = join(ctx.workDir, `${name}-keys`);
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const keyFile = join(keyDir, 'audit.pem');
  return { dataDir, keyFile, env: { ANNALS_DATA_DIR: dataDir, ANNALS_AUDIT_KEY_FILE: keyFile } };
}

function childEnv(ctx: ChaosContext, env: Record<string, string>): NodeJS.ProcessEnv {
  const dropped = ['HOST', 'PORT', 'LOG_LEVEL', ...(ctx.coverage === false ? ['NODE_V8_COVERAGE'] : [])];
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANNALS_') && !dropped.includes(k)));
  return {
    ...inherited,
    // The short version runs everything on the event loop: a worker thread costs its own
    // TypeScript load at each start, and the short version starts some twenty processes.
    ...(ctx.short ? { ANNALS_SQLITE_WRITER: 'inline', ANNALS_AUDIT_FOLLOWER: 'inline', ANNALS_READ_MODELS: 'inline' } : {}),
    HOST: '127.0.0.1',
    PORT: '0',
    ANNALS_SEED: 'none',
    ANNALS_TOKENS: Object.entries(TOKENS).map(([r, tok]) => `${r}:${tok}`).join(','),
    LOG_LEVEL: 'info',
    // Under tap, its processinfo loader is added to every child (NODE_OPTIONS) and records
    // coverage by itself, NODE_V8_COVERAGE or not: a tsx child's coverage, of differently
    // compiled code under the same file names, garbled the report (sessions queries at 41%).
    ...(ctx.coverage === false ? { _TAPJS_PROCESSINFO_COVERAGE_: '0' } : {}),
    ...env,
  };
}

export interface Server {
  readonly child: ChildProcess;
  readonly base: string;
  /** Everything it wrote on stderr and stdout so far. */
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
}

/** Starts the real server on `env`; resolves once it listens. */
export function startServer(ctx: ChaosContext, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ctx.nodeArgs(SERVER), { cwd: ROOT, env: childEnv(ctx, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: string) => {
      out += d;
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (more: string) => (out += more));
        resolve({
          child,
          base: m[1] as string,
          output: () => out,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            return await exited;
          },
          async kill9() {
            child.kill('SIGKILL');
            await exited;
          },
        });
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening: ${out.slice(-3000)}`)));
  });
}

/** Starts the server expecting a refusal: resolves with its exit code and stderr. */
export function startRefused(ctx: ChaosContext, env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number | null; stderr: string; listened: boolean }> {
  const child = spawn(process.execPath, ctx.nodeArgs(SERVER), { cwd: ROOT, env: childEnv(ctx, env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, listened: /listening at/.test(out) });
    }),
  );
}

/** Runs `annals ARGS` on `env`: exit code, stdout, stderr. */
export function annals(ctx: ChaosContext, env: Record<string, string>, args: string[], timeoutMs = 300_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ctx.nodeArgs(CLI, ...args), { cwd: ROOT, env: { ...childEnv(ctx, env), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

export async function http(base: string, path: string, init: { method?: string; body?: unknown; role?: keyof typeof TOKENS } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.role ? { authorization: `Bearer ${TOKENS[init.role]}` } : {}), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

export async function waitReady(base: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, unknown> = {};
  for (;;) {
    const r = await http(base, '/readyz').catch(() => ({ status: 0, json: {} }));
    if (r.status === 200) return r.json;
    last = r.json;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** /readyz until it answers 503 with a detail matching `re` (or the time runs out): the last answer. */
export async function waitUnready(base: string, re: RegExp, timeoutMs = 60_000): Promise<{ status: number; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await http(base, '/readyz');
    const detail = String(r.json['detail'] ?? '');
    if ((r.status === 503 && re.test(detail)) || Date.now() > deadline) return { status: r.status, detail };
    await new Promise((res) => setTimeout(res, 100));
  }
}

export interface Writers {
  /** factIds answered 201. */
  readonly acknowledged: string[];
  /** Answers other than 201, by status. */
  readonly refused: Map<number, number>;
  /** Stops them (after their request in flight) and resolves. */
  stop(): Promise<void>;
  /** The server went away: requests in flight fail, and that is expected. */
  lost(): void;
}

/** `n` clients each registering people in a loop until stopped (unique keys, fresh factIds from the server). */
export function startWriters(base: string, n: number, tag: string): Writers {
  const acknowledged: string[] = [];
  const refused = new Map<number, number>();
  let stopping = false;
  let dead = false;
  const client = async (c: number) => {
    for (let i = 0; !stopping && !dead; i++) {
      try {
        const r = await http(base, '/v1/facts', { role: 'recorder', body: { type: 'PersonRegistered', data: { key: `${tag}-c${c}-${i}`, name: `Person ${c}/${i}` }, source: SOURCE } });
        if (r.status === 201) acknowledged.push(r.json['factId'] as string);
        else {
          refused.set(r.status, (refused.get(r.status) ?? 0) + 1);
          await new Promise((res) => setTimeout(res, 50));
        }
      } catch {
        if (dead) return;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
  };
  const all = Promise.all(Array.from({ length: n }, (_, c) => client(c)));
  return {
    acknowledged,
    refused,
    async stop() {
      stopping = true;
      await all;
    },
    lost() {
      dead = true;
    },
  };
}

/** How many times each factId is in the log of a stopped data dir. */
export function factCounts(dataDir: string): Map<string, number> {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const counts = new Map<string, number>();
    for (const meta of db.prepare('SELECT metadata FROM events').pluck().iterate() as Iterable<string>) {
      const factId = (JSON.parse(meta) as { factId?: unknown }).factId;
      if (typeof factId === 'string') counts.set(factId, (counts.get(factId) ?? 0) + 1);
    }
    return counts;
  } finally {
    db.close();
  }
}

/** Lost (acknowledged, not in the log) and doubled (in the log more than once). */
export function lostAndDoubled(dataDir: string, acknowledged: readonly string[]): { lost: string[]; doubled: string[] } {
  const counts = factCounts(dataDir);
  return { lost: acknowledged.filter((id) => !counts.has(id)), doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id) };
}

/** Every read-model table, ordered, for comparison. */
function dump(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of [...tableNames(), 'facts', 'checkpoint']) {
      const n = db.prepare(`SELECT * FROM ${t} LIMIT 0`).columns().length;
      out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY ${Array.from({ length: n }, (_, i) => i + 1).join(', ')}`).raw().all();
    }
    return JSON.stringify(out);
  } finally {
    db.close();
  }
}

/** The read models of a stopped data dir against a rebuild from its log. */
export async function readModelsEqualRebuild(dataDir: string, scratch: string): Promise<boolean> {
  const store = openSqliteStore(join(dataDir, 'events.db'), { readOnly: true, writer: 'inline' });
  try {
    const fresh = join(scratch, `rebuild-${Date.now()}.db`);
    await rebuildReadModels({ store, path: fresh, log: pino({ level: 'silent' }) });
    return dump(join(dataDir, 'readmodels.db')) === dump(fresh);
  } finally {
    await store.close();
  }
}

/** verify over a stopped data dir (or a backup): every leaf, seal and signed head. */
export async function verifyDataDir(dataDir: string, keyFile: string): Promise<{ ok: boolean; detail: string; eventsRead: number; treeSize: number }> {
  const keys = loadKeys(keyPaths(dataDir, keyFile), pino({ level: 'silent' }), { create: false });
  const { report, tree } = await verifyCopy(dataDir, 'sqlite', keys, pino({ level: 'silent' }));
  return { ok: report.ok, detail: report.ok ? `${report.eventsRead} events, ${tree.treeSize} leaves` : JSON.stringify(report.firstDivergence ?? report.firstBadHead ?? report.firstBadNode), eventsRead: report.eventsRead, treeSize: tree.treeSize };
}

/** Starts the server on `env`, records `n` people in one batch, and stops it. */
export async function recordAndStop(ctx: ChaosContext, env: Record<string, string>, tag: string, n: number): Promise<void> {
  const server = await startServer(ctx, env);
  await waitReady(server.base);
  const batch = Array.from({ length: n }, (_, i) => ({ type: 'PersonRegistered', data: { key: `${tag}-${i}`, name: `P ${i}` }, source: SOURCE }));
  const r = await http(server.base, '/v1/facts/batch', { role: 'recorder', body: batch });
  await server.stop();
  if (r.status !== 200) throw new Error(`recording ${n} facts answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
}
