/**
 * Are two versions' holder answers the same? `node --import tsx bench/holder-ab.ts <code A>
 * <data A> <code B> <data B>`: starts each checkout's built server (`dist/src/server.js`; build
 * it first) in its own data dir (copies of the read benchmark's kept record, whose
 * bench-read-job.json names the offices and the recording's span) and asks both the same
 * `GET /v1/offices/{office}/holder` questions: an office drawn uniformly (by id, or by its key
 * one time in eight), validAt a day, a month or a year over 1990–2030 (or none), knownAt a
 * moment of the recording (or none); and some refusals (an unknown office, a bad validAt or
 * knownAt). Then each past answer again with its ETag in If-None-Match (304). Status, body,
 * Content-Type, Content-Length, Cache-Control and ETag must be equal; a current answer's weak
 * ETag holds its process's start (routes/reads-answer.ts), so only its position is compared,
 * and its `knownAt` (the moment it was asked) is left out (and so the length of it compressed),
 * as a problem's requestId. A 503 (shed
 * on a loaded machine) is asked again. Exits 1 when any answer differs.
 * BENCH_QUESTIONS (3,000), BENCH_SEED (7), BENCH_PORT (18091: A's, B's the next).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../test/fixtures/history.js';

const [codeA, dataA, codeB, dataB] = process.argv.slice(2);
if (!codeA || !dataA || !codeB || !dataB) throw new Error('usage: bench/holder-ab.ts <code A> <data dir A> <code B> <data dir B>');
const QUESTIONS = Number(process.env['BENCH_QUESTIONS'] ?? 3_000);
const PORT = Number(process.env['BENCH_PORT'] ?? 18_091);
const job = JSON.parse(readFileSync(join(dataA, 'bench-read-job.json'), 'utf8')) as { offices: string[]; recordedFrom: string; recordedTo: string };
const rnd = prng(Number(process.env['BENCH_SEED'] ?? 7));

const start = (code: string, dir: string, port: number): ChildProcess =>
  spawn(process.execPath, [join(code, 'dist/src/server.js')], {
    env: { ...process.env, ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'error', PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
const servers = [start(codeA, dataA, PORT), start(codeB, dataB, PORT + 1)];
process.on('exit', () => servers.forEach((s) => s.kill('SIGTERM')));
for (const port of [PORT, PORT + 1])
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }

const k0 = Date.parse(job.recordedFrom);
const kn = Date.parse(job.recordedTo);
const d0 = Date.parse('1990-01-01T00:00:00Z');
const dn = Date.parse('2030-12-31T00:00:00Z');
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const day = (): string => {
  const d = new Date(d0 + Math.floor(rnd() * ((dn - d0) / 86_400_000 + 1)) * 86_400_000).toISOString();
  return pick([d.slice(0, 10), d.slice(0, 10), d.slice(0, 7), d.slice(0, 4)]);
};
const known = (): string => new Date(k0 + Math.floor(rnd() * (kn - k0 + 1))).toISOString();

/** An office's key, as the API names it (`/v1/offices/{id}` answers it). */
const keys = new Map<string, string>();
async function keyOf(id: string): Promise<string> {
  let k = keys.get(id);
  if (k === undefined) {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${PORT}/v1/offices/${id}`);
      if (res.status === 200) {
        k = ((await res.json()) as { office: { key: string } }).office.key;
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    keys.set(id, k);
  }
  return k;
}

async function question(): Promise<string> {
  const r = rnd();
  if (r < 0.01) return `/v1/offices/no-such-office/holder?validAt=${day()}&knownAt=${encodeURIComponent(known())}`;
  if (r < 0.015) return `/v1/offices/${pick(job.offices)}/holder?validAt=2001-02-30`;
  if (r < 0.02) return `/v1/offices/${pick(job.offices)}/holder?knownAt=yesterday`;
  const id = pick(job.offices);
  const office = rnd() < 0.125 ? await keyOf(id) : id;
  const q: string[] = [];
  if (rnd() < 0.9) q.push(`validAt=${day()}`);
  if (rnd() < 0.6) q.push(`knownAt=${rnd() < 0.5 ? encodeURIComponent(known()) : encodeURIComponent(known()).replace('.', '%2E')}`);
  return `/v1/offices/${office}/holder${q.length ? `?${q.join('&')}` : ''}`;
}

interface Seen {
  status: number;
  body: string;
  headers: Record<string, string | null>;
}
async function ask(port: number, url: string, ifNoneMatch?: string): Promise<Seen> {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers: ifNoneMatch ? { 'if-none-match': ifNoneMatch } : {} });
  // A problem's requestId and its type's host (the port) are the request's and the server's, not the answer's.
  let body = (await res.text()).replace(/"requestId":"[^"]*"/, '"requestId":""').replace(`http://127.0.0.1:${port}/`, 'http://127.0.0.1/');
  const current = !url.includes('knownAt=') || res.headers.get('cache-control')?.includes('no-cache') === true;
  let etag = res.headers.get('etag');
  if (current && res.status === 200) {
    // The moment it was asked, and the process's start in the weak ETag: not the answer's.
    body = body.replace(/"knownAt":"[^"]*"/, '"knownAt":"(now)"');
    etag = etag?.replace(/\.[^"]*"$/, '."') ?? null;
  }
  const headers: Record<string, string | null> = Object.fromEntries(['content-type', 'content-length', 'cache-control', 'retry-after', 'vary', 'content-encoding'].map((h) => [h, res.headers.get(h)]));
  // A compressed current answer's length follows the moment in it.
  if (current && headers['content-encoding']) headers['content-length'] = '(compressed)';
  return { status: res.status, body, headers: { ...headers, etag } };
}

let differ = 0;
const statuses = new Map<number, number>();
let revalidated = 0;
for (let i = 0; i < QUESTIONS; i++) {
  const url = await question();
  let [a, b] = [await ask(PORT, url), await ask(PORT + 1, url)];
  // Shed (503: a slow turn of a loaded machine's event loop): asked again a little later.
  for (let t = 0; t < 5 && (a.status === 503 || b.status === 503); t++) {
    await new Promise((r) => setTimeout(r, 200));
    [a, b] = [await ask(PORT, url), await ask(PORT + 1, url)];
  }
  statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    if (++differ <= 5) console.log(`differ: ${url}\n A ${JSON.stringify(a.status)} ${JSON.stringify(a.headers)} ${a.body === b.body ? '(bodies equal)' : a.body}\n B ${JSON.stringify(b.status)} ${JSON.stringify(b.headers)} ${a.body === b.body ? '' : b.body}`);
    continue;
  }
  // A past answer asked again with its ETag: 304 from both, the same headers.
  const etag = a.headers['etag'];
  if (a.status === 200 && etag && !etag.startsWith('W/')) {
    let [a2, b2] = [await ask(PORT, url, etag), await ask(PORT + 1, url, etag)];
    for (let t = 0; t < 5 && (a2.status === 503 || b2.status === 503); t++) {
      await new Promise((r) => setTimeout(r, 200));
      [a2, b2] = [await ask(PORT, url, etag), await ask(PORT + 1, url, etag)];
    }
    if (a2.status !== 304 || JSON.stringify(a2) !== JSON.stringify(b2)) {
      if (++differ <= 5) console.log(`differ (If-None-Match): ${url}\n A ${JSON.stringify(a2)}\n B ${JSON.stringify(b2)}`);
    } else revalidated++;
  }
}
console.log(`${QUESTIONS} holder questions (${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')}), ${revalidated} past answers again with If-None-Match (304); ${differ} differ`);
process.exit(differ > 0 ? 1 : 0);
