/** The process logger: pino, with every credential redacted wherever it appears. */
import { pino, type DestinationStream, type Logger } from 'pino';

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

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const opts = { level: options.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
