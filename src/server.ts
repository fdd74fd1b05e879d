/**
 * The entry point: configuration, the logger, the runtime, listening, graceful close.
 * `npm start` runs this after building.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logging.js';
import { openRuntime } from './runtime.js';
import { setHeapGrowth } from './heap-growth.js';

async function main(): Promise<void> {
  // Before the threads start and the heap fills: see heap-growth.ts.
  setHeapGrowth();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`annals: ${err.message}\nFix the environment variables above and start again.\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  // The HTTP layer (Fastify, its plugins, the routes and their schemas: ~0.4 s of this thread's
  // CPU to load) is loaded while the runtime's threads start, which this thread only waits
  // for; imported statically, it was loaded first, before any thread started.
  const http = Promise.all([import('./http/app.js'), import('./http/warm-up.js')]);
  // Not unhandled if the runtime's open fails first (its refusal is what is said then).
  http.catch(() => undefined);
  const runtime = await openRuntime(config, { log });
  const [{ buildApp }, { APP_WARM_UP, warmUpApp }] = await http;
  const app = await buildApp(runtime, { loggerInstance: log });

  let closing = false;
  const close = async (signal: string): Promise<void> => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    log.info({ signal }, 'closing: finishing requests in flight');
    await app.close();
    await runtime.close();
    log.info('closed');
    process.exit(0);
  };
  process.on('SIGTERM', (s) => void close(s));
  process.on('SIGINT', (s) => void close(s));

  await app.listen({ host: config.host, port: config.port });
  // The event loop's holder path warmed before /readyz says 200 (http/warm-up.ts); /healthz answers meanwhile.
  void warmUpApp(app, { ...APP_WARM_UP, questions: config.warmUpQuestions, ms: config.warmUpMs }).then((w) => (w.error === undefined ? log.info({ warmUp: w }, 'warm-up done') : log.warn({ warmUp: w }, 'warm-up ended early')));
}

main().catch((err: unknown) => {
  // A refusal (the data dir in use, a loose key, data that is not of this log) says what to do; a bug shows its stack.
  const refused = err instanceof Error && ['DataDirBusyError', 'LooseKeyError', 'LogMismatchError'].includes(err.name);
  const text = refused ? `${(err as Error).message}${err.name === 'DataDirBusyError' ? '. Stop it first' : ''}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`annals: could not start: ${text}\n`);
  process.exit(1);
});
