/**
 * Request ids: a caller's `X-Request-Id` is honoured when it is 1–128 safe characters
 * (letters, digits, `-._~:@/+=`), so one id follows a request through a proxy and into our
 * logs; anything else is ignored and an id is made. Every answer echoes it in `X-Request-Id`,
 * every problem carries it as `requestId`, every log line of the request as `requestId`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';
const SAFE = /^[A-Za-z0-9._~:@/+=-]{1,128}$/;

/** Fastify's genReqId. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE.test(given) ? given : randomUUID();
}

/** The first hook of every request: the id goes back whatever answers it later. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
