/**
 * The README's worked example (src/example/WORKED-EXAMPLE.md) is executed, not trusted: every
 * `curl` of the section is run against the real service started on an empty data dir with
 * ANNALS_SEED=example, and every answer is compared with the JSON shown under it. In those
 * answers `"…"` matches any value and a member `"…": "…"` allows fields not shown; anything
 * else must be exactly as shown. So the README and the behaviour cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { seedExample } from '../src/example/seed.js';
import { startTestApp, TEST_TOKENS } from './fixtures/app.js';
import { manualClock } from './fixtures/clock.js';

const MARKDOWN = readFileSync(new URL('../src/example/WORKED-EXAMPLE.md', import.meta.url), 'utf8');
const ELLIPSIS = '…';

interface Step {
  /** Shell lines (continuations joined), in order. */
  commands: string[];
  expected: unknown;
  at: number;
}

/** A script's commands: a newline ends one unless quoted or escaped (backslash-newline is a space). */
export function shellLines(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      current += c === '\n' ? ' ' : c;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === '\\' && script[i + 1] === '\n') {
      current += ' ';
      i++;
    } else if (c === '\\') {
      current += c + (script[i + 1] ?? '');
      i++;
    } else if (c === '\n') {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (quote) throw new Error(`unterminated ${quote} in the script`);
  out.push(current);
  return out;
}

/** Each ```sh block with a curl, and the ```json block right after it. */
export function steps(markdown: string): Step[] {
  const blocks = [...markdown.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] as string, body: m[2] as string, at: m.index }));
  const out: Step[] = [];
  blocks.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    // A comment ends a line: `TOKEN=$(cat data/recorder.token)     # in another terminal`.
    const commands = shellLines(b.body).map((l) => l.replace(/\s+#\s.*$/, '').trim()).filter((l) => l && !l.startsWith('#'));
    if (!b.body.includes('curl ')) {
      // Setup (npm start, a variable): only the variables matter here.
      const assignments = commands.filter((c) => /^\w+=\$\(/.test(c));
      if (assignments.length) out.push({ commands: assignments, expected: undefined, at: b.at });
      return;
    }
    const next = blocks[i + 1];
    if (!next || next.lang !== 'json') throw new Error(`the curl block at offset ${b.at} has no json answer after it`);
    out.push({ commands, expected: JSON.parse(next.body), at: b.at });
  });
  return out;
}

