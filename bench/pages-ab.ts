/**
 * Are two versions' pages the same answers? `node --import tsx bench/pages-ab.ts <code A> <data A>
 * <code B> <data B>`: starts a server of each checkout (`src/server.ts` under tsx, in its own
 * data dir: copies of one record, each with its read models built by its own code) and asks
 * both the same documents and sessions pages of organization `org`: validAt a day, a month or a
 * year, with a `knownAt` drawn from the recording (BENCH_K0..BENCH_KN, ISO) or without, at the
 * default page or a random limit, every cursor followed (Link rel="next", at most
 * BENCH_MAX_PAGES). Status, body, Link, Cache-Control and ETag must be equal; a current
 * answer's weak ETag holds its process's start (routes/reads-answer.ts), so only its position
 * is compared, and its `knownAt` and cursors (the moment it was asked) are left out. BENCH_PORT (18081): the first of two ports.
 * Exits 1 when any answer differs. BENCH_QUESTIONS (150) a list, BENCH_MAX_PAGES (6).
 * BENCH_LISTS (documents,sessions): the lists asked; `timeline` asks the organization's
 * timeline instead with a window (from, to: a day, month or year each, or none) for validAt.
 * BENCH_WIRE=1: each answer with a pinned knownAt is also asked on the wire as a browser on
 * another origin asks it (`Origin`, the servers started with ANNALS_CORS_ORIGINS=*), with
 * `Accept-Encoding` gzip, br or none in turn, then again with its ETag in If-None-Match (a 304
 * once it is strong), and every header but Date compared, and the raw (compressed) bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

const [codeA, dataA, codeB, dataB] = process.argv.slice(2);
if (!codeA || !dataA || !codeB || !dataB) throw new Error('usage: bench/pages-ab.ts <code A> <data dir A> <code B> <data dir B>');
const QUESTIONS = Number(process.env['BENCH_QUESTIONS'] ?? 150);
const LISTS = (process.env['BENCH_LISTS'] ?? 'documents,sessions').split(',');
const MAX_PAGES = Number(process.env['BENCH_MAX_PAGES'] ?? 6);
const k0 = Date.parse(process.env['BENCH_K0'] ?? '');
const kn = Date.parse(process.env['BENCH_KN'] ?? '');
if (Number.isNaN(k0) || Number.isNaN(kn)) throw new Error('BENCH_K0 and BENCH_KN (the recording\'s first and last recordedAt) are required');
// BENCH_PORT (18081): A's port, B's the next; another engineer's run on the same ports would answer in their place.
const PORT = Number(process.env['BENCH_PORT'] ?? 18_081);
const PORTS = [PORT, PORT + 1] as const;
const WIRE = process.env['BENCH_WIRE'] === '1';

const start = (code: string, dir: string, port: number): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: code,
    env: { ...process.env, ...(WIRE ? { ANNALS_CORS_ORIGINS: '*' } : {}), ANNALS_DATA_DIR: dir, ANNALS_SEED: 'none', LOG_LEVEL: 'error', PORT: String(port), HOST: '127.0.0.1', ANNALS_RATE_LIMIT_ANONYMOUS: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
const servers = [start(codeA, dataA, PORTS[0]), start(codeB, dataB, PORTS[1])];
const stop = (): void => void servers.forEach((s) => s.kill('SIGTERM'));
process.on('exit', stop);

async function ready(port: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
await Promise.all(PORTS.map(ready));

interface Answer {
  status: number;
  body: string;
  etag: string | null;
  link: string | null;
  cc: string | null;
}
/** One answer; a 503 (shed under load) is asked again. */
async function get(port: number, path: string): Promise<Answer> {
  for (let i = 0; ; i++) {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await r.text();
    if (r.status !== 503 || i >= 20) return { status: r.status, body, etag: r.headers.get('etag'), link: r.headers.get('link'), cc: r.headers.get('cache-control') };
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/** An answer as the wire carries it: status, every header but Date (and the request id), the raw bytes. */
function wire(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: string; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const kept: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (!/^(date|x-request-id)$/i.test(res.rawHeaders[i] as string)) kept.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        ok({ status: res.statusCode ?? 0, headers: kept.join('\n'), body: Buffer.concat(chunks) });
      });
    });
    req.on('error', fail);
    req.end();
  });
}
let wired = 0;
let notModified = 0;
const ENCODINGS = ['gzip', 'br', 'identity'];

