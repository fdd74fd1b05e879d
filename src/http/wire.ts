/**
 * On the wire: compression of large answers (@fastify/compress: br, gzip or deflate as the
 * client accepts, answers over 1 KiB; a holder answer of ~450 bytes goes as is) and CORS for
 * browser clients on other origins (@fastify/cors, only when ANNALS_CORS_ORIGINS names
 * some). Browsers may read ETag, Link and Retry-After, which paging and revalidation need.
 */
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { constants } from 'node:zlib';
import type { Config } from '../config.js';

/** Answers smaller than this are sent uncompressed (compressing them costs more than it saves). */
export const COMPRESS_THRESHOLD = 1024;

export async function registerWire(app: FastifyInstance, config: Pick<Config, 'corsOrigins'>): Promise<void> {
  await app.register(fastifyCompress, {
    threshold: COMPRESS_THRESHOLD,
    encodings: ['br', 'gzip', 'deflate'],
    // Quality 4: most of brotli's gain on JSON for a fraction of the default's (11) CPU.
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
  if (config.corsOrigins.length === 0) return;
  await app.register(fastifyCors, {
    origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match', 'Last-Event-ID'],
    exposedHeaders: ['ETag', 'Link', 'Retry-After', 'Location'],
    maxAge: 600,
  });
}
