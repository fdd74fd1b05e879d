/**
 * No test synchronises by sleeping (issue #18): a test waits for a condition (test/fixtures/
 * when.ts: an event, or a poll with a deadline) or moves a clock it was given
 * (test/fixtures/clock.ts), never for "long enough", which is slow on a quiet machine and
 * wrong on a loaded one. A sleep that is itself what a test is about (a deadline, a slow
 * client, Retry-After, a fault's delay) says so on its line or the comment just above it:
 * `deliberate sleep: <why>`. Read with the TypeScript parser (syntax only).
 *
 * A sleep, to this scanner: a timer that only resolves the promise around it
 * (`new Promise((r) => setTimeout(r, ms))`, `setTimeout(() => resolve(), ms)`), unless that
 * promise is raced against another (then it is a deadline); a call of a function named
 * `sleep`, `delay` or `pause`; and `setTimeout(ms)` of node:timers/promises.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEST = join(ROOT, 'test');
const MARK = /deliberate sleep: \S+ \S+ \S+/;
const SLEEP_NAMES = new Set(['sleep', 'delay', 'pause']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The first parameter's name of the executor when `fn` is `new Promise(fn)`'s argument. */
function resolverOf(fn: ts.Node): string | null {
  if (!(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn))) return null;
  const created = fn.parent;
  if (!ts.isNewExpression(created) || created.expression.getText() !== 'Promise' || created.arguments?.[0] !== fn) return null;
  const first = fn.parameters[0]?.name;
  return first !== undefined && ts.isIdentifier(first) ? first.text : null;
}

/** True when the promise made by `new Promise(executor)` is one of `Promise.race([...])`'s entrants: a deadline. */
function raced(executor: ts.Node): boolean {
  const list = executor.parent.parent;
  return ts.isArrayLiteralExpression(list) && ts.isCallExpression(list.parent) && list.parent.expression.getText() === 'Promise.race';
}

/** True when the timer's callback does nothing but resolve (`r`, `() => r()`, `() => { resolve(); }`). */
function onlyResolves(callback: ts.Expression, resolver: string): boolean {
  if (ts.isIdentifier(callback)) return callback.text === resolver;
  if (!ts.isArrowFunction(callback) && !ts.isFunctionExpression(callback)) return false;
  let body: ts.Node = callback.body;
  if (ts.isBlock(body)) {
    if (body.statements.length !== 1 || !ts.isExpressionStatement(body.statements[0]!)) return false;
    body = body.statements[0].expression;
  }
  return ts.isCallExpression(body) && ts.isIdentifier(body.expression) && body.expression.text === resolver;
}

/** The timer's enclosing `new Promise` executor whose resolver it calls, if any. */
function sleepsIn(call: ts.CallExpression): boolean {
  const callback = call.arguments[0];
  if (callback === undefined) return false;
  for (let node: ts.Node = call.parent; !ts.isSourceFile(node); node = node.parent) {
    const resolver = resolverOf(node);
    if (resolver !== null) return onlyResolves(callback, resolver) && !raced(node);
  }
  return false;
}

export interface Sleep {
  readonly line: number;
  readonly text: string;
}

/** The unmarked sleeps in one file's text. */
export function sleeps(fileName: string, text: string): Sleep[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const lines = text.split('\n');
  /** The line itself, or the comment lines right above it. */
  const marked = (line: number): boolean => {
    if (MARK.test(lines[line - 1] ?? '')) return true;
    for (let i = line - 2; i >= 0 && /^\s*(\/\/|\*|\/\*)/.test(lines[i] ?? ''); i--) if (MARK.test(lines[i] ?? '')) return true;
    return false;
  };
  const out: Sleep[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
      const name = node.expression.text;
      const timer = name === 'setTimeout' && (sleepsIn(node) || (node.arguments.length === 1 && !ts.isFunctionLike(node.arguments[0]!) && !ts.isIdentifier(node.arguments[0]!)));
      if (timer || SLEEP_NAMES.has(name)) {
        const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
        if (!marked(line)) out.push({ line, text: node.getText(file).slice(0, 100) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

t.test('the scanner finds what it is meant to find', async (t) => {
  const found = (code: string): string[] => sleeps('x.ts', code).map((s) => s.text);
  t.same(found('await new Promise((r) => setTimeout(r, 30));'), ['setTimeout(r, 30)'], 'the bare sleep');
  t.same(found('await new Promise<void>((resolve) => setTimeout(() => resolve(), 30));'), ['setTimeout(() => resolve(), 30)'], 'through an arrow');
  t.same(found('await new Promise(function (ok) { setTimeout(() => { ok(); }, 30); });'), ['setTimeout(() => { ok(); }, 30)'], 'in a block');
  t.same(found('await sleep(20); await delay(5); pause();'), ['sleep(20)', 'delay(5)', 'pause()'], 'by name');
  t.same(found("import { setTimeout } from 'node:timers/promises'; await setTimeout(50);"), ['setTimeout(50)'], 'node:timers/promises');
  t.same(found('await new Promise((r) => setTimeout(r, 30)); // deliberate sleep: a slow client is the case'), [], 'marked on its line');
  t.same(found('// deliberate sleep: the deadline is the case\n// (more words)\nawait sleep(20);'), [], 'marked in the comment above');
  t.same(found('// deliberate sleep:\nawait sleep(20);'), ['sleep(20)'], 'a mark without a reason is none');
  t.same(found('// deliberate sleep: the deadline is the case\nconst x = 1;\nawait sleep(20);'), ['sleep(20)'], 'a mark above another statement does not count');
  t.same(found("const timer = setTimeout(() => reject(new Error('late')), 30);"), [], 'a deadline that rejects');
  t.same(found("return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);"), [], 'a deadline in a race');
  t.same(found("setTimeout(() => child.kill('SIGKILL'), 60_000);"), [], 'a timed action');
  t.same(found('new Promise((resolve) => { const timer = setTimeout(() => { done(); resolve(); }, 9); });'), [], 'a timer that does more than wake');
});

t.test('no test synchronises by sleeping: every sleep left in test/ says why it is one', async (t) => {
  const files = sources(TEST);
  t.ok(files.length > 80, `${files.length} files read`);
  const found = files.flatMap((path) => sleeps(path, readFileSync(path, 'utf8')).map((s) => `${relative(ROOT, path)}:${s.line}: ${s.text}`));
  t.same(found, [], `wait on a condition (test/fixtures/when.ts) or a clock (test/fixtures/clock.ts), or mark the line "deliberate sleep: <why>":\n${found.join('\n')}`);
  const marked = files.filter((path) => readFileSync(path, 'utf8').includes('deliberate sleep: '));
  t.ok(marked.length >= 3 && marked.length <= 15, `${marked.length} files sleep on purpose, each saying why`);
});