let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const d0 = Date.parse('1990-01-01');
const dn = Date.parse('2030-12-31');
const position = (e: string | null): string | null => (e?.startsWith('W/') ? (e.split('.')[0] as string) : e);
let answers = 0;
let strong = 0;
let differ = 0;
for (let i = 0; i < QUESTIONS; i++) {
  for (const list of LISTS) {
    const day = new Date(d0 + Math.floor(rnd() * ((dn - d0) / 864e5)) * 864e5).toISOString().slice(0, 10);
    const validAt = i % 7 === 3 ? day.slice(0, 4) : i % 7 === 5 ? day.slice(0, 7) : day;
    const k = i % 3 === 0 ? null : new Date(k0 + Math.floor(rnd() * (kn - k0))).toISOString();
    const limit = i % 4 === 1 ? 1 + Math.floor(rnd() * (list === 'sessions' ? 30 : 120)) : null;
    // A current answer's knownAt is the moment it was asked, and its cursors carry it.
    const body = (b: string): string => (k ? b : b.replace(/"knownAt":"[^"]*"/g, '').replace(/"nextCursor":"[^"]*"/g, ''));
    const link = (l: string | null): string | null => (k ? l : (l?.replace(/cursor=[^>&]*/g, '') ?? null));
    // The timeline: a window from the day (or none), to a day drawn after it (or none).
    const to = new Date(Date.parse(day) + Math.floor(rnd() * 3 * 365) * 864e5).toISOString().slice(0, i % 5 === 2 ? 4 : 10);
    const window = i % 6 === 0 ? '' : i % 6 === 1 ? `&from=${validAt}` : i % 6 === 2 ? `&to=${to}` : `&from=${validAt}&to=${to}`;
    const asked = list === 'timeline' ? `/v1/timeline?organization=org${window}` : `/v1/${list}?organization=org&validAt=${validAt}`;
    let path: string | null = `${asked}${k ? `&knownAt=${encodeURIComponent(k)}` : ''}${limit ? `&limit=${limit}` : ''}`;
    for (let p = 0; p < MAX_PAGES && path; p++) {
      const [x, y] = (await Promise.all(PORTS.map((port) => get(port, path as string)))) as [Answer, Answer];
      answers += 1;
      if (x.etag && !x.etag.startsWith('W/')) strong += 1;
      if (x.status !== y.status || body(x.body) !== body(y.body) || position(x.etag) !== position(y.etag) || link(x.link) !== link(y.link) || x.cc !== y.cc) {
        differ += 1;
        if (differ <= 5) console.log(`differ: ${path} (status ${x.status} / ${y.status}, ETag ${x.etag} / ${y.etag}, ${x.body.length} / ${y.body.length} B)`);
      }
      if (WIRE && k && x.status === 200 && x.etag !== null && !x.etag.startsWith('W/')) {
        const asks: Record<string, string>[] = [{ origin: 'https://elsewhere.example', 'accept-encoding': ENCODINGS[answers % 3] as string }];
        asks.push({ 'if-none-match': x.etag, origin: 'https://elsewhere.example' });
        for (const h of asks) {
          const [u, v] = await Promise.all(PORTS.map(async (port) => {
            // A 503 (shed under load) is asked again, as get() does.
            for (let i = 0; ; i++) {
              const r = await wire(port, path as string, h);
              if (r.status !== 503 || i >= 20) return r;
              await new Promise((ok) => setTimeout(ok, 200));
            }
          }));
          wired += 1;
          if (u?.status === 304) notModified += 1;
          if (!u || !v || u.status !== v.status || u.headers !== v.headers || !u.body.equals(v.body)) {
            differ += 1;
            if (differ <= 5) console.log(`differ on the wire: ${path} ${JSON.stringify(h)} (status ${u?.status} / ${v?.status})\n${u?.headers}\n--\n${v?.headers}`);
          }
        }
      }
      const next: RegExpExecArray | null = x.link ? /<([^>]+)>;\s*rel="next"/.exec(x.link) : null;
      path = next ? (next[1] as string).replace(/^https?:\/\/[^/]+/, '') : null;
    }
  }
}
console.log(`${answers} answers compared (${strong} with a strong ETag)${WIRE ? `, ${wired} asked again on the wire (${notModified} of them 304)` : ''}, ${differ} differ`);
stop();
process.exit(differ ? 1 : 0);
