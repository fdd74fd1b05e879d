/**
 * Errors Node's HTTP parser raises before there is a request (a malformed request line,
 * headers over the limit, a request that does not arrive in time) answered as problem+json
 * like every other error, with a request id, and the connection closed, as Node does.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { randomUUID } from 'node:crypto';
import { problem, withTypeUri, type ProblemCode } from './errors.js';

function classify(code: string | undefined): { code: ProblemCode; detail: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'request-timeout', detail: 'the request did not arrive in time (ANNALS_REQUEST_TIMEOUT_MS); send it again, whole' };
  if (code === 'HPE_HEADER_OVERFLOW') return { code: 'header-fields-too-large', detail: 'the request headers are over 16 KiB; send fewer or shorter headers' };
  return { code: 'invalid-request', detail: `the request is not well-formed HTTP/1.1 (${code ?? 'parse error'}); check the request line and headers` };
}

/** Fastify's clientErrorHandler. */
export function clientErrorHandler(log: () => FastifyBaseLogger): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    // A reset or closed connection has nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { code, detail } = classify(err.code);
    const requestId = randomUUID();
    // No request could be read, so no Host: the type is made absolute on the address the connection reached.
    const host = socket.localAddress?.includes(':') ? `[${socket.localAddress}]` : socket.localAddress;
    const p = withTypeUri(problem(code, detail, code === 'invalid-request' ? { errors: [{ path: '(request)', message: detail }] } : {}), `http://${host}:${socket.localPort}`);
    const body = JSON.stringify({ ...p, requestId });
    // Debug, not info: a flood of garbage must not become a flood of log lines.
    log().debug({ requestId, code: err.code, status: p.status }, 'refused a request the HTTP parser could not read');
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(err);
  };
}
