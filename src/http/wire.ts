/**
 * On the wire: compression of large answers (@fastify/compress: br, gzip or deflate as the
 * client accepts, answers over 1 KiB; a holder answer of ~450 bytes goes as is, past compression's
 * onSend without its checks: smallBodiesAsIs) and CORS for
 * browser clients on other origins (@fastify/cors, only when ANNALS_CORS_ORIGINS names
 * some). Browsers may read ETag, Link and Retry-After, which paging and revalidation need.
 */
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import type { FastifyInstance, onSendHookHandler, RouteOptions } from 'fastify';
import { constants } from 'node:zlib';
import type { Config } from '../config.js';

/** Answers smaller than this are sent uncompressed (compressing them costs more than it saves). */
export const COMPRESS_THRESHOLD = 1024;

type OnSend = onSendHookHandler<unknown>;
const hooksOf = (hooks: OnSend | OnSend[] | undefined): OnSend[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

/**
 * Compression's onSend (one a route) with a body it sends as is anyway skipped before its
 * checks: a string or bytes under the threshold (its `payloadSize < threshold` branch, which
 * hands the body on untouched and sets no header; before it, each path also hands it on
 * untouched: an encoding already set, no accepted encoding, a type it does not compress).
 * Those checks (two headers read, the content type's pattern, the Accept-Encoding header
 * parsed) ran on every small answer: a holder's (~450 bytes), /healthz. Larger bodies and
 * streams go to it as before.
 */
function smallBodiesAsIs(compressOnSend: OnSend): OnSend {
  return function (this: FastifyInstance, request, reply, payload, done) {
    if ((typeof payload === 'string' && payload.length < COMPRESS_THRESHOLD && Buffer.byteLength(payload) < COMPRESS_THRESHOLD) || (Buffer.isBuffer(payload) && payload.length < COMPRESS_THRESHOLD)) return done(null, payload);
    return compressOnSend.call(this, request, reply, payload, done);
  } as OnSend;
}

export async function registerWire(app: FastifyInstance, config: Pick<Config, 'corsOrigins'>): Promise<void> {
  // Each route's onSend hooks before compression's onRoute hook adds its own (after it: smallBodiesAsIs).
  const before = new WeakMap<RouteOptions, OnSend[]>();
  app.addHook('onRoute', (route) => {
    before.set(route, hooksOf(route.onSend as OnSend | OnSend[] | undefined));
  });
  await app.register(fastifyCompress, {
    threshold: COMPRESS_THRESHOLD,
    encodings: ['br', 'gzip', 'deflate'],
    // Quality 4: most of brotli's gain on JSON for a fraction of the default's (11) CPU.
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
  app.addHook('onRoute', (route) => {
    const had = before.get(route) ?? [];
    const now = hooksOf(route.onSend as OnSend | OnSend[] | undefined);
    // The hooks compression added (one, or none for a route with `compress: false`), wrapped.
    if (now.length > had.length) route.onSend = now.map((hook) => (had.includes(hook) ? hook : smallBodiesAsIs(hook)));
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