/** Shell words: single quotes, double quotes with $VAR, bare words with $VAR, adjacent parts joined. */
export function words(line: string, vars: Record<string, string>): string[] {
  const out: string[] = [];
  let word: string | null = null;
  const expand = (s: string) => s.replace(/\$(\w+)|\$\{(\w+)\}/g, (_m, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b) as string;
    if (!(name in vars)) throw new Error(`unset variable $${name}`);
    return vars[name] as string;
  });
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      if (word !== null) out.push(word);
      word = null;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unterminated " in ${line}`);
      word = (word ?? '') + expand(line.slice(i + 1, end));
      i = end + 1;
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i += 2;
    } else {
      let j = i;
      while (j < line.length && !" \t'\"\\".includes(line[j] as string)) j++;
      word = (word ?? '') + expand(line.slice(i, j));
      i = j;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

interface Request {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

export function curl(argv: string[]): Request {
  if (argv[0] !== 'curl') throw new Error(`not a curl command: ${argv.join(' ')}`);
  const req: Request = { method: 'GET', url: '', headers: {} };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-s') continue;
    else if (a === '-X') req.method = argv[++i] as 'GET' | 'POST';
    else if (a === '-H') {
      const h = argv[++i] as string;
      const at = h.indexOf(':');
      req.headers[h.slice(0, at).toLowerCase()] = h.slice(at + 1).trim();
    } else if (a === '-d' || a === '--data') {
      req.payload = argv[++i] as string;
      if (req.method === 'GET') req.method = 'POST';
    } else if (a.startsWith('http://127.0.0.1:3000/')) req.url = a.slice('http://127.0.0.1:3000'.length);
    else throw new Error(`curl option not understood by this test: ${a}`);
  }
  return req;
}

/** Where `actual` differs from `expected` (with the "…" conventions), or null. */
export function mismatch(actual: unknown, expected: unknown, path = '$'): string | null {
  if (expected === ELLIPSIS) return null;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(actual)}`;
    for (const [i, e] of expected.entries()) {
      const m = mismatch(actual[i], e, `${path}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const exp = expected as Record<string, unknown>;
    const act = actual as Record<string, unknown>;
    const open = exp[ELLIPSIS] === ELLIPSIS;
    for (const k of Object.keys(exp)) {
      if (k === ELLIPSIS) continue;
      if (!(k in act)) return `${path}.${k}: missing`;
      const m = mismatch(act[k], exp[k], `${path}.${k}`);
      if (m) return m;
    }
    if (!open) {
      const extra = Object.keys(act).filter((k) => !(k in exp));
      if (extra.length) return `${path}: fields not shown in the README: ${extra.join(', ')} (add them, or mark the object with "…": "…")`;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

t.test('the worked example parses into commands and answers', async (t) => {
  const all = steps(MARKDOWN).filter((s) => s.expected !== undefined);
  t.ok(all.length >= 8, `${all.length} curl steps`);
  const urls = all.flatMap((s) => s.commands.filter((c) => c.startsWith('curl ')));
  for (const q of ['holder?validAt=2025-11-27', 'holder?validAt=2026-06-01', 'chair?validAt=2026', 'documents?organization=csto&validAt=2027', 'FactCorrected', 'knownAt=$BEFORE']) {
    t.ok(urls.some((u) => u.includes(q)), `the example asks ${q}`);
  }
  t.equal(mismatch({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }), null);
  t.equal(mismatch({ a: 1, b: 2 }, { a: 1, [ELLIPSIS]: ELLIPSIS }), null);
  t.match(mismatch({ a: 1, b: 2 }, { a: 1 }), /fields not shown/);
  t.match(mismatch({ a: [1] }, { a: [1, 2] }), /expected 2 items/);
  t.equal(mismatch({ a: 'x' }, { a: ELLIPSIS }), null);
  t.same(words(`curl -s "http://h/x?k=$V" -d '{"a": "it'\\''s"}'`, { V: '1' }), ['curl', '-s', 'http://h/x?k=1', '-d', `{"a": "it's"}`]);
});

t.test('every answer of the worked example, from a service started on an empty data dir', async (t) => {
  // The store's clock is the test's: "the moment before the correction" is one it names.
  const clock = manualClock();
  const { app, runtime } = await startTestApp(t, { env: { ANNALS_SEED: 'example' }, clock: clock.now });
  // The runtime seeds at start when ANNALS_SEED=example; calling it again is harmless (fixed factIds).
  await seedExample(runtime);
  const vars: Record<string, string> = {};
  for (const step of steps(MARKDOWN)) {
    for (const command of step.commands) {
      const assign = /^(\w+)=\$\((.*)\)$/.exec(command);
      if (assign) {
        const [, name, inner] = assign as unknown as [string, string, string];
        if (inner.includes('recorder.token')) vars[name] = TEST_TOKENS.recorder;
        else if (inner.includes('new Date().toISOString()')) {
          vars[name] = clock.advance();
          clock.advance();
        } else throw new Error(`the test does not know how to run ${command}`);
        continue;
      }
      // `| jq` only pretty-prints the answer the test reads itself.
      const req = curl(words(command.replace(/\s+\|\s+jq(\s+\S+)?$/, ''), vars));
      const res = await app.inject({ method: req.method, url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
      t.ok(res.statusCode < 300, `${req.method} ${req.url}: ${res.statusCode}`);
      const problem = mismatch(res.json(), step.expected);
      t.equal(problem, null, `${req.method} ${req.url} answers as the README shows`, { actual: res.body });
    }
  }
});

t.test('the holder of the token file is what the README reads ($TOKEN)', async (t) => {
  t.match(MARKDOWN, /TOKEN=\$\(cat data\/recorder\.token\)/);
  const { TOKEN_FILE } = await import('../src/auth/tokens.js');
  t.equal(TOKEN_FILE, 'recorder.token');
});
