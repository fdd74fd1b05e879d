/**
 * The process's loggers: pino, with every credential redacted wherever it appears. The main
 * thread's (`createLogger`) and each worker thread's (`threadLogger`) carry the same process
 * fields (`name`, `pid`, `hostname`), a worker's also `thread`, so the lines of one process
 * can be told apart and put together. A request's line logs its URL with the values of
 * credential-like query parameters (`token=`, `access_token=`, `api_key=`, …) redacted.
 */
import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const SERVICE_NAME = 'annals';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'tokens',
  '*.tokens',
];

const SECRET_PARAM = /token|secret|passw|api[-_]?key|^auth|credential|signature/i;

/** The URL with the value of every credential-like query parameter replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq < 0 ? pair : pair.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        // A key that does not decode is judged as written.
      }
      return SECRET_PARAM.test(key) && eq >= 0 ? `${rawKey}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, with the URL redacted (redactUrl) and no headers. */
function req(r: RequestLike): Record<string, unknown> {
  return {
    method: r.method,
    url: typeof r.url === 'string' ? redactUrl(r.url) : undefined,
    host: r.host,
    remoteAddress: r.ip,
    remotePort: r.socket?.remotePort,
  };
}

function options(level: string, base: Record<string, unknown>): LoggerOptions {
  return { name: SERVICE_NAME, level, base: { pid: process.pid, hostname: hostname(), ...base }, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { req } };
}

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  const o = options(opts.level ?? 'info', {});
  return opts.destination ? pino(o, opts.destination) : pino(o);
}

/** A worker thread's logger: the main logger's fields, plus `thread` (what the thread does). */
export function threadLogger(level: string, thread: string, destination?: DestinationStream): Logger {
  const o = options(level, { thread });
  return destination ? pino(o, destination) : pino(o);
}
