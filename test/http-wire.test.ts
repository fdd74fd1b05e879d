/**
 * Compression's onSend skipped for small bodies (src/http/wire.ts smallBodiesAsIs): two real
 * Fastify apps, one with registerWire, one with @fastify/compress registered as wire.ts
 * registers it but left as it is, answer the same bodies around the 1 KiB threshold (ASCII
 * strings, strings under 1,024 characters but over 1,024 bytes in UTF-8, bytes, a stream, a
 * body with Content-Encoding set, a type it does not compress) to the same requests (no
 * Accept-Encoding, gzip, br, identity, x-no-compression): the same status, headers and bytes.
 */
import fastifyCompress from '@fastify/compress';
import Fastify, { type FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { constants } from 'node:zlib';
import t from 'tap';
import { COMPRESS_THRESHOLD, registerWire } from '../src/http/wire.js';

const BODIES: Record<string, () => { body: string | Buffer | Readable; type?: string; encoding?: string }> = {
  empty: () => ({ body: '' }),
  small: () => ({ body: JSON.stringify({ a: 'x'.repeat(400) }), type: 'application/json; charset=utf-8' }),
  under: () => ({ body: 'a'.repeat(COMPRESS_THRESHOLD - 1), type: 'application/json; charset=utf-8' }),
  at: () => ({ body: 'a'.repeat(COMPRESS_THRESHOLD), type: 'application/json; charset=utf-8' }),
  over: () => ({ body: 'a'.repeat(COMPRESS_THRESHOLD + 1), type: 'application/json; charset=utf-8' }),
  // Fewer characters than the threshold, more bytes: compressed.
  wide: () => ({ body: JSON.stringify({ a: 'é€'.repeat(210) }), type: 'application/json; charset=utf-8' }),
  wideUnder: () => ({ body: 'é'.repeat(511), type: 'application/json; charset=utf-8' }),
  wideAt: () => ({ body: 'é'.repeat(512), type: 'application/json; charset=utf-8' }),
  plain: () => ({ body: 'b'.repeat(2000) }),
  bytesUnder: () => ({ body: Buffer.alloc(COMPRESS_THRESHOLD - 1, 97), type: 'application/octet-stream' }),
  bytesAt: () => ({ body: Buffer.alloc(COMPRESS_THRESHOLD, 97), type: 'application/octet-stream' }),
  stream: () => ({ body: Readable.from(['c'.repeat(100), 'd'.repeat(100)]), type: 'text/plain; charset=utf-8' }),
  image: () => ({ body: 'e'.repeat(2000), type: 'image/png' }),
  encoded: () => ({ body: 'f'.repeat(2000), type: 'application/json', encoding: 'identity' }),
  encodedSmall: () => ({ body: 'f'.repeat(20), type: 'application/json', encoding: 'gzip' }),
};
const ASKS: Record<string, string>[] = [{}, { 'accept-encoding': 'gzip' }, { 'accept-encoding': 'br, gzip' }, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip', 'x-no-compression': '1' }, { 'accept-encoding': 'compress' }];

async function appWith(wire: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify();
  await wire(app);
  for (const [name, make] of Object.entries(BODIES)) {
    app.get(`/${name}`, (_req, reply) => {
      const { body, type, encoding } = make();
      if (type) reply.type(type);
      if (encoding) reply.header('content-encoding', encoding);
      return reply.send(body);
    });
  }
  await app.ready();
  return app;
}

t.test('small bodies skip compression as compression itself would', async (t) => {
  const ours = await appWith((app) => registerWire(app, { corsOrigins: [] }));
  const plain = await appWith(async (app) => {
    await app.register(fastifyCompress, { threshold: COMPRESS_THRESHOLD, encodings: ['br', 'gzip', 'deflate'], brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } } });
  });
  t.teardown(() => Promise.all([ours.close(), plain.close()]));
  let compressed = 0;
  for (const name of Object.keys(BODIES)) {
    for (const headers of ASKS) {
      const [a, b] = await Promise.all([ours.inject({ url: `/${name}`, headers }), plain.inject({ url: `/${name}`, headers })]);
      const what = `${name} ${JSON.stringify(headers)}`;
      t.equal(a.statusCode, b.statusCode, `${what}: status`);
      t.same(a.headers, b.headers, `${what}: headers`);
      t.same(a.rawPayload, b.rawPayload, `${what}: bytes`);
      if (a.headers['content-encoding'] === 'gzip' || a.headers['content-encoding'] === 'br') compressed++;
    }
  }
  t.ok(compressed >= 10, `bodies past the threshold still compressed (${compressed})`);
  const small = await ours.inject({ url: '/small', headers: { 'accept-encoding': 'gzip' } });
  t.notOk(small.headers['content-encoding'], 'a small JSON answer as is');
  const wide = await ours.inject({ url: '/wide', headers: { 'accept-encoding': 'gzip' } });
  t.equal(wide.headers['content-encoding'], 'gzip', 'fewer characters than the threshold but more bytes: compressed');
});
