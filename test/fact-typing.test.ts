/**
 * The promise of the typed catalogue, kept by reading the source: the domain and the
 * projections take typed facts (events/facts/), so nowhere there is fact data cast (`data as
 * T`, `d['x'] as T`, `fact.data.x as T`): a field's type comes from its schema. And every
 * `switch` over fact types ends in `default: … assertNever(…)`, so a type added to the
 * catalogue (or to a list derived from it) is a compile error where it is not handled.
 * Both read with the TypeScript parser (syntax only: fast, and no type checker needed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { isFactType } from '../events/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where facts are taken typed (ARCHITECTURE.md: the domain decides, the projections evolve). */
const SCANNED = ['src/domain', 'projections'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Names a fact's data goes by: the field itself, and the `d` the projections and deciders bind it to. */
const DATA_NAMES = new Set(['data', 'd']);

/** True when `e` reads fact data: `data`, `d`, `x.data`, or a field below one of them (`d['on']`, `fact.data.term`). */
function readsFactData(e: ts.Expression): boolean {
  let node: ts.Expression = e;
  for (;;) {
    if (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node)) node = node.expression;
    else if (ts.isPropertyAccessExpression(node)) {
      if (node.name.text === 'data') return true;
      node = node.expression;
    } else if (ts.isElementAccessExpression(node)) {
      if (ts.isStringLiteral(node.argumentExpression) && node.argumentExpression.text === 'data') return true;
      node = node.expression;
    } else return ts.isIdentifier(node) && DATA_NAMES.has(node.text);
  }
}

export interface Finding {
  readonly line: number;
  readonly text: string;
  readonly problem: string;
}

/** The casts of fact data and the switches over fact types without assertNever in one file's text. */
export function findings(fileName: string, text: string): Finding[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: Finding[] = [];
  const at = (node: ts.Node, problem: string): void => {
    out.push({ line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, text: node.getText(file).slice(0, 120), problem });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) && !(ts.isTypeReferenceNode(node.type) && node.type.typeName.getText(file) === 'const') && readsFactData(node.expression)) {
      at(node, 'a cast of fact data: take the typed fact (events/facts/) instead');
    }
    if (ts.isSwitchStatement(node)) {
      const labels = node.caseBlock.clauses.flatMap((c) => (ts.isCaseClause(c) && ts.isStringLiteralLike(c.expression) ? [c.expression.text] : []));
      if (labels.some(isFactType)) {
        const last = node.caseBlock.clauses.at(-1);
        const ends = last !== undefined && ts.isDefaultClause(last) && last.statements.some((s) => callsAssertNever(s));
        if (!ends) at(node.expression, 'a switch over fact types that does not end in `default: … assertNever(…)`');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

function callsAssertNever(node: ts.Node): boolean {
  if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'assertNever') return true;
  return ts.forEachChild(node, callsAssertNever) ?? false;
}

t.test('the scanner finds what it is meant to find', async (t) => {
  const problems = (code: string): string[] => findings('x.ts', code).map((f) => f.text);
  t.same(problems("const on = d['on'] as string;"), ["d['on'] as string"], 'a field of d');
  t.same(problems('const term = fact.data.term as Term;'), ['fact.data.term as Term'], 'a field below .data');
  t.same(problems("const x = (e.data as Record<string, unknown>)['fact'];"), ['e.data as Record<string, unknown>'], 'the data itself');
  t.same(problems("const r = data['replacement']! as object;"), ["data['replacement']! as object"], 'through a non-null assertion');
  t.same(problems('const n = <number>d.count;'), ['<number>d.count'], 'the angle-bracket form');
  t.same(problems("const a = after['a0'] as string; const m = e.metadata as Meta; const j = JSON.parse(r.data) as Row; const k = ['x'] as const;"), [], 'other casts are not fact data');
  const open = "switch (fact.type) { case 'SessionHeld': return 1; default: return 0; }";
  t.same(findings('x.ts', open).map((f) => f.problem.slice(0, 37)), ['a switch over fact types that does no'], 'a switch over fact types ending in a silent default');
  t.same(problems("switch (fact.type) { case 'SessionHeld': return 1; }"), ['fact.type'], 'one with no default');
  t.same(problems("switch (fact.type) { case 'SessionHeld': return 1; default: return assertNever(fact); }"), [], 'one ending in assertNever');
  t.same(problems("switch (type) { case 'SessionHeld': { return 1; } default: { throw assertNever(type); } }"), [], 'assertNever inside a block');
  t.same(problems("switch (m.kind) { case 'ready': return 1; default: return 0; }"), [], 'a switch over something else is not held to it');
});

t.test('no cast of fact data, every switch over fact types exhaustive, in the domain and the projections', async (t) => {
  const files = SCANNED.flatMap((dir) => sources(join(ROOT, dir)));
  t.ok(files.length > 30, `${files.length} files read`);
  const found = files.flatMap((path) => findings(path, readFileSync(path, 'utf8')).map((f) => `${relative(ROOT, path)}:${f.line}: ${f.problem}: ${f.text}`));
  t.same(found, [], found.join('\n'));
  // The switches that are held to it are there to be held: the projections' evolve.
  const switches = files.filter((path) => /switch \([a-z.]*type\)/.test(readFileSync(path, 'utf8')));
  t.ok(switches.length >= 5, `${switches.length} files switch over fact types`);
});
