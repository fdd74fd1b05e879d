/**
 * Each request's logger (`request.log`), made when something logs through it at a level the
 * service writes. Fastify makes a pino child per request to bind its requestId, and with the
 * redaction our loggers carry (logging.ts) making one parses the redaction paths again:
 * profiled under 32 recorders at LOG_LEVEL=warn, ~2% of the event loop's time and ~1 KB of
 * allocation a request, for a logger that then wrote nothing. At info, Fastify's own request
 * lines make every child as before. What a child writes is the same either way.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Args = Parameters<FastifyBaseLogger['info']>;

/** The parent's level check, when it has one (pino's isLevelEnabled); without it a child is always made. */
const enabled = (logger: FastifyBaseLogger, level: Level): boolean => {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return check === undefined || check.call(logger, level);
};

class LazyChild implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  fatal(...args: Args): void {
    this.write('fatal', args);
  }

  error(...args: Args): void {
    this.write('error', args);
  }

  warn(...args: Args): void {
    this.write('warn', args);
  }

  info(...args: Args): void {
    this.write('info', args);
  }

  debug(...args: Args): void {
    this.write('debug', args);
  }

  trace(...args: Args): void {
    this.write('trace', args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }

  private real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  private write(level: Level, args: Args): void {
    if (this.made === undefined && !enabled(this.parent, level)) return;
    (this.real()[level] as (...a: Args) => void)(...args);
  }
}

/** Fastify's childLoggerFactory: a route with a level of its own (logLevel) gets its child at once. */
export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  options.level !== undefined ? logger.child(bindings, options) : new LazyChild(logger, bindings, options);
