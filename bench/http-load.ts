/**
 * The benchmarks' load generator: HTTP/1.1 over plain keep-alive sockets, the way wrk and
 * autocannon drive a server. Each connection writes one request, reads its answer (status
 * line, Content-Length, body) and writes the next; latency is from the first byte written to
 * the last byte read. Run it in a process of its own (the benches fork themselves), so the
 * server's event loop is not shared with it.
 *
 * Why not fetch or node:http: measured here, fetch (undici) spent ~500 µs of CPU per request
 * and node:http ~100 µs; on a 2-core machine that took most of a core from the server being
 * measured. This client spends a few tens of µs.
 */
import { connect, type Socket } from 'node:net';

export interface LoadRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadAnswer {
  readonly status: number;
  readonly body: Buffer;
}

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  readonly connections: number;
  /** The i-th request of connection `conn`, or null when that connection is done. */
  readonly next: (conn: number, i: number) => LoadRequest | null;
  /** Stop starting requests after this long (default: until every `next` answered null). */
  readonly durationMs?: number;
  /** Called with every answer (e.g. to check a status or a body); a throw aborts the run. */
  readonly check?: (answer: LoadAnswer, request: LoadRequest) => void;
  /** The local address of connection `conn` (e.g. 127.0.1.x, to look like many clients). Default: the system's choice. */
  readonly localAddress?: (conn: number) => string;
}

export interface LoadResult {
  readonly requests: number;
  /** Answers with a status of 400 or more. */
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latencies in ms, ascending. */
  readonly latencies: Float64Array;
  /** Each request's latency (ms) and status, in the order answered (to split answers from refusals). */
  readonly inOrder: readonly number[];
  readonly byStatus: readonly number[];
  readonly statuses: Readonly<Record<number, number>>;
}

const CRLF2 = Buffer.from('\r\n\r\n');

function encode(req: LoadRequest, host: string): Buffer {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n`;
  for (const [k, v] of Object.entries(req.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

/** A chunked body starting at `from`: its bytes and where the answer ends, or null while incomplete (trailers are not used by the service). */
function dechunk(buf: Buffer, from: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const line = buf.indexOf('\r\n', at);
    if (line < 0) return null;
    const size = parseInt(buf.subarray(at, line).toString('latin1'), 16);
    if (size === 0) return buf.length < line + 4 ? null : { body: Buffer.concat(parts), end: line + 4 };
    if (buf.length < line + 2 + size + 2) return null;
    parts.push(buf.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

/** Reads whole answers off one socket, in order. */
class AnswerReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((a: LoadAnswer) => void) | null = null;
  private failure: ((e: Error) => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.drain();
    });
    socket.on('error', (e) => this.failure?.(e));
    socket.on('close', () => this.failure?.(new Error('the server closed the connection')));
  }

  next(): Promise<LoadAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failure = reject;
      this.drain();
    });
  }

  private drain(): void {
    if (!this.waiting) return;
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: Buffer;
    if (m) {
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
      body = this.buf.subarray(end + 4, total);
      this.buf = this.buf.subarray(total);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      // A streamed answer (Popolo, exports): chunks until the empty one.
      const chunks = dechunk(this.buf, end + 4);
      if (chunks === null) return;
      body = chunks.body;
      this.buf = this.buf.subarray(chunks.end);
    } else {
      this.failure?.(new Error(`answer with neither content-length nor chunked encoding: ${head.slice(0, 200)}`));
      return;
    }
    const resolve = this.waiting;
    this.waiting = null;
    this.failure = null;
    resolve({ status, body });
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = await Promise.all(
    Array.from({ length: opts.connections }, (_, conn) => new Promise<Socket>((resolve, reject) => {
      const local = opts.localAddress?.(conn);
      const s = connect({ port: opts.port, host, noDelay: true, ...(local ? { localAddress: local } : {}) }, () => resolve(s));
      s.once('error', reject);
    })),
  );
  const latencies: number[] = [];
  const byStatus: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  const t0 = performance.now();
  const deadline = opts.durationMs === undefined ? Infinity : t0 + opts.durationMs;
  try {
    await Promise.all(
      sockets.map(async (socket, conn) => {
        const reader = new AnswerReader(socket);
        for (let i = 0; performance.now() < deadline; i++) {
          const req = opts.next(conn, i);
          if (req === null) break;
          const bytes = encode(req, host);
          const start = performance.now();
          socket.write(bytes);
          const answer = await reader.next();
          latencies.push(performance.now() - start);
          byStatus.push(answer.status);
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          if (answer.status >= 400) errors += 1;
          opts.check?.(answer, req);
        }
      }),
    );
  } finally {
    for (const s of sockets) s.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return { requests: sorted.length, errors, seconds, rps: sorted.length / seconds, latencies: sorted, inOrder: latencies, byStatus, statuses };
}

/** The p-quantile (0..1) of ascending latencies. */
export function quantile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number);
}
