/**
 * A request's logger is made only when it writes (src/http/lazy-logger.ts): at a level the
 * service does not write nothing is made; what is written carries the request's bindings and
 * goes through the same redaction as before. (test/request-id.test.ts: at info, every request
 * line carries its requestId through the app.)
 */
import t from 'tap';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { lazyChildLogger } from '../src/http/lazy-logger.js';
import { createLogger } from '../src/logging.js';
import { startTestApp } from './fixtures/app.js';

function logger(level: string): { log: FastifyBaseLogger; lines: Array<Record<string, unknown>>; children: () => number } {
  const lines: Array<Record<string, unknown>> = [];
  // A plain destination: pino writes to it synchronously, so each line is there when the call returns.
  const log = createLogger({ level, destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } }) as unknown as FastifyBaseLogger;
  let made = 0;
  // pino's children inherit from their parent: the count goes through `this`, so a child's own children stay its own.
  const child = log.child;
  log.child = function (this: FastifyBaseLogger, b, o) {
    made++;
    return child.call(this, b, o);
  };
  return { log, lines, children: () => made };
}

const make = (parent: FastifyBaseLogger, level?: string): FastifyBaseLogger =>
  lazyChildLogger.call({} as FastifyInstance, parent, { requestId: 'r-1' }, level === undefined ? {} : { level }, {} as never);

t.test('below the level: nothing written, no child made; at it: written with the bindings, redacted', async (t) => {
  const { log, lines, children } = logger('warn');
  const child = make(log);
  t.equal(child.level, 'warn', 'reports the level it writes at');
  child.info('not written');
  child.debug({ a: 1 }, 'nor this');
  t.equal(children(), 0, 'no pino child for a request that logged nothing');
  t.same(lines, []);
  child.warn({ authorization: 'Bearer secret-token-123' }, 'written');
  t.equal(children(), 1, 'made on the first line written');
  t.match(lines, [{ level: 40, requestId: 'r-1', msg: 'written' }]);
  t.notMatch(JSON.stringify(lines), 'secret-token-123', 'redaction applies as before');
  child.error('again');
  t.equal(children(), 1, 'made once');
  t.match(lines[1], { level: 50, requestId: 'r-1', msg: 'again' });
  const grandchild = child.child({ step: 2 });
  grandchild.warn('nested');
  t.match(lines[2], { requestId: 'r-1', step: 2, msg: 'nested' });
  child.level = 'debug';
  child.debug('now written');
  t.match(lines[3], { level: 20, msg: 'now written' });
  t.equal(child.level, 'debug');
  child.silent('never written');
  t.equal(lines.length, 4, 'silent writes nothing');
});

t.test('a route level of its own makes the child at once, at that level', async (t) => {
  const { log, lines, children } = logger('warn');
  const child = make(log, 'info');
  t.equal(children(), 1);
  child.info('at the route level');
  t.match(lines, [{ level: 30, requestId: 'r-1' }]);
});

t.test('through the app at warn: a request logs nothing and is answered', async (t) => {
  const { log, lines } = logger('warn');
  const a = await startTestApp(t, { store: 'memory', log: log as never });
  const res = await a.app.inject({ url: '/healthz' });
  t.equal(res.statusCode, 200);
  t.same(lines.filter((l) => l['requestId'] !== undefined), [], 'no request lines at warn');
});
