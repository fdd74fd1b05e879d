/**
 * The HTTP layer's shape: route files (and the explorer's pages) are Fastify plugins that read
 * what the app plugin (src/http/parts.ts) decorates on the instance, never the composition root
 * (src/runtime.ts). Only the app's assembly sees the runtime. Imports are read with
 * TypeScript's own scanner (static, type-only, re-exports and dynamic import()).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { startTestApp } from './fixtures/app.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNTIME = join(ROOT, 'src/runtime');
/** Under src/http, the files that assemble the app from a runtime. shedding.ts: its set-up takes the runtime's config and metrics (app.ts calls it with them). */
const ASSEMBLY = ['src/http/app.ts', 'src/http/parts.ts', 'src/http/shedding.ts'];

/** The module specifiers of `text` (a file at `file`) that resolve to src/runtime.ts. */
function runtimeImports(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.') && resolve(dirname(file), spec).replace(/\.(js|ts)$/, '') === RUNTIME);
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => join(ROOT, dir, f));
}

t.test('the check finds every way of importing the runtime', async (t) => {
  const file = join(ROOT, 'src/http/routes/example.ts');
  t.same(runtimeImports(file, "import type { Runtime } from '../../runtime.js';"), ['../../runtime.js']);
  t.same(runtimeImports(file, "export type { Runtime } from '../../runtime.js';"), ['../../runtime.js']);
  t.same(runtimeImports(file, "const m = await import('../../runtime.js');"), ['../../runtime.js']);
  t.same(runtimeImports(file, "import { openRuntime } from '../../runtime';"), ['../../runtime']);
  t.same(runtimeImports(file, "import { ProblemError } from '../errors.js';\nimport type { Config } from '../../config.js';"), []);
  t.same(runtimeImports(join(ROOT, 'src/web/index.ts'), "import type { Runtime } from '../runtime.js';"), ['../runtime.js']);
});

t.test('no route file and no page imports src/runtime.ts: they read the instance', async (t) => {
  const files = [...sources('src/http/routes'), ...sources('src/web')];
  t.ok(files.length > 30, `${files.length} files`);
  for (const file of files) t.same(runtimeImports(file, readFileSync(file, 'utf8')), [], relative(ROOT, file));
});

t.test('under src/http, only the assembly sees the runtime', async (t) => {
  const seeing = sources('src/http')
    .filter((file) => runtimeImports(file, readFileSync(file, 'utf8')).length > 0)
    .map((file) => relative(ROOT, file))
    .sort();
  t.ok(seeing.includes('src/http/parts.ts'), 'the app plugin takes the runtime');
  t.same(seeing.filter((f) => !ASSEMBLY.includes(f)), [], 'no file outside the assembly');
});

t.test('the app plugin decorates what the routes read', async (t) => {
  const { app, runtime } = await startTestApp(t, { store: 'memory' });
  for (const name of ['config', 'recorder', 'readModels', 'readPool', 'store', 'audit', 'witness', 'checkpoints', 'metrics']) t.ok(app.hasDecorator(name), `instance: ${name}`);
  for (const name of ['credential', 'principal']) t.ok(app.hasRequestDecorator(name), `request: ${name}`);
  t.equal(app.recorder, runtime.recorder);
  t.equal(app.readModels, runtime.readModels);
  t.equal(app.audit, runtime.audit);
  t.equal(app.readPool, null, 'inline read models: no read workers');
});
